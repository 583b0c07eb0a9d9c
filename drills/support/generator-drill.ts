/**
 * The common shape of the in-process drills: isolated stack, pipeline with in-process
 * consumers, the generator at a fixed rate, a fault injected while it runs
 * (`midStream`), then everything delivered, reconciled and drained, and our
 * PostgreSQL compared with the truth. `after` may do more (replay the DLQ, ...).
 */
import type { FaultConfig, GeneratorRun, Truth } from '../../sandbox/src/index.js';
import { readDlq } from '../../src/dlq/index.js';
import type { DrillContext, DrillResult, DrillSize } from './drill.js';
import { waitUntil } from '../../test/helpers/wait.js';
import { startDrillPipeline, type DrillPipeline } from './pipeline.js';
import { createDrillStack, type IsolatedStack } from './stack.js';
import { compareOutputs } from './outputs.js';
import { compareWithTruth, type Comparison } from './truth.js';

export interface GeneratorSize {
  events: number;
  rate: number;
  accounts: number;
  days: number;
}

export interface GeneratorDrillSpec {
  name: string;
  /**
   * Also compare every written row's output on its topic with the table (support/outputs.ts);
   * a mismatch counts as lost/duplicated/wrong. (The 'report'-only mode that broker-failures
   * needed while its finding was open went with the fix: docs/RELIABILITY.md, Findings.)
   */
  checkOutputs?: boolean;
  seed: number;
  sizes: Record<DrillSize, GeneratorSize>;
  faults?: Partial<FaultConfig>;
  maxDeliveryAttempts?: number;
  /** Settings of the isolated stack beyond the defaults (KAFKA_REPLICATION_FACTOR, ...). */
  stackExtra?: Record<string, string>;
  /** PostgreSQL URL for the pipeline (a proxy), made once the stack exists. */
  databaseUrl?: (stack: IsolatedStack) => Promise<{ url: string; close(): Promise<void> }>;
  /** Runs while the generator runs; returns a note for the table. */
  midStream?: (p: DrillPipeline, run: GeneratorRun, ctx: DrillContext) => Promise<string>;
  /** Appointment IDs the DLQ must hold (default: none). */
  expectedDlq?: (truth: Truth) => Set<string>;
  after?: (a: { stack: IsolatedStack; pipeline: DrillPipeline; run: GeneratorRun; truth: Truth; first: Comparison; ctx: DrillContext; dlqIds: () => Promise<Set<string>> }) => Promise<{ ok: boolean; note: string }>;
}

export const drainTimeout = (size: DrillSize) => (size === 'ci' ? 120_000 : 900_000);

export async function runGeneratorDrill(spec: GeneratorDrillSpec, ctx: DrillContext): Promise<DrillResult> {
  const size = spec.sizes[ctx.size];
  const started = Date.now();
  const stack = await createDrillStack(ctx.env, spec.stackExtra);
  const proxy = spec.databaseUrl ? await spec.databaseUrl(stack) : undefined;
  let pipeline: DrillPipeline | undefined;
  try {
    pipeline = await startDrillPipeline(stack, {
      consumers: 'in-process', databaseUrl: proxy?.url,
      sandbox: {
        seed: spec.seed, rateLimit: null, faults: spec.faults,
        webhooks: { retryBaseMs: 100, retryMaxMs: 1_000, maxAttempts: spec.maxDeliveryAttempts ?? 30 },
      },
    });
    const run = pipeline.sandbox.startGenerator({
      seed: spec.seed, accounts: size.accounts, users: 3, contacts: 10, events: size.events, rate: size.rate, days: size.days,
      webhookUrl: `${pipeline.edgeUrl}/webhooks/acme/{account_id}`, autoStart: false,
    });
    await pipeline.connect(run);
    run.start();
    const injected = spec.midStream ? await spec.midStream(pipeline, run, ctx) : '';
    const truth = await run.done;
    await pipeline.settle(run, drainTimeout(ctx.size));
    const cmp = await compareWithTruth(stack.pool, truth);
    for (const e of cmp.examples) ctx.log(`    ${e}`);
    const outputs = spec.checkOutputs ? await compareOutputs(stack) : undefined;
    for (const e of outputs?.examples ?? []) ctx.log(`    ${e}`);
    const dlqIds = async () => new Set((await readDlq(stack.kafka, stack.topics.dlq)).map((r) => r.error.acmeId));
    const expected = spec.expectedDlq?.(truth) ?? new Set<string>();
    const actual = await dlqIds();
    const sameDlq = actual.size === expected.size && [...actual].every((id) => expected.has(id));
    const extra = spec.after ? await spec.after({ stack, pipeline, run, truth, first: cmp, ctx, dlqIds }) : { ok: true, note: '' };
    const deliveries = pipeline.sandbox.deliveries.deliveries();
    const marks = `${deliveries.length} deliveries (${deliveries.filter((d) => d.duplicate).length} duplicated, ${deliveries.filter((d) => d.reorder_by).length} reordered, ${deliveries.filter((d) => d.status === 'lost').length} lost, ${deliveries.filter((d) => d.attempts.length > 1).length} delivered only on a retry)`;
    const counted = outputs;
    return {
      drill: spec.name, events: size.events, lost: cmp.lost + (counted?.lost ?? 0), duplicated: cmp.duplicated + (counted?.duplicated ?? 0), wrong: cmp.wrong + (counted?.wrong ?? 0),
      dlqExpected: expected.size, dlqActual: sameDlq ? actual.size : -Math.abs(actual.size - expected.size) || -1,
      durationMs: Date.now() - started, extraOk: extra.ok && (outputs?.outboxLeft ?? 0) === 0,
      notes: [
        injected, `${cmp.calendarRows} calendar rows, ${cmp.touchPoints} touch-points; ${marks}`,
        outputs && `outputs: ${outputs.checked} keys equal to their rows (${outputs.lost} missing, ${outputs.wrong} differ, ${outputs.duplicated} extra, ${outputs.outboxLeft} left in the outbox)`, extra.note,
      ].filter(Boolean).join('; '),
    };
  } finally {
    await pipeline?.close();
    await proxy?.close();
    await stack.close();
  }
}

/** Wait until the generator is `fraction` through its budget (by its own status). */
export async function waitForProgress(run: GeneratorRun, fraction: number): Promise<void> {
  await waitUntil(() => {
    const status = run.status();
    if (status.state === 'finished' || status.state === 'stopped') return;
    if (status.events_done < status.events_total * fraction) throw new Error(`generator at ${status.events_done}/${status.events_total}`);
  }, { timeoutMs: Infinity, intervalMs: 200 });
}
