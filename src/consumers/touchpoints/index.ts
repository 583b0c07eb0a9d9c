/** The touch-point flow and what its dashboard reads; see flow.ts and ../sinks/touchpoints.ts. */
export { createTouchpointFlow, toOutput, type PreparedTouchpoints } from './flow.js';
export { applyActivityFacts, readCounts, type ChangedAggregate, type FactsResult } from '../sinks/touchpoints.js';
