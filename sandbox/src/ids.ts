// Deterministic ids: a per-prefix counter, so the same seed and the same sequence of
// actions always yields the same ids (needed for reproducible truth and deliveries).
// Secrets (API keys, tokens) come from crypto instead; see auth.ts.

export type IdPrefix = 'acc' | 'usr' | 'con' | 'apt' | 'act' | 'whs' | 'evt' | 'dlv' | 'cli';

export interface IdFactory {
  next(prefix: IdPrefix): string;
}

export function createIdFactory(): IdFactory {
  const counters = new Map<IdPrefix, number>();
  return {
    next(prefix) {
      const n = (counters.get(prefix) ?? 0) + 1;
      counters.set(prefix, n);
      return `${prefix}_${n.toString(36).padStart(10, '0')}`;
    },
  };
}
