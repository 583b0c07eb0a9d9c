/**
 * docs/BENCHMARKS.md: the method is written by hand; each benchmark's results and
 * the machine description are generated between markers, so a run with `--only`
 * replaces only its own section and leaves the others' last results in place.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import type { BenchResult } from './bench.js';
import { renderTable } from './table.js';

export const REPORT_PATH = new URL('../../docs/BENCHMARKS.md', import.meta.url);

const start = (name: string) => `<!-- bench:${name}:start -->`;
const end = (name: string) => `<!-- bench:${name}:end -->`;

export function renderResult(result: BenchResult, header: string): string {
  return [`### ${result.title}`, '', header, '', ...result.findings.map((f) => `- ${f}`), '', ...result.tables.map(renderTable)].join('\n');
}

export interface MachineInfo {
  lines: string[];
}

function cpuModel(): string {
  try {
    const m = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return m?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  } catch {
    return cpus()[0]?.model ?? 'unknown';
  }
}

export async function describeMachine(stackVersions: string[]): Promise<string[]> {
  const nproc = (() => {
    try {
      return execFileSync('nproc', { encoding: 'utf8' }).trim();
    } catch {
      return String(cpus().length);
    }
  })();
  const pkg = (name: string) => {
    try {
      return (JSON.parse(readFileSync(new URL(`../../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      return '?';
    }
  };
  return [
    `- CPU: ${nproc} cores (nproc), ${cpuModel()}; memory ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- Load average when the run started: ${loadavg().map((l) => l.toFixed(2)).join(', ')} (1, 5, 15 min)`,
    `- Node ${process.version}; kafkajs ${pkg('kafkajs')}, @platformatic/kafka ${pkg('@platformatic/kafka')}, autocannon ${pkg('autocannon')}, fastify ${pkg('fastify')}, pg ${pkg('pg')}`,
    ...stackVersions.map((v) => `- ${v}`),
  ];
}

function replaceSection(doc: string, name: string, body: string): string {
  const block = `${start(name)}\n${body.trim()}\n${end(name)}`;
  const i = doc.indexOf(start(name));
  const j = doc.indexOf(end(name));
  if (i >= 0 && j > i) return doc.slice(0, i) + block + doc.slice(j + end(name).length);
  return `${doc.trimEnd()}\n\n${block}\n`;
}

export function writeReport(sections: { name: string; body: string }[]): void {
  let doc = existsSync(REPORT_PATH) ? readFileSync(REPORT_PATH, 'utf8') : '# Benchmarks\n';
  for (const s of sections) doc = replaceSection(doc, s.name, s.body);
  writeFileSync(REPORT_PATH, doc.endsWith('\n') ? doc : `${doc}\n`);
}
