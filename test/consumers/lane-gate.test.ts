/**
 * Live first inside one consumers process (issue 17; measured by the onboarding
 * benchmark: without it a history batch in hand delayed the live batch behind it).
 * Generated: any interleaving of live and history batches, any cap.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLaneGate } from '../../src/consumers/lane-gate.js';
import type { Flow } from '../../src/consumers/runtime/types.js';

function recordingFlow(name: string, log: string[]): Flow<number> {
  return {
    name, inputs: ['appointments'],
    async prepare(records) {
      log.push(`${name}:prepare:${records.length}`);
      return { ready: records.length, dlq: [] };
    },
    async apply() {
      log.push(`${name}:apply`);
      return { written: new Map(), skipped: new Map(), outputs: [] };
    },
  };
}
const records = (n: number) => Array.from({ length: n }, () => ({}) as never);
const ctx = {} as never;

describe('the lane gate', () => {
  it('holds a history batch while a live batch is in flight, and lets it go when the live batch is done', async () => {
    const log: string[] = [];
    const gate = createLaneGate({ maxRecordsPerSecond: 0, maxWaitMs: 60_000 });
    let finishLive!: () => void;
    const liveFlow: Flow<number> = { ...recordingFlow('live', log), prepare: () => new Promise((resolve) => (finishLive = () => resolve({ ready: 1, dlq: [] }))) };
    const live = gate.live(liveFlow);
    const history = gate.history(recordingFlow('hist', log), 'hist_history');
    const liveBatch = live.prepare(records(1), ctx);
    const historyBatch = history.prepare(records(5), ctx);
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual([]);
    finishLive();
    await Promise.all([liveBatch, historyBatch]);
    expect(log).toEqual(['hist:prepare:5']);
    expect(history.name).toBe('hist_history');
  });

  it('keeps history within its records per second, whatever the batch sizes', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 10, max: 5_000 }), fc.array(fc.integer({ min: 1, max: 2_000 }), { minLength: 1, maxLength: 30 }), async (rate, sizes) => {
      let clock = 0;
      const gate = createLaneGate({ maxRecordsPerSecond: rate, now: () => clock, sleep: async (ms) => void (clock += ms) });
      const history = gate.history(recordingFlow('h', []), 'h_history');
      for (const n of sizes) await history.prepare(records(n), ctx);
      const total = sizes.reduce((a, b) => a + b, 0);
      // The bucket starts full (one second's worth); everything beyond it takes its time at the rate.
      const last = sizes[sizes.length - 1]!;
      expect(clock).toBeGreaterThanOrEqual(Math.floor(((total - rate - last) / rate) * 1000) - sizes.length);
    }), { numRuns: 200 });
  });

  it('never holds live batches: they run at once, with history in flight or not', async () => {
    const log: string[] = [];
    const gate = createLaneGate({ maxRecordsPerSecond: 1, now: () => 0, sleep: () => new Promise(() => undefined) });
    const history = gate.history(recordingFlow('hist', log), 'hist_history');
    void history.prepare(records(50), ctx); // takes the one token, then the next batch waits forever on this clock
    void history.prepare(records(50), ctx);
    await gate.live(recordingFlow('live', log)).prepare(records(1), ctx);
    expect(log).toContain('live:prepare:1');
  });
});
