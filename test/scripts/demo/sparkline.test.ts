import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSamples, sparkline } from '../../../scripts/demo/sparkline.js';

const BLOCKS = '▁▂▃▄▅▆▇█';

describe('the progress line\'s sparkline', () => {
  it('draws one block per sample of the window, the largest as a full block, in the order of the values', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 40 }), (values, width) => {
      const line = [...sparkline(values, width)];
      const window = values.slice(-width);
      expect(line).toHaveLength(window.length);
      for (const c of line) expect(BLOCKS).toContain(c);
      if (Math.max(...window) > 0) expect(line[window.indexOf(Math.max(...window))]).toBe('█');
      for (let i = 0; i < window.length; i++) for (let j = 0; j < window.length; j++)
        if (window[i]! <= window[j]!) expect(BLOCKS.indexOf(line[i]!)).toBeLessThanOrEqual(BLOCKS.indexOf(line[j]!));
    }));
  });

  it('reads a stall, negative or non-finite samples as the lowest block', () => {
    expect(sparkline([0, 0, 0])).toBe('▁▁▁');
    expect(sparkline([-5, Number.NaN, Number.POSITIVE_INFINITY, 10])).toBe('▁▁▁█');
  });

  it('keeps a bounded window of samples', () => {
    const samples = createSamples(3);
    for (const v of [1, 2, 3, 4, 5]) samples.push(v);
    expect(samples.values()).toEqual([3, 4, 5]);
  });
});
