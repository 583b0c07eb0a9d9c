/** What a drill is and what it reports (one row of the table in docs/RELIABILITY.md). */
import type { StackEnv } from './stack.js';

export type DrillSize = 'ci' | 'full';

export interface DrillContext {
  size: DrillSize;
  env: StackEnv;
  log(msg: string): void;
}

export interface DrillResult {
  drill: string;
  events: number;
  lost: number;
  duplicated: number;
  wrong: number;
  dlqExpected: number;
  dlqActual: number;
  durationMs: number;
  /** What was injected, and what the drill saw (kills, refused requests, ...). */
  notes: string;
  /** A drill-specific check beyond 0 lost / 0 duplicated / DLQ as expected. */
  extraOk?: boolean;
}

export interface Drill {
  name: string;
  title: string;
  run(ctx: DrillContext): Promise<DrillResult>;
}

export function passed(r: DrillResult): boolean {
  return r.lost === 0 && r.duplicated === 0 && r.wrong === 0 && r.dlqExpected === r.dlqActual && r.extraOk !== false;
}
