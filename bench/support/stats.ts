/**
 * Repetitions and their summary: a warm-up that is not counted, then `reps` timed
 * runs, reported as median and spread (min–max). No assertion anywhere: benchmarks
 * print figures, people judge them.
 */
export interface Summary {
  median: number;
  min: number;
  max: number;
  values: number[];
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length === 0 ? NaN : sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0] ?? NaN, max: sorted[sorted.length - 1] ?? NaN, values: [...values] };
}

export function percentile(sortedAscending: readonly number[], p: number): number {
  if (sortedAscending.length === 0) return NaN;
  const index = Math.min(sortedAscending.length - 1, Math.max(0, Math.ceil((p / 100) * sortedAscending.length) - 1));
  return sortedAscending[index]!;
}

/** Run `warmup` once (result dropped), then `reps` times; each run returns named figures. */
export async function repeat<T extends Record<string, number>>(
  reps: number,
  run: (rep: number) => Promise<T>,
  warmup?: () => Promise<unknown>,
): Promise<{ [K in keyof T]: Summary }> {
  if (warmup) await warmup();
  const runs: T[] = [];
  for (let rep = 0; rep < reps; rep++) runs.push(await run(rep));
  const keys = Object.keys(runs[0] ?? {}) as (keyof T)[];
  return Object.fromEntries(keys.map((k) => [k, summarize(runs.map((r) => r[k]))])) as { [K in keyof T]: Summary };
}

/** "12,345 (11,900–12,800)" */
export function fmt(s: Summary, digits = 0): string {
  return `${num(s.median, digits)} (${num(s.min, digits)}–${num(s.max, digits)})`;
}

export function num(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return 'n/a';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function ratio(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? (a / b).toFixed(2) : 'n/a';
}

/** CPU time of this process (user + system) in µs, and wall time in ms, since `start()`. */
export function startMeter(): { stop(): { wallMs: number; cpuUs: number } } {
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  return {
    stop() {
      const used = process.cpuUsage(cpu);
      return { wallMs: performance.now() - t0, cpuUs: used.user + used.system };
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Repetitions of several variants, interleaved (issue 14): a warm-up of each, then
 * `reps` rounds that run every variant once in the given order (A B A B …, never all
 * of A then all of B), so a drift of the machine (another process, a compaction, GC
 * of the broker) falls on every variant alike. Returns each variant's summaries and
 * the order the runs happened in, for the report.
 */
export async function interleave<V, T extends Record<string, number>>(
  reps: number,
  variants: readonly V[],
  run: (variant: V, rep: number) => Promise<T>,
  warmup?: (variant: V) => Promise<unknown>,
): Promise<{ summaries: { [K in keyof T]: Summary }[]; order: { variant: number; rep: number }[] }> {
  if (warmup) for (const v of variants) await warmup(v);
  const runs: T[][] = variants.map(() => []);
  const order: { variant: number; rep: number }[] = [];
  for (let rep = 0; rep < reps; rep++) {
    for (const [i, v] of variants.entries()) {
      runs[i]!.push(await run(v, rep));
      order.push({ variant: i, rep });
    }
  }
  const summaries = runs.map((rs) => {
    const keys = Object.keys(rs[0] ?? {}) as (keyof T)[];
    return Object.fromEntries(keys.map((k) => [k, summarize(rs.map((r) => r[k]))])) as { [K in keyof T]: Summary };
  });
  return { summaries, order };
}

/**
 * A target stated as a ratio against a baseline: a variant that does MORE work than its
 * baseline cannot be faster than it, so a ratio above 1 says the baseline measured
 * something else (noise, a different setup) — INVALID, not MET (issue 14: 1.31 was
 * reported as MET).
 */
export function judgeRatio(value: number, baseline: number, target: number, baselineName: string): { ratio: number; verdict: string } {
  const r = value / baseline;
  if (!Number.isFinite(r)) return { ratio: r, verdict: 'INVALID (no baseline figure)' };
  if (r > 1) return { ratio: r, verdict: `INVALID (${r.toFixed(2)} > 1: the ${baselineName} baseline was slower than the work it bounds, so it does not measure the ceiling)` };
  return { ratio: r, verdict: r >= target ? 'MET' : 'MISSED' };
}

/** The same for a cost (lower is better): a variant doing more work than its baseline cannot cost less. */
export function judgeCostRatio(value: number, baseline: number, maxRatio: number, baselineName: string): { ratio: number; verdict: string } {
  const r = value / baseline;
  if (!Number.isFinite(r)) return { ratio: r, verdict: 'INVALID (no baseline figure)' };
  if (r < 1) return { ratio: r, verdict: `INVALID (${r.toFixed(2)} < 1: the ${baselineName} baseline cost more than the work it is part of)` };
  return { ratio: r, verdict: r <= maxRatio ? 'MET' : 'MISSED' };
}
