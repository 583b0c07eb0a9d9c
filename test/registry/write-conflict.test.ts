/**
 * Bug (issue 13): Apicurio's `409 A rule named 'COMPATIBILITY' already exists` (a write
 * that lost a race with an identical one) was reported as "Schema registry refused an
 * incompatible schema", a permanent error. Generated over the answers both registries
 * give: only a 409 that says "already exists" and is not a rule violation is a race.
 */
import { describe, expect, it } from 'vitest';
import { isConcurrentWriteConflict } from '../../src/registry/index.js';

const incompatible = [
  { error_code: 409, message: 'Schema being registered is incompatible with an earlier schema for subject "s-value"' },
  { error_code: 409, message: 'io.apicurio.registry.rules.violation.RuleViolationException: Incompatible artifact: s-value [AVRO]' },
  { error_code: 0, message: 'RuleViolationException: incompatible, although something already exists' },
];
const races = [
  { error_code: 0, message: "A rule named 'COMPATIBILITY' already exists." },
  { error_code: 40401, message: 'Artifact with ID s-value already exists' },
  { message: "A rule named 'COMPATIBILITY' already exists." },
];
const bodies = (o: object) => [JSON.stringify(o), (o as { message: string }).message];

describe('a registry 409', () => {
  for (const status of [400, 404, 409, 422, 500]) {
    for (const answer of races) {
      for (const body of bodies(answer)) {
        it(`status ${status}, ${body.slice(0, 60)}: is a lost race only when 409`, () => {
          expect(isConcurrentWriteConflict(status, body)).toBe(status === 409);
        });
      }
    }
    for (const answer of incompatible) {
      it(`status ${status}, ${answer.message.slice(0, 60)}: is never a race`, () => {
        for (const body of bodies(answer)) expect(isConcurrentWriteConflict(status, body)).toBe(false);
      });
    }
  }
  it('is not a race when the body says nothing about existing', () => {
    expect(isConcurrentWriteConflict(409, '{"error_code":0,"message":"Conflict"}')).toBe(false);
    expect(isConcurrentWriteConflict(409, 'not json at all')).toBe(false);
  });
});
