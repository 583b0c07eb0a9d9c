/**
 * The whole integration in one process on the real stack, against the Acme sandbox,
 * built by the processes' own builders (src/processes): the edge (createEdge), the
 * poller (createPolling) and the consumers of both flows (createConsumers), sharing
 * the stack's Kafka client, codec and topics. Used by the end-to-end tests and the
 * drills (drills/support/pipeline.ts).
 */
import { laneTopics } from '../../src/kafka/lanes.js';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { createSandbox, type Sandbox, type SandboxOptions, type GeneratorOptions, type GeneratorRun } from '../../sandbox/src/index.js';
import type { ConsumerRunner } from '../../src/consumers/runtime/index.js';
import { createPool } from '../../src/db/index.js';
import { createLogger } from '../../src/logger.js';
import { createMetricsRegistry } from '../../src/metrics/index.js';
import { createPolling } from '../../src/processes/admin.js';
import { createConsumers, DEFAULT_FLOWS, flowInputs, type FlowName } from '../../src/processes/consumers.js';
import { createEdge } from '../../src/processes/edge.js';
import type { Poller } from '../../src/producers/poller/poller.js';
import { createSecretBox } from '../../src/tenants/secret-box.js';
import { createTenantRepository, type TenantRepository } from '../../src/tenants/repository.js';
import type { TenantSettingsInput } from '../../src/tenants/types.js';
import type { IsolatedStack } from '../helpers/isolated-stack.js';
import { waitUntil } from '../helpers/wait.js';

export interface PipelineOptions {
  /** In-process consumers, or none (a drill runs `acme-sync consumers` processes itself). Default in-process. */
  consumers?: 'in-process' | 'none';
  /** PostgreSQL URL of the pipeline's own pools (a drill's proxy); default the stack's. */
  databaseUrl?: string;
  /** Consumer group per flow; default `<stack id>.<flow>`. */
  groupIdOf?: (flow: FlowName) => string;
  logLevel?: string;
  tenantCacheTtlMs?: { edge: number; consumers: number };
  retry?: { initialDelayMs: number; maxDelayMs: number };
}

export interface Pipeline {
  sandbox: Sandbox;
  sandboxUrl: string;
  edge: FastifyInstance;
  edgeUrl: string;
  tenants: TenantRepository;
  poller: Poller;
  runners: readonly ConsumerRunner[];
  groupIds: string[];
  /** Create our tenants for the generator's accounts (API key, webhook secret, settings). */
  connect(run: GeneratorRun, settings?: TenantSettingsInput): Promise<void>;
  /** Wait until every consumer group stored offsets at the end of every input partition. */
  drained(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Partitions whose stored next offset (PostgreSQL) is below the high watermark, as `flow kind/partition: at/high`. */
export async function pendingPartitions(stack: Pick<IsolatedStack, 'pool' | 'admin' | 'topics'>, groups: ReadonlyArray<{ flow: FlowName; groupId: string }>): Promise<string[]> {
  const pending: string[] = [];
  // Both lanes (issue 17): the flow's live group on the live topics, its history group on the history topics.
  const lanes = groups.flatMap(({ flow, groupId }) => [
    { flow, lane: 'live', groupId, topics: stack.topics },
    { flow, lane: 'history', groupId: `${groupId}.history`, topics: laneTopics(stack.topics, 'history') },
  ]);
  for (const { flow, lane, groupId, topics } of lanes) {
    const { rows } = await stack.pool.query<{ topic: string; partition: number; next_offset: string }>('SELECT topic, partition, next_offset FROM consumer_offsets WHERE group_id = $1', [groupId]);
    const stored = new Map(rows.map((r) => [`${r.topic}:${r.partition}`, BigInt(r.next_offset)]));
    for (const kind of flowInputs(flow, stack.pool)) {
      for (const p of await stack.admin.fetchTopicOffsets(topics[kind])) {
        const at = stored.get(`${topics[kind]}:${p.partition}`) ?? 0n;
        if (BigInt(p.high) > at) pending.push(`${flow} ${lane} ${kind}/${p.partition}: ${at}/${p.high}`);
      }
    }
  }
  return pending;
}

export async function startPipeline(stack: IsolatedStack, sandboxOptions: SandboxOptions, options: PipelineOptions = {}): Promise<Pipeline> {
  const logger = createLogger({ level: options.logLevel ?? process.env.E2E_LOG ?? 'silent', name: 'e2e' });
  const sandbox = createSandbox(sandboxOptions);
  const sandboxUrl = await sandbox.listen({ port: 0 });
  const config = { ...stack.config, DATABASE_URL: options.databaseUrl ?? stack.config.DATABASE_URL };
  const pool: pg.Pool = createPool({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, poolMax: 6 });
  const runtime = { ...stack, config, pool };
  const cacheTtl = options.tenantCacheTtlMs ?? { edge: 200, consumers: 500 };
  const retry = options.retry ?? { initialDelayMs: 50, maxDelayMs: 1_000 };
  const metrics = () => createMetricsRegistry({ service: 'e2e', collectDefault: false });

  const edge = await createEdge({ config, logger, runtime, metrics: metrics(), tenantCacheTtlMs: cacheTtl.edge });
  const edgeUrl = await edge.listen({ host: '127.0.0.1', port: 0 });
  const polling = await createPolling({ config, logger, runtime, metrics: metrics() });
  const groups = DEFAULT_FLOWS.map((flow) => ({ flow, groupId: options.groupIdOf?.(flow) ?? `${stack.id}.${flow}` }));
  const consumers = options.consumers === 'none'
    ? undefined
    : await createConsumers({
      config, logger, runtime, metrics: metrics(), groupIdOf: (flow) => groups.find((g) => g.flow === flow)!.groupId,
      tenantCacheTtlMs: cacheTtl.consumers, runner: { retry },
    });
  const tenants = createTenantRepository(stack.pool, createSecretBox(stack.config.MASTER_KEYS));

  return {
    sandbox, sandboxUrl, edge, edgeUrl, tenants, poller: polling.poller, runners: consumers?.consumerRunners ?? [], groupIds: groups.map((g) => g.groupId),
    async connect(run, settings = {}) {
      for (const account of run.accounts) {
        await tenants.create({
          id: account.account_id, name: account.name, acmeBaseUrl: sandboxUrl, authKind: 'api_key', acmeAccountId: account.account_id,
          secrets: { apiKey: account.api_key, webhookSecrets: account.webhook_subscription ? [account.webhook_subscription.secret] : [] },
          settings,
        });
      }
    },
    async drained(timeoutMs = 60_000) {
      await waitUntil(async () => {
        const pending = await pendingPartitions(stack, groups);
        if (pending.length > 0) throw new Error(`consumers not drained after ${timeoutMs} ms: ${pending.join(', ')}`);
      }, { timeoutMs, intervalMs: 250 });
    },
    async close() {
      // The processes in the order a deployment stops them: consumers, poller, edge.
      await consumers?.close().catch(() => undefined);
      await polling.close().catch(() => undefined);
      await edge.close().catch(() => undefined);
      await sandbox.close().catch(() => undefined);
      await pool.end().catch(() => undefined);
    },
  };
}

export type { GeneratorOptions };
