/**
 * Stage prepare: decode, admit, then the flow's `prepare` (reads only: validation,
 * enrichment). The flow returns per-record verdicts for the DLQ; what it throws is
 * retried when retriable, else a bug (Fatal). Runs outside any transaction.
 */
import type { AvroCodec } from '../../../registry/index.js';
import { identityOf } from '../dlq.js';
import { countBy } from '../ledger.js';
import type { DlqEntry, Flow, FlowContext, InboundRecord } from '../types.js';
import { admitTenants } from './admit.js';
import { decode } from './decode.js';
import { guard } from './tolerance.js';

export interface Prepared {
  /** Every live record, decoded where it could be (for end-to-end latency and freshness). */
  records: InboundRecord[];
  /** Records the runner judged itself (undecodable, unknown tenant, operator skip). */
  dlq: DlqEntry[];
  /** The flow's prepared batch (all tenants) and the records it sends to the DLQ. */
  ready: unknown;
  flowDlq: DlqEntry[];
  /** Per tenant, the records handed to the flow. */
  received: Map<string, number>;
  /** The records handed to the flow (decoded, of known tenants), in offset order. */
  admitted: InboundRecord[];
}

export interface PrepareDeps {
  codec: AvroCodec;
  flow: Flow<any>;
  context: FlowContext;
}

/** Records already decoded (value set) skip the decode stage: the database-alone benchmark hands them so. */
export async function prepareBatch(deps: PrepareDeps, records: readonly InboundRecord[], runnerDlq: readonly DlqEntry[] = [], decoded = false): Promise<Prepared> {
  const d = decoded ? { ok: [...records], dlq: [] } : await guard('decode', () => decode(deps.codec, records));
  const admitted = await guard('admit', () => admitTenants(deps.context, d.ok));
  const { ready, dlq } = admitted.ok.length === 0 ? { ready: undefined, dlq: [] } : await guard('prepare', () => deps.flow.prepare(admitted.ok, deps.context));
  const own = [...d.dlq, ...admitted.dlq, ...runnerDlq];
  return {
    records: [...admitted.ok, ...own.map((entry) => entry.record)], dlq: own,
    ready, flowDlq: dlq, received: countBy(admitted.ok, (r) => identityOf(r).tenantId), admitted: admitted.ok,
  };
}
