/**
 * How a process built by src/processes stops (serve(), close-with-grace): the exit code
 * is the supervisor's only signal, so each way of ending has its own, generated here as
 * a matrix over (what the app does on close) × (how it is told to stop).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHILD = fileURLToPath(new URL('./fixtures/serve-child.ts', import.meta.url));

async function run(mode: string, signals: NodeJS.Signals[], graceMs: number): Promise<number | null> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, mode, String(graceMs)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit') as Promise<[number | null]>;
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  try {
    await vi.waitFor(() => expect(out).toContain('ready'), { timeout: 15_000, interval: 20 });
    // Each next signal once the previous one is being handled: signals sent together coalesce.
    for (const [i, signal] of signals.entries()) {
      if (i > 0) await vi.waitFor(() => expect(out).toContain('closing'), { timeout: 5_000, interval: 20 });
      child.kill(signal);
    }
    return (await exited)[0];
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

// The grace is long where it must not be what ends the process.
const CASES: Array<[mode: string, signals: NodeJS.Signals[], graceMs: number, code: number, why: string]> = [
  ['clean', ['SIGTERM'], 60_000, 0, 'a clean stop after SIGTERM'],
  ['clean', ['SIGINT'], 60_000, 0, 'a clean stop after Ctrl-C'],
  ['slow-close', ['SIGTERM'], 500, 1, 'work in hand outlived SHUTDOWN_GRACE_MS'],
  ['slow-close', ['SIGTERM', 'SIGTERM'], 60_000, 1, 'a second signal while stopping'],
  ['failure', [], 60_000, 1, 'the process reported it cannot go on (a consumer runner gave up)'],
];

describe('stopping a process built by src/processes', () => {
  it.each(CASES)('%s app, signals %j, grace %i ms: exits %i (%s)', async (mode, signals, graceMs, code) => {
    expect(await run(mode, signals, graceMs)).toBe(code);
  }, 20_000);
});
