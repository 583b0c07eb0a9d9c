/**
 * The integration wired for a drill: the end-to-end tests' pipeline
 * (test/e2e/harness.ts, built by the processes' own builders) with the consumers
 * either in-process or as separate `acme-sync consumers` processes (see
 * consumer-processes.ts). Group IDs are `<stack id>.group.<flow>`, the CLI's naming
 * with the CONSUMER_GROUP_PREFIX that childEnv() gives the children. `databaseUrl`
 * lets a drill route the pipeline's PostgreSQL traffic through a proxy.
 */
import type { GeneratorRun, SandboxOptions } from '../../sandbox/src/index.js';
import { startPipeline, type Pipeline } from '../../test/e2e/harness.js';
import type { IsolatedStack } from './stack.js';

export interface DrillPipelineOptions {
  sandbox: SandboxOptions;
  /** In-process consumer runners, or none (the drill runs consumer processes itself). */
  consumers: 'in-process' | 'none';
  /** PostgreSQL URL of the pipeline's own pools (default: the stack's). */
  databaseUrl?: string;
}

export interface DrillPipeline extends Omit<Pipeline, 'connect' | 'drained'> {
  topics: IsolatedStack['topics'];
  /** Tenants for the generator's accounts, then the activation backfill. */
  connect(run: GeneratorRun): Promise<void>;
  /** After the generator: deliver everything still pending, reconcile every tenant, wait for the consumers. */
  settle(run: GeneratorRun, drainTimeoutMs: number): Promise<void>;
  drained(timeoutMs: number): Promise<void>;
}

export async function startDrillPipeline(stack: IsolatedStack, options: DrillPipelineOptions): Promise<DrillPipeline> {
  const pipeline = await startPipeline(stack, options.sandbox, {
    consumers: options.consumers, databaseUrl: options.databaseUrl, logLevel: process.env.DRILL_LOG ?? 'silent',
    groupIdOf: (flow) => `${stack.id}.group.${flow}`,
    tenantCacheTtlMs: { edge: 1_000, consumers: 1_000 }, retry: { initialDelayMs: 100, maxDelayMs: 2_000 },
  });
  return {
    ...pipeline, topics: stack.topics,
    async connect(run) {
      // Titles as Acme writes them, so they compare with the truth one to one.
      await pipeline.connect(run, { titleTemplate: '{title}' });
      for (const a of run.accounts) await pipeline.poller.pollTenant(a.account_id);
    },
    async settle(run, drainTimeoutMs) {
      pipeline.sandbox.deliveries.flush();
      await pipeline.sandbox.deliveries.waitForIdle(drainTimeoutMs);
      // Reconciliation finds what lost (or failed) deliveries hid.
      for (const a of run.accounts) {
        const pass = await pipeline.poller.reconcileTenant(a.account_id);
        if (pass.error) throw new Error(`reconcile ${a.account_id}: ${String(pass.error)}`);
      }
      await pipeline.drained(drainTimeoutMs);
    },
  };
}
