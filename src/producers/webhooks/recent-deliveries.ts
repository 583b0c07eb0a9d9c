/**
 * Webhook IDs this process has already published, so a redelivery (Acme delivers at
 * least once; `webhook-id` is identical on every redelivery) is answered 200 without a
 * second Kafka write. Bounded LRU, in memory only: after a restart, or on another edge
 * replica, a redelivery is published again — harmless, because the consumers keep the
 * highest version per Acme ID. This only saves work; correctness never depends on it.
 */
export interface RecentDeliveries {
  has(key: string): boolean;
  add(key: string): void;
}

export function createRecentDeliveries(maxEntries = 50_000): RecentDeliveries {
  const seen = new Set<string>();
  return {
    has: (key) => seen.has(key),
    add(key) {
      seen.delete(key);
      seen.add(key);
      if (seen.size > maxEntries) seen.delete(seen.values().next().value as string);
    },
  };
}
