/**
 * The integration wired for a drill, like test/e2e/harness.ts and the `acme-sync
 * edge|consumers` commands: the Acme sandbox (in-process), the edge and the poller
 * in-process, and the consumers either in-process or as separate `acme-sync consumers`
 * processes (see consumer-processes.ts). Group IDs are `<stack id>.group.<flow>`, the
 * CLI's naming with the CONSUMER_GROUP_PREFIX that childEnv() gives the children.
 * `databaseUrl` lets a drill route the pipeline's PostgreSQL traffic through a proxy.
 */
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { createSandbox, type GeneratorRun, type Sandbox, type SandboxOptions } from '../../sandbox/src/index.js';
import { acmeClientsFor } from '../../src/acme/client.js';
import { createCalendarFlow } from '../../src/consumers/calendar/index.js';
import { createConsumerRunner, createTenantDirectory, type ConsumerRunner, type Flow } from '../../src/consumers/runtime/index.js';
import { createTouchpointFlow } from '../../src/consumers/touchpoints/index.js';
import { createPool } from '../../src/db/index.js';
import { createProducer } from '../../src/kafka/index.js';
import { createLogger } from '../../src/logger.js';
import { createMetricsRegistry } from '../../src/metrics/index.js';
import { createEdgeServer } from '../../src/producers/edge-server.js';
import { createDeadLetterWriter } from '../../src/dlq/dead-letters.js';
import { createPoller, type Poller } from '../../src/producers/poller/poller.js';
import { createEventPublisher } from '../../src/producers/publisher.js';
import { createSecretBox } from '../../src/tenants/secret-box.js';
import { createTenantRepository } from '../../src/tenants/repository.js';
import type { IsolatedStack } from './stack.js';

export interface DrillPipelineOptions {
  sandbox: SandboxOptions;
  /** In-process consumer runners, or none (the drill runs consumer processes itself). */
  consumers: 'in-process' | 'none';
  /** PostgreSQL URL of the pipeline's own pools (default: the stack's). */
  databaseUrl?: string;
}

