/**
 * The drills' table: a row per drill on stdout, and the generated section of
 * docs/RELIABILITY.md between `<!-- drills:<size>:start -->` and `<!-- drills:<size>:end -->`.
 * Rows of drills not run in this invocation are kept from the previous run.
 */
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { passed, type DrillResult, type DrillSize } from './drill.js';

const DOC = fileURLToPath(new URL('../../docs/RELIABILITY.md', import.meta.url));
const HEADER = '| drill | events | lost | duplicated | wrong | DLQ expected / actual | duration | result | what happened |\n|---|---:|---:|---:|---:|---:|---:|---|---|';

const n = (v: number) => (Number.isNaN(v) ? '–' : String(v));

export function formatRow(r: DrillResult): string {
  return `| ${r.drill} | ${n(r.events)} | ${n(r.lost)} | ${n(r.duplicated)} | ${n(r.wrong)} | ${n(r.dlqExpected)} / ${n(r.dlqActual)} | ${(r.durationMs / 1000).toFixed(0)} s | ${passed(r) ? 'pass' : '**FAIL**'} | ${r.notes.replace(/\|/g, '/').replace(/\n/g, ' ')} |`;
}

function machine(): string {
  const cpus = os.cpus();
  const git = (() => {
    try {
      return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  })();
  return `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, commit ${git}; ${cpus.length} × ${cpus[0]?.model ?? 'CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()}; Node ${process.version}`;
}

export async function writeReport(results: DrillResult[], size: DrillSize, order: string[], versions: string): Promise<void> {
  const doc = await readFile(DOC, 'utf8');
  const start = `<!-- drills:${size}:start -->`;
  const end = `<!-- drills:${size}:end -->`;
  const a = doc.indexOf(start);
  const b = doc.indexOf(end);
  if (a < 0 || b < a) throw new Error(`${DOC} lacks the ${start} … ${end} markers`);
  const previous = doc.slice(a + start.length, b).split('\n').filter((l) => /^\| [a-z0-9-]+ \|/.test(l) && !l.startsWith('| drill |'));
  const rows = new Map(previous.map((l) => [l.split('|')[1]!.trim(), l]));
  for (const r of results) rows.set(r.drill, formatRow(r));
  const table = [...rows.entries()].sort(([x], [y]) => order.indexOf(x) - order.indexOf(y)).map(([, l]) => l);
  const section = `\n_Last run: ${machine()}; ${versions}; drills run in that invocation: ${results.map((r) => r.drill).join(', ')}._\n\n${HEADER}\n${table.join('\n')}\n`;
  await writeFile(DOC, doc.slice(0, a + start.length) + section + doc.slice(b));
}
