/**
 * A terminal sparkline for `npm start`'s progress line (issue 16): the last N samples of a
 * rate as block characters, scaled to the largest sample in the window (0 → the lowest
 * block, so a stall reads as a flat line). Eight lines of our own rather than `sparkly`,
 * which brings chalk for colours a log line does not want.
 */
const BLOCKS = '▁▂▃▄▅▆▇█';

export function sparkline(values: readonly number[], width = 24): string {
  const window = values.slice(-width).map((v) => (Number.isFinite(v) && v > 0 ? v : 0));
  const max = Math.max(0, ...window);
  return window.map((v) => BLOCKS[max === 0 ? 0 : Math.min(BLOCKS.length - 1, Math.round((v / max) * (BLOCKS.length - 1)))]).join('');
}

/** A bounded window of samples (the sparkline's memory). */
export function createSamples(size: number): { push(v: number): void; values(): number[] } {
  const samples: number[] = [];
  return {
    push(v) {
      samples.push(v);
      if (samples.length > size) samples.shift();
    },
    values: () => [...samples],
  };
}
