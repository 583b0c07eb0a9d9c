/**
 * The whole integration in one process on the real stack, against the Acme sandbox:
 * edge (webhooks), poller, and both consumer flows, wired exactly as the
 * `acme-sync edge|admin|consumers` commands wire them. Used by the end-to-end tests.
 */
import type { FastifyInstance } from 'fastify';
import { createSandbox, type Sandbox, type SandboxOptions, type GeneratorOptions, type GeneratorRun } from '../../sandbox/src/index.js';
import { acmeClientsFor } from '../../src/acme/client.js';
import { createCalendarFlow } from '../../src/consumers/calendar/index.js';
import { createConsumerRunner, createTenantDirectory, type ConsumerRunner } from '../../src/consumers/runtime/index.js';
import { createTouchpointFlow } from '../../src/consumers/touchpoints/index.js';
import { createPool } from '../../src/db/index.js';
import { createProducer } from '../../src/kafka/index.js';
import { createLogger } from '../../src/logger.js';
import { createMetricsRegistry } from '../../src/metrics/index.js';
import { createEdgeServer } from '../../src/producers/edge-server.js';
import { createDeadLetterWriter } from '../../src/dlq/dead-letters.js';
import { createPoller, type Poller } from '../../src/producers/poller/poller.js';
import { createEventPublisher, type EventPublisher } from '../../src/producers/publisher.js';
import { createSecretBox } from '../../src/tenants/secret-box.js';
import { createTenantRepository, type TenantRepository } from '../../src/tenants/repository.js';
import type { TenantSettingsInput } from '../../src/tenants/types.js';
import type { IsolatedStack } from '../helpers/isolated-stack.js';

export interface Pipeline {
  sandbox: Sandbox;
  sandboxUrl: string;
  edge: FastifyInstance;
  edgeUrl: string;
  tenants: TenantRepository;
  poller: Poller;
  runners: ConsumerRunner[];
  /** Create our tenants for the generator's accounts (API key, webhook secret, settings). */
  connect(run: GeneratorRun, settings?: TenantSettingsInput): Promise<void>;
  /** Wait until both consumer groups stored offsets at the end of every input partition. */
  drained(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startPipeline(stack: IsolatedStack, sandboxOptions: SandboxOptions): Promise<Pipeline> {
  const logger = createLogger({ level: process.env.E2E_LOG ?? 'silent', name: 'e2e' });
  const sandbox = createSandbox(sandboxOptions);
  const sandboxUrl = await sandbox.listen({ port: 0 });
  const tenants = createTenantRepository(stack.pool, createSecretBox(stack.config.MASTER_KEYS));

  const edge = await createEdgeServer({
    config: stack.config, logger, codec: stack.codec, topics: stack.topics, kafka: stack.kafka,
    pool: createPool({ url: stack.config.DATABASE_URL, schema: stack.config.DATABASE_SCHEMA, poolMax: 4 }),
    metrics: createMetricsRegistry({ service: 'e2e-edge', collectDefault: false }),
    tenantCacheTtlMs: 200,
  });
  const edgeUrl = await edge.listen({ host: '127.0.0.1', port: 0 });

  const metrics = createMetricsRegistry({ service: 'e2e-consumers', collectDefault: false });
  const acme = acmeClientsFor({ tenants, logger, metrics, pool: stack.pool, stages: { get: 'enrich' } });
  const producer = createProducer(stack.kafka);
  await producer.connect();
  const publisher: EventPublisher = createEventPublisher({ producer, codec: stack.codec, topics: stack.topics, lingerMs: 5 });
  const deadLetters = createDeadLetterWriter({ pool: stack.pool, producer, topic: stack.topics.dlq, recordedBy: 'poller' });
  const poller = createPoller({ pool: stack.pool, tenants, publisher, clientFor: acme, logger, metrics, deadLetters });

  const context = { now: Date.now, tenants: createTenantDirectory({ repository: tenants, acme, ttlMs: 500 }), acme, logger };
  const flows = [createCalendarFlow({ pool: stack.pool }), createTouchpointFlow({ pool: stack.pool })];
  const runners = flows.map((flow) =>
    createConsumerRunner({
      kafka: stack.kafka, pool: stack.pool, codec: stack.codec, topics: stack.topics, flow, groupId: `${stack.id}.${flow.name}`,
      context, logger, metrics, producer, retry: { initialDelayMs: 50, maxDelayMs: 1_000 },
    }),
  );
  await Promise.all(runners.map((r) => r.start()));

  async function drained(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pending: string[] = [];
      for (const [i, flow] of flows.entries()) {
        const groupId = runners[i]!.groupId;
        const { rows } = await stack.pool.query<{ topic: string; partition: number; next_offset: string }>('SELECT topic, partition, next_offset FROM consumer_offsets WHERE group_id = $1', [groupId]);
        const stored = new Map(rows.map((r) => [`${r.topic}:${r.partition}`, BigInt(r.next_offset)]));
        for (const kind of flow.inputs) {
          for (const p of await stack.admin.fetchTopicOffsets(stack.topics[kind])) {
            const high = BigInt(p.high);
            const at = stored.get(`${stack.topics[kind]}:${p.partition}`) ?? 0n;
            if (high > at) pending.push(`${flow.name} ${kind}/${p.partition}: ${at}/${high}`);
          }
        }
      }
      if (pending.length === 0) return;
      if (Date.now() > deadline) throw new Error(`consumers not drained after ${timeoutMs} ms: ${pending.join(', ')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  return {
    sandbox, sandboxUrl, edge, edgeUrl, tenants, poller, runners, drained,
    async connect(run, settings = {}) {
      for (const account of run.accounts) {
        await tenants.create({
          id: account.account_id, name: account.name, acmeBaseUrl: sandboxUrl, authKind: 'api_key', acmeAccountId: account.account_id,
          secrets: { apiKey: account.api_key, webhookSecrets: account.webhook_subscription ? [account.webhook_subscription.secret] : [] },
          settings,
        });
      }
    },
    async close() {
      await Promise.allSettled(runners.map((r) => r.stop()));
      await publisher.close();
      await producer.disconnect();
      await edge.close();
      await sandbox.close();
    },
  };
}

export type { GeneratorOptions };
