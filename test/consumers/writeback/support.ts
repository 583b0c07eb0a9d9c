/** Builders and readers for the write-back flow's tests (issue 15). */
import { randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import type pg from 'pg';
import { acmeClientsFor } from '../../../src/acme/client.js';
import { createConsumerRunner, type ConsumerRunner, type FlowContext } from '../../../src/consumers/runtime/index.js';
import { createWritebackFlow, createWritebackMetrics } from '../../../src/consumers/writeback/index.js';
import { recordKey, type KafkaClient } from '../../../src/kafka/index.js';
import type { Registry } from '../../../src/metrics/index.js';
import type { TenantRepository } from '../../../src/tenants/repository.js';
import type { CalendarChange } from '../../../src/transforms/writeback.js';
import type { IsolatedStack } from '../../helpers/isolated-stack.js';
import { sandboxOutbound } from '../../acme/sandbox-tenants.js';
import { silent } from '../support/harness.js';

export function change(o: Partial<CalendarChange> & { tenant_id: string; acme_id: string; calendar_version: number }): CalendarChange {
  return {
    change_id: randomUUID(), base_acme_version: null, changed_at: Date.now(), changed_by: 'user-1', changed_fields: [], title: null, starts_at: null, ends_at: null,
    time_zone: null, location: null, status: null, correlation_id: null, ...o,
  };
}

export async function produceChanges(stack: IsolatedStack, producer: Producer, changes: readonly CalendarChange[]): Promise<void> {
  // One send per change keeps the list's order within each partition.
  for (const c of changes) {
    await producer.send({ topic: stack.topics.calendar_changes, acks: -1, messages: [{ key: recordKey(c.tenant_id, c.acme_id), value: await stack.codec.encode('calendar_changes', c) }] });
  }
}

export function writebackRunner(o: { stack: IsolatedStack; kafka?: KafkaClient; pool?: pg.Pool; tenants: TenantRepository; context: FlowContext; metrics: Registry; groupId?: string }): ConsumerRunner {
  const pool = o.pool ?? o.stack.pool;
  const writebackMetrics = createWritebackMetrics(o.metrics);
  const writer = acmeClientsFor({
    tenants: o.tenants, outbound: sandboxOutbound(), stages: { get: 'writeback', other: 'writeback' },
    retry: { retries: 3, initialDelayMs: 50, maxDelayMs: 200, deadlineMs: 2_000, onRetry: () => writebackMetrics.writebacks.inc({ outcome: 'retried' }) },
  });
  return createConsumerRunner({
    kafka: o.kafka ?? o.stack.kafka, pool, codec: o.stack.codec, topics: o.stack.topics, flow: createWritebackFlow({ pool, acme: writer, metrics: writebackMetrics }),
    groupId: o.groupId ?? `${o.stack.id}-writeback`, context: o.context, logger: silent, metrics: o.metrics,
    sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000, retry: { initialDelayMs: 100, maxDelayMs: 1_000 },
  });
}

export interface ChangeRow {
  tenant_id: string;
  change_id: string;
  acme_id: string;
  outcome: string;
  acme_version: string | null;
  idempotency_key: string | null;
}

export async function changeRows(pool: pg.Pool, tenantId: string): Promise<ChangeRow[]> {
  return (await pool.query<ChangeRow>('SELECT * FROM writeback_changes WHERE tenant_id = $1 ORDER BY calendar_version', [tenantId])).rows;
}

export async function conflictRows(pool: pg.Pool, tenantId: string): Promise<Record<string, unknown>[]> {
  return (await pool.query('SELECT * FROM writeback_conflicts WHERE tenant_id = $1 ORDER BY id', [tenantId])).rows;
}
