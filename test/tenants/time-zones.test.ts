import { describe, expect, it } from 'vitest';
import { isValidTimeZone } from '../../src/tenants/types.js';

describe('isValidTimeZone', () => {
  it('accepts IANA zones and refuses anything else, the same on a repeated question (answers are cached)', () => {
    for (let i = 0; i < 2; i++) {
      expect(isValidTimeZone('Europe/Berlin')).toBe(true);
      expect(isValidTimeZone('America/New_York')).toBe(true);
      expect(isValidTimeZone('UTC')).toBe(true);
      expect(isValidTimeZone('Mars/Olympus_Mons')).toBe(false);
      expect(isValidTimeZone('')).toBe(false);
    }
  });

  it('stays correct past the cache bound', () => {
    for (let i = 0; i < 1_100; i++) expect(isValidTimeZone(`Nowhere/Zone_${i}`)).toBe(false);
    expect(isValidTimeZone('Asia/Tokyo')).toBe(true);
  });
});
