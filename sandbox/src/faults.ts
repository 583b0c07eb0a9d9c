// Fault switches. Each kind of decision draws from its own seeded stream so that, e.g.,
// API traffic (whose order depends on the client) cannot perturb which webhooks get
// duplicated or lost: same seed + same sequence of changes => same deliveries.

import { createRng, type Rng } from './prng.js';
import type { BadDataKind } from './types.js';

export const BAD_DATA_KINDS: readonly BadDataKind[] = ['missing_starts_at', 'unknown_contact', 'malformed_webhook'];

export interface FaultConfig {
  seed: number;
  /** Probability that a webhook delivery is sent twice (same webhook-id). */
  duplicate: number;
  /** Probability that a delivery is held back and released after later ones. */
  reorder: number;
  /** A held delivery is overtaken by 1..reorderWindow later deliveries. */
  reorderWindow: number;
  /** Longest a held delivery waits for others to overtake it. */
  reorderMaxHoldMs: number;
  /** Probability that a delivery is delayed by lateMs. */
  late: number;
  lateMs: number;
  /** Probability that a delivery is never sent (only polling can find the change). */
  lose: number;
  /** Probability that an API request is answered 500/502/503. */
  outage5xx: number;
  /** Probability that an API request has its connection destroyed without an answer. */
  refuse: number;
  /**
   * Probability that an API write (POST/PATCH/DELETE) is applied but its answer is lost:
   * the connection is destroyed after the write, as when a load balancer times out. Only
   * an Idempotency-Key makes the client's retry safe.
   */
  lostAnswer: number;
  /** Extra latency added to API answers. */
  slowMs: number;
  /** Probability an API answer is slowed by slowMs (1 = every answer). */
  slow: number;
  /** Probability that a created appointment/activity or a webhook body is corrupted. */
  badData: number;
  badDataKinds: BadDataKind[];
}

export const DEFAULT_FAULTS: FaultConfig = {
  seed: 1,
  duplicate: 0,
  reorder: 0,
  reorderWindow: 5,
  reorderMaxHoldMs: 2000,
  late: 0,
  lateMs: 5000,
  lose: 0,
  outage5xx: 0,
  refuse: 0,
  lostAnswer: 0,
  slowMs: 0,
  slow: 1,
  badData: 0,
  badDataKinds: [...BAD_DATA_KINDS],
};

export type ApiFault = { kind: 'none' } | { kind: '5xx'; status: 500 | 502 | 503 } | { kind: 'refuse' } | { kind: 'slow'; ms: number };

export interface DeliveryFaults {
  lose: boolean;
  duplicate: boolean;
  malformed: boolean;
  lateMs: number;
  /** 0 = not held; otherwise how many later deliveries overtake this one. */
  reorderBy: number;
}

export interface Faults {
  config(): FaultConfig;
  /** Merges the given switches; a new seed restarts every random stream. */
  set(patch: Partial<FaultConfig>): FaultConfig;
  /** Replaces all switches (unspecified ones turn off). */
  replace(patch: Partial<FaultConfig>): FaultConfig;
  forApiRequest(): ApiFault;
  /** Should this write's answer be lost after the write? */
  forWriteAnswer(): boolean;
  forDelivery(): DeliveryFaults;
  /** Which record corruption to apply to a new record of this type, if any. */
  forNewRecord(type: 'contact' | 'appointment' | 'activity'): BadDataKind | null;
}

interface Streams { api: Rng; delivery: Rng; data: Rng }

const streams = (seed: number): Streams => {
  const root = createRng(seed);
  return { api: root.fork('api'), delivery: root.fork('delivery'), data: root.fork('data') };
};

export function createFaults(initial: Partial<FaultConfig> = {}): Faults {
  let cfg: FaultConfig = { ...DEFAULT_FAULTS, ...initial };
  let rng = streams(cfg.seed);

  const apply = (next: FaultConfig): FaultConfig => {
    const reseed = next.seed !== cfg.seed;
    cfg = next;
    if (reseed) rng = streams(cfg.seed);
    return { ...cfg };
  };

  return {
    config: () => ({ ...cfg, badDataKinds: [...cfg.badDataKinds] }),
    set: (patch) => apply({ ...cfg, ...patch }),
    replace: (patch) => {
      const next = { ...DEFAULT_FAULTS, seed: cfg.seed, ...patch };
      rng = streams(next.seed);
      cfg = next;
      return { ...cfg };
    },
    forApiRequest() {
      // Draw every stream value each time so one switch does not shift the others.
      const r5xx = rng.api.next();
      const rRefuse = rng.api.next();
      const rSlow = rng.api.next();
      const status = rng.api.pick([500, 502, 503] as const);
      if (rRefuse < cfg.refuse) return { kind: 'refuse' };
      if (r5xx < cfg.outage5xx) return { kind: '5xx', status };
      if (cfg.slowMs > 0 && rSlow < cfg.slow) return { kind: 'slow', ms: cfg.slowMs };
      return { kind: 'none' };
    },
    // Draws only when switched on, so existing seeds keep their fault sequences.
    forWriteAnswer: () => cfg.lostAnswer > 0 && rng.api.next() < cfg.lostAnswer,
    forDelivery() {
      const d = rng.delivery;
      const lose = d.chance(cfg.lose);
      const duplicate = d.chance(cfg.duplicate);
      const malformed = d.chance(cfg.badData) && cfg.badDataKinds.includes('malformed_webhook');
      const late = d.chance(cfg.late);
      const reorder = d.chance(cfg.reorder);
      const by = d.int(1, Math.max(1, cfg.reorderWindow));
      return { lose, duplicate, malformed, lateMs: late ? cfg.lateMs : 0, reorderBy: reorder ? by : 0 };
    },
    forNewRecord(type) {
      const hit = rng.data.chance(cfg.badData);
      const kinds = cfg.badDataKinds.filter((k) => (k === 'missing_starts_at' ? type === 'appointment' : k === 'unknown_contact' && type !== 'contact'));
      const pickIdx = rng.data.next();
      if (!hit || kinds.length === 0) return null;
      return kinds[Math.floor(pickIdx * kinds.length)] ?? null;
    },
  };
}