export interface DrillPipeline {
  sandbox: Sandbox;
  edgeUrl: string;
  edge: FastifyInstance;
  poller: Poller;
  groupIds: string[];
  topics: IsolatedStack['topics'];
  runners: ConsumerRunner[];
  /** Tenants for the generator's accounts, then the activation backfill. */
  connect(run: GeneratorRun): Promise<void>;
  /** After the generator: deliver everything still pending, reconcile every tenant, wait for the consumers. */
  settle(run: GeneratorRun, drainTimeoutMs: number): Promise<void>;
  drained(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

const FLOWS = (pool: pg.Pool): Flow<any>[] => [createCalendarFlow({ pool }), createTouchpointFlow({ pool })];

export async function startDrillPipeline(stack: IsolatedStack, options: DrillPipelineOptions): Promise<DrillPipeline> {
  const logger = createLogger({ level: process.env.DRILL_LOG ?? 'silent', name: 'drill' });
  const sandbox = createSandbox(options.sandbox);
  const sandboxUrl = await sandbox.listen({ port: 0 });
  const url = options.databaseUrl ?? stack.config.DATABASE_URL;
  const pool = createPool({ url, schema: stack.config.DATABASE_SCHEMA, poolMax: 6 });
  const edgePool = createPool({ url, schema: stack.config.DATABASE_SCHEMA, poolMax: 4 });
  const box = createSecretBox(stack.config.MASTER_KEYS);
  const tenants = createTenantRepository(pool, box);
  const edge = await createEdgeServer({
    config: stack.config, logger, codec: stack.codec, topics: stack.topics, kafka: stack.kafka, pool: edgePool,
    metrics: createMetricsRegistry({ service: 'drill-edge', collectDefault: false }), tenantCacheTtlMs: 1_000,
  });
  const edgeUrl = await edge.listen({ host: '127.0.0.1', port: 0 });

  const metrics = createMetricsRegistry({ service: 'drill-consumers', collectDefault: false });
  const acme = acmeClientsFor({ tenants, logger, metrics, pool, stages: { get: 'enrich' } });
  const producer = createProducer(stack.kafka);
  await producer.connect();
  const publisher = createEventPublisher({ producer, codec: stack.codec, topics: stack.topics, lingerMs: 5 });
  const deadLetters = createDeadLetterWriter({ pool, producer, topic: stack.topics.dlq, recordedBy: 'poller' });
  const poller = createPoller({ pool, tenants, publisher, clientFor: acme, logger, metrics, deadLetters });

  const flows = FLOWS(pool);
  const groupIds = flows.map((f) => `${stack.id}.group.${f.name}`);
  const context = { now: Date.now, tenants: createTenantDirectory({ repository: tenants, acme, ttlMs: 1_000 }), acme, logger };
  const runners = options.consumers === 'in-process'
    ? flows.map((flow, i) => createConsumerRunner({
      kafka: stack.kafka, pool, codec: stack.codec, topics: stack.topics, flow, groupId: groupIds[i]!,
      context, logger, metrics, producer, retry: { initialDelayMs: 100, maxDelayMs: 2_000 },
    }))
    : [];
  await Promise.all(runners.map((r) => r.start()));

  async function drained(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pending: string[] = [];
      for (const [i, flow] of flows.entries()) {
        const { rows } = await stack.pool.query<{ topic: string; partition: number; next_offset: string }>(
          'SELECT topic, partition, next_offset FROM consumer_offsets WHERE group_id = $1', [groupIds[i]],
        );
        const stored = new Map(rows.map((r) => [`${r.topic}:${r.partition}`, BigInt(r.next_offset)]));
        for (const kind of flow.inputs) {
          for (const p of await stack.admin.fetchTopicOffsets(stack.topics[kind])) {
            const at = stored.get(`${stack.topics[kind]}:${p.partition}`) ?? 0n;
            if (BigInt(p.high) > at) pending.push(`${flow.name} ${kind}/${p.partition}: ${at}/${p.high}`);
          }
        }
      }
      if (pending.length === 0) return;
      if (Date.now() > deadline) throw new Error(`consumers not drained after ${timeoutMs} ms: ${pending.join(', ')}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  return {
    sandbox, edgeUrl, edge, poller, groupIds, runners, drained, topics: stack.topics,
    async connect(run) {
      const direct = createTenantRepository(stack.pool, box);
      for (const account of run.accounts) {
        await direct.create({
          id: account.account_id, name: account.name, acmeBaseUrl: sandboxUrl, authKind: 'api_key', acmeAccountId: account.account_id,
          secrets: { apiKey: account.api_key, webhookSecrets: account.webhook_subscription ? [account.webhook_subscription.secret] : [] },
          // Titles as Acme writes them, so they compare with the truth one to one.
          settings: { titleTemplate: '{title}' },
        });
      }
      for (const a of run.accounts) await poller.pollTenant(a.account_id);
    },
    async settle(run, drainTimeoutMs) {
      sandbox.deliveries.flush();
      await sandbox.deliveries.waitForIdle(drainTimeoutMs);
      // Reconciliation finds what lost (or failed) deliveries hid.
      for (const a of run.accounts) {
        const pass = await poller.reconcileTenant(a.account_id);
        if (pass.error) throw new Error(`reconcile ${a.account_id}: ${String(pass.error)}`);
      }
      await drained(drainTimeoutMs);
    },
    async close() {
      await Promise.allSettled(runners.map((r) => r.stop()));
      await publisher.close().catch(() => undefined);
      await producer.disconnect().catch(() => undefined);
      await edge.close().catch(() => undefined);
      await sandbox.close().catch(() => undefined);
      await pool.end().catch(() => undefined);
      await edgePool.end().catch(() => undefined);
    },
  };
}
