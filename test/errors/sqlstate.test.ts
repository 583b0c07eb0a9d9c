import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, databaseError, isRecordFault, isRetriable, sqlStateVerdict, toAcmeSyncError } from '../../src/errors/index.js';

const pgError = (code: string) => Object.assign(new Error(`pg ${code}`), { code });
const sqlState = (cls: string) => fc.stringMatching(/^[0-9A-Z]{3}$/).map((rest) => `${cls}${rest}`);

describe('PostgreSQL errors, classified by SQLSTATE class', () => {
  it('treats connection (08), resources (53), operator intervention (57) and rollback (40) as transient, coded DATABASE_UNAVAILABLE, never INTERNAL', () => {
    fc.assert(
      fc.property(fc.constantFrom('08', '53', '57', '40').chain(sqlState), (code) => {
        expect(sqlStateVerdict(code)).toBe('transient');
        expect(isRetriable(pgError(code))).toBe(true);
        expect(toAcmeSyncError(pgError(code), 'sink')).toMatchObject({ code: ERROR_CODES.DATABASE_UNAVAILABLE, retriable: true });
      }),
    );
  });

  it('treats data exceptions (22) and integrity violations (23) as the record’s fault: permanent, for the DLQ', () => {
    fc.assert(
      fc.property(fc.constantFrom('22', '23').chain(sqlState), (code) => {
        expect(isRecordFault(pgError(code))).toBe(true);
        expect(isRetriable(pgError(code))).toBe(false);
        expect(databaseError(pgError(code)).code).toBe(code.startsWith('22') ? ERROR_CODES.DATABASE_DATA_REJECTED : ERROR_CODES.DATABASE_CONSTRAINT_VIOLATED);
      }),
    );
  });

  it('treats everything else (42 syntax or undefined object, ...) as our bug: permanent, not a record fault', () => {
    fc.assert(
      fc.property(fc.constantFrom('42', '0A', 'XX', 'P0', '25').chain(sqlState), (code) => {
        expect(isRecordFault(pgError(code))).toBe(false);
        expect(isRetriable(pgError(code))).toBe(false);
        expect(databaseError(pgError(code)).code).toBe(ERROR_CODES.DATABASE_QUERY_INVALID);
      }),
    );
  });

  it('does not mistake a five-letter syscall code (EPIPE) for a SQLSTATE', () => {
    expect(isRetriable(pgError('EPIPE'))).toBe(true);
    expect(databaseError(pgError('EPIPE')).code).toBe(ERROR_CODES.DATABASE_UNAVAILABLE);
  });
});
