/**
 * The benchmark's judgements (bench/support/stats.ts) and its reading of Kafka's perf
 * tools (bench/support/kafka-perf.ts). Issue 14: a ratio of 1.31 against the "Kafka
 * write off" baseline was reported as MET, and all of one variant ran before the other.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConsumerPerf, parseProducerPerf } from '../../bench/support/kafka-perf.js';
import { interleave, judgeCostRatio, judgeRatio } from '../../bench/support/stats.js';

const positive = fc.double({ min: 1e-3, max: 1e7, noNaN: true });
const target = fc.double({ min: 0.01, max: 1, noNaN: true });

describe('judging a figure against a baseline', () => {
  it('calls a baseline INVALID whenever the work it bounds ran faster than it (never MET), and otherwise MET exactly at or above the target', () => {
    fc.assert(fc.property(positive, positive, target, (value, baseline, t) => {
      const { ratio, verdict } = judgeRatio(value, baseline, t, 'x');
      if (value / baseline > 1) expect(verdict).toMatch(/^INVALID/);
      else expect(verdict).toBe(ratio >= t ? 'MET' : 'MISSED');
    }));
  });

  it('calls a cost baseline INVALID whenever the whole cost less than the part, and otherwise MET exactly at or below the limit', () => {
    fc.assert(fc.property(positive, positive, fc.double({ min: 1, max: 10, noNaN: true }), (value, baseline, max) => {
      const { ratio, verdict } = judgeCostRatio(value, baseline, max, 'x');
      if (value / baseline < 1) expect(verdict).toMatch(/^INVALID/);
      else expect(verdict).toBe(ratio <= max ? 'MET' : 'MISSED');
    }));
  });

  it('calls a missing baseline INVALID', () => {
    expect(judgeRatio(10, NaN, 0.5, 'x').verdict).toMatch(/^INVALID/);
    expect(judgeCostRatio(10, 0, 1.5, 'x').verdict).toMatch(/^INVALID/);
  });
});

describe('interleaved repetitions', () => {
  it('warms every variant up, then runs one of each per round in the given order, and summarizes each variant over its own runs', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), async (reps, count) => {
      const variants = Array.from({ length: count }, (_, i) => i);
      const calls: string[] = [];
      const { summaries, order } = await interleave(reps, variants, async (v, rep) => {
        calls.push(`${v}:${rep}`);
        return { value: v * 100 + rep };
      }, async (v) => calls.push(`warm ${v}`));
      const expected = [...variants.map((v) => `warm ${v}`), ...Array.from({ length: reps }, (_, rep) => variants.map((v) => `${v}:${rep}`)).flat()];
      expect(calls).toEqual(expected);
      expect(order.map((o) => `${o.variant}:${o.rep}`)).toEqual(expected.slice(count));
      for (const v of variants) expect(summaries[v]!.value.values).toEqual(Array.from({ length: reps }, (_, rep) => v * 100 + rep));
    }));
  });
});

describe("reading Kafka's perf tools", () => {
  it("reads ProducerPerformance's summary line, whatever progress lines come before it", () => {
    const out = [
      '49651 records sent, 9926.2 records/sec (2.84 MB/sec), 1.9 ms avg latency, 211.0 ms max latency.',
      '100000 records sent, 41893.590280 records/sec (11.99 MB/sec), 7.59 ms avg latency, 211.00 ms max latency, 3 ms 50th, 21 ms 95th, 46 ms 99th, 108 ms 99.9th.',
    ].join('\n');
    expect(parseProducerPerf(out)).toMatchObject({ recordsPerSec: 41893.59028, mbPerSec: 11.99, avgLatencyMs: 7.59, p99LatencyMs: 46 });
  });

  it("reads ConsumerPerformance's CSV line after its header", () => {
    const out = [
      'start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec',
      '2026-11-30 06:47:48:173, 2026-11-30 06:47:48:795, 2.9827, 4.7954, 10000, 16077.1704, 413, 209, 14.2714, 47846.8900',
    ].join('\n');
    expect(parseConsumerPerf(out)).toMatchObject({ mbPerSec: 4.7954, recordsPerSec: 16077.1704, fetchRecordsPerSec: 47846.89 });
  });

  it('fails loudly when a tool printed no result', () => {
    expect(() => parseProducerPerf('Exception in thread "main"')).toThrow(/ProducerPerformance/);
    expect(() => parseConsumerPerf('WARN no such topic')).toThrow(/ConsumerPerformance/);
  });
});
