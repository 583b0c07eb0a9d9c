/**
 * `npm run bench [-- --quick] [--size N] [--reps N] [--only consumers,edge,e2e,growth,onboarding] [--max-rate N] [--write|--no-write]`
 *
 * --max-rate: the edge's maximum webhooks/s for the end-to-end loads when benchmark 2 does not run in the same invocation.
 *
 * Runs the benchmarks on the real local stack (started when it is not running), prints
 * a table per measurement and writes the results into docs/BENCHMARKS.md (full runs
 * write by default; a --quick run only with --write). Benchmarks print figures and
 * ratios against the targets; nothing here asserts on time.
 */
import { loadavg } from 'node:os';
import { consumerEfficiency } from './consumer-efficiency.js';
import { webhookEdge } from './webhook-edge.js';
import { endToEnd } from './end-to-end.js';
import { growth } from './growth.js';
import { onboarding } from './onboarding.js';
import type { Benchmark, BenchResult } from './support/bench.js';
import { describeMachine, renderResult, writeReport } from './support/report.js';
import { stackEnv } from './support/stack.js';
import { renderTable } from './support/table.js';

const BENCHMARKS: Benchmark[] = [consumerEfficiency, webhookEdge, endToEnd, growth, onboarding];

const FULL_SIZE = 500_000;
const QUICK_SIZE = 20_000;

interface Args {
  quick: boolean;
  size: number;
  reps: number;
  only: string[] | undefined;
  write: boolean;
  maxRate: number | undefined;
}

function parseArgs(argv: string[]): Args {
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const quick = argv.includes('--quick');
  const size = Number(value('--size') ?? (quick ? QUICK_SIZE : FULL_SIZE));
  const reps = Number(value('--reps') ?? 3);
  const only = value('--only')?.split(',').map((s) => s.trim()).filter(Boolean);
  const known = BENCHMARKS.map((b) => b.name);
  const unknown = (only ?? []).filter((n) => !known.includes(n));
  if (!Number.isInteger(size) || size < 1000) throw new Error(`--size: expected an integer ≥ 1000 (got ${value('--size')})`);
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps: expected a positive integer (got ${value('--reps')})`);
  if (unknown.length > 0) throw new Error(`--only: unknown benchmark ${unknown.join(', ')}; expected some of ${known.join(', ')}`);
  const write = argv.includes('--write') || (!quick && !argv.includes('--no-write'));
  const maxRate = value('--max-rate') === undefined ? undefined : Number(value('--max-rate'));
  if (maxRate !== undefined && !(maxRate > 0)) throw new Error(`--max-rate: expected a positive number (got ${value('--max-rate')})`);
  return { quick, size, reps, only, write, maxRate };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (msg: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
  const env = await stackEnv(log);
  const { stackStatus } = await import('../scripts/stack/index.js');
  const versions = env.source === 'local-stack' || env.source === 'env' ? (await stackStatus()).map((s) => `${s.name}: ${s.version}`) : [];
  const machine = await describeMachine(versions);
  const figures = new Map<string, number>();
  if (args.maxRate !== undefined) figures.set('edge.maxRate', args.maxRate);
  const selected = BENCHMARKS.filter((b) => args.only === undefined || args.only.includes(b.name));
  const started = new Date();
  const header = `Run ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${args.quick ? 'QUICK (development sizes, not representative)' : 'full'} size ${args.size.toLocaleString('en-US')} events, ${args.reps} repetitions after a warm-up.`;
  const results: { result: BenchResult; header: string }[] = [];
  const load = () => loadavg().map((l) => l.toFixed(2)).join(', ');
  for (const bench of selected) {
    log(`${bench.title} …`);
    const loadStart = load();
    const result = await bench.run({ env, quick: args.quick, size: args.size, reps: args.reps, log, figures });
    results.push({ result, header: `${header} Load average (1, 5, 15 min) when this benchmark started: ${loadStart}; when it ended: ${load()}.` });
    console.log(`\n## ${result.title}\n`);
    for (const f of result.findings) console.log(`- ${f}`);
    console.log('');
    for (const t of result.tables) console.log(renderTable(t));
  }
  const loadEnd = loadavg().map((l) => l.toFixed(2)).join(', ');
  if (args.write) {
    writeReport([
      { name: 'machine', body: ['### Machine and versions', '', ...machine, `- Load average when the run ended: ${loadEnd}`].join('\n') },
      ...results.map(({ result, header: h }) => ({ name: result.name, body: renderResult(result, h) })),
    ]);
    log('results written to docs/BENCHMARKS.md');
  }
  log(`done; load average ${loadEnd}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
