/**
 * The CI-size fault drills (`npm run drills -- --ci`, docs/RELIABILITY.md) as tests:
 * each drill runs in a child process of its own, exactly as `npm run drills` runs it
 * (`drills/index.ts --child <name> --ci`), against the stack the other integration
 * tests use, and must end with 0 lost, 0 duplicated, 0 wrong, the DLQ as expected and
 * its own check. A separate vitest project, run after the integration tests and one
 * drill at a time: the drills kill processes and time outages, and must not share
 * the 2 cores with other test files.
 */
import { describe, expect, inject, it } from 'vitest';
import { runDrillChild } from '../../drills/support/child.js';
import { passed, type DrillResult } from '../../drills/support/drill.js';

async function runDrill(name: string): Promise<{ result?: DrillResult; code: number | null; tail: string[] }> {
  const tail: string[] = [];
  const keep = (line: string) => tail.push(line) > 40 && tail.shift();
  const { result, code } = await runDrillChild(name, { size: 'ci', env: inject('stack'), onStdout: keep, onStderr: keep });
  return { result, code, tail };
}

const DRILLS: [string, string][] = [
  ['consumer-kills', 'consumer processes SIGKILLed every few seconds'],
  ['webhook-faults', 'duplicated and reordered webhooks, bad records to the DLQ, the DLQ replayed twice'],
  ['postgres-down', 'PostgreSQL unreachable mid-stream'],
  ['acme-down', "Acme's API down while webhooks are lost"],
  ['webhook-attacks', 'forged, tampered, stale, cross-tenant, oversize and compressed-bomb webhooks'],
  ['broker-failures', 'the partition leader of a three-broker cluster killed -9'],
  ['fuzz', 'generated hostile Acme objects and webhook bodies, signed, beside two healthy tenants'],
  ['writeback', 'two-way calendar sync with Acme 5xx, lost write answers and write-back consumers SIGKILLed'],
];

describe('Fault drills at CI size', () => {
  it.each(DRILLS)('%s (%s) loses nothing, counts nothing twice and gets nothing wrong', async (name) => {
    const { result, code, tail } = await runDrill(name);
    expect(result, `the drill ended without a result (exit ${code}); its last lines:\n${tail.join('\n')}`).toBeDefined();
    const r = result!;
    const summary = `${r.drill}: lost ${r.lost}, duplicated ${r.duplicated}, wrong ${r.wrong}, DLQ ${r.dlqExpected}/${r.dlqActual}, own check ${r.extraOk !== false}; ${r.notes}`;
    expect({ lost: r.lost, duplicated: r.duplicated, wrong: r.wrong, dlq: r.dlqActual, ownCheck: r.extraOk !== false }, summary).toEqual({ lost: 0, duplicated: 0, wrong: 0, dlq: r.dlqExpected, ownCheck: true });
    expect(passed(r), summary).toBe(true);
    expect(r.events, summary).toBeGreaterThan(0);
  });
});
