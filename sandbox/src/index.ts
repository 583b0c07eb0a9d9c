// Public entry point for tests and tools that run the sandbox in-process.

export { createSandbox, DEFAULT_RATE_LIMIT, type Sandbox, type SandboxOptions, type ProvisionedAccount, type ProvisionInput } from './sandbox.js';
export { createManualClock, createSystemClock, type Clock, type ManualClock } from './clock.js';
export { createRng, type Rng } from './prng.js';
export { DEFAULT_FAULTS, BAD_DATA_KINDS, type FaultConfig, type Faults } from './faults.js';
export type { DeliveryRecord, DeliveryStatus, SentRecord, WebhookEvent, Dispatcher, DispatcherOptions } from './webhooks/dispatcher.js';
export { EVENT_TYPES } from './webhooks/subscriptions.js';
export type * from './types.js';
export { createGenerator, DEFAULT_GENERATOR_OPTIONS, type GeneratorOptions, type GeneratorRun, type GeneratorStatus, type GeneratedAccount } from './generator/generator.js';
export type { Truth, TruthCalendarEvent, TruthTouchPoint, TouchPointChannel } from './generator/truth.js';
export { createContractValidator, loadContract, CONTRACT_PATH, type ContractValidator } from './contract/contract.js';
export { localDay, zonedToUtc } from './generator/time-zones.js';
