/** What every benchmark module gets and gives back. */
import type { StackEnv } from './stack.js';
import type { Table } from './table.js';

export interface BenchOptions {
  env: StackEnv;
  quick: boolean;
  /** Events in the consumer backlog (benchmark 1); the others scale from it. */
  size: number;
  reps: number;
  log: (msg: string) => void;
  /** Figures earlier benchmarks produced (e.g. the edge's maximum rate for end-to-end). */
  figures: Map<string, number>;
}

export interface BenchResult {
  name: string;
  title: string;
  tables: Table[];
  /** Findings in sentences: targets met or missed, and why. */
  findings: string[];
}

export interface Benchmark {
  name: string;
  title: string;
  run(options: BenchOptions): Promise<BenchResult>;
}
