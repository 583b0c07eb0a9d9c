import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, PermanentError, TransientError, type ErrorCode } from '../../../src/errors/index.js';
import { httpStatusOf, STATUS, webhookOutcomeOf } from '../../../src/producers/webhooks/http-errors.js';

const CODES = Object.values(ERROR_CODES) as ErrorCode[];
/** Codes that say "our bug or a broken deployment": the only ones answered 500 (Kafka refusing our write for good is one). */
const BUGS: ReadonlySet<ErrorCode> = new Set([ERROR_CODES.INTERNAL, ERROR_CODES.CONFIG_INVALID, ERROR_CODES.DATABASE_QUERY_INVALID, ERROR_CODES.SCHEMA_INCOMPATIBLE, ERROR_CODES.STACK_FAILED, ERROR_CODES.KAFKA_REFUSED]);

describe("the edge's answer to an error", () => {
  it('is decided for every error code, so a new code cannot fall back to a 500 unnoticed', () => {
    expect(Object.keys(STATUS).sort()).toEqual([...CODES].sort());
  });

  it('depends on the code alone, never on how the error was raised, and is 500 only for our bugs', () => {
    // Regression (issue 11): ACME_ADDRESS_REFUSED and ACME_REDIRECT, permanent errors of a
    // tenant's Acme configuration, were answered 500 (read as our bug) by the fallback.
    fc.assert(fc.property(fc.constantFrom(...CODES), fc.boolean(), fc.string(), (code, transient, message) => {
      const err = transient ? new TransientError(message, { code }) : new PermanentError(message, { code });
      const status = httpStatusOf(err);
      expect(status).toBe(STATUS[code]);
      expect(status === 500).toBe(BUGS.has(code));
      expect(webhookOutcomeOf(err) === 'error').toBe(status >= 500 && status !== 503);
    }));
  });

  it('asks Acme to retry later (503) when a tenant\'s Acme address is refused or redirects', () => {
    for (const code of [ERROR_CODES.ACME_ADDRESS_REFUSED, ERROR_CODES.ACME_REDIRECT]) expect(httpStatusOf(new PermanentError('x', { code }))).toBe(503);
  });
});
