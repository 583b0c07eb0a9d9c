export * from './types.js';
export { createConsumerRunner, type ConsumerRunner, type RunnerOptions } from './runner.js';
export { createTenantDirectory, type TenantDirectoryOptions } from './tenant-directory.js';
export { DLQ_HEADERS, DLQ_HEADER_PREFIX, toDlqMessage, identityOf } from './dlq.js';
export { readLedger, isBalanced, type LedgerRow, type LedgerCounts } from './ledger.js';
export { readNextOffset } from './offsets.js';
export { createConsumerMetrics, type ConsumerMetrics } from './metrics.js';
