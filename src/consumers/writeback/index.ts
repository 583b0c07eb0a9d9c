export { createWritebackFlow, type AcmeWriter, type WritebackFlowOptions, type WritebackPrepared } from './flow.js';
export { createWritebackMetrics, WRITEBACK_OUTCOMES, type WritebackMetrics } from './metrics.js';
