/** Child processes: the load generator and `acme-sync consumers`, with their RSS sampled from /proc. */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { ClosedResult, LoadJob, OpenResult } from './load-child.js';
import { waitUntil } from '../../test/helpers/wait.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LOAD_CHILD = fileURLToPath(new URL('./load-child.ts', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

export function runLoad(job: Extract<LoadJob, { mode: 'closed' }>): Promise<ClosedResult>;
export function runLoad(job: Extract<LoadJob, { mode: 'open' }>): Promise<OpenResult>;
export function runLoad(job: LoadJob): Promise<ClosedResult | OpenResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', LOAD_CHILD, JSON.stringify(job)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`load generator exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}'));
      } catch (err) {
        reject(err);
      }
    });
  });
}

/** `acme-sync consumers` (the real CLI) against the bench's isolated stack. */
export function startConsumersProcess(env: NodeJS.ProcessEnv, flows: string): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', MAIN, 'consumers', '--flows', flows], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** `acme-sync edge` (the real CLI); env must carry EDGE_PORT. */
export function startEdgeProcess(env: NodeJS.ProcessEnv, stdio: StdioOptions = ['ignore', 'ignore', 'inherit']): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', MAIN, 'edge'], { cwd: ROOT, env, stdio });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Poll a URL until it answers 200 (a process's /readyz). */
export async function waitForReady(url: string, timeoutMs = 60_000): Promise<void> {
  await waitUntil(async () => {
    const ok = await fetch(url, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok, () => false);
    if (!ok) throw new Error(`${url} not ready after ${timeoutMs} ms`);
  }, { timeoutMs, intervalMs: 250 });
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** Resident set size of a process in MiB (Linux /proc), or NaN. */
export function rssMiB(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}
