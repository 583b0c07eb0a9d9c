/**
 * Real `acme-sync <command>` processes for integration tests: spawned on the Node that
 * runs the tests (process.execPath, so Node 24 when scripts/node.sh put it on PATH), with
 * their output kept, a readiness wait that fails at once when the process exits, and a
 * stop that never leaves one running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { vi } from 'vitest';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface CliProcess {
  name: string;
  proc: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  exited(): boolean;
  /** Resolves when GET /readyz on `port` answers 200; rejects at once if the process exits. */
  ready(port: number, timeoutMs?: number): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code or signal. */
  stop(graceMs?: number): Promise<number | string>;
}

export function spawnCli(name: string, args: readonly string[], env: NodeJS.ProcessEnv): CliProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: string[] = [];
  proc.stdout!.setEncoding('utf8').on('data', (c: string) => chunks.push(c));
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => chunks.push(c));
  const exited = () => proc.exitCode !== null || proc.signalCode !== null;
  const output = () => chunks.join('');
  return {
    name, proc, output, exited,
    async ready(port, timeoutMs = 150_000) {
      const died = () => new Error(`${name} exited (${proc.exitCode ?? proc.signalCode}) before it was ready:\n${output().slice(-3000)}`);
      if (exited()) throw died();
      const exit = once(proc, 'exit').then(() => Promise.reject(died()));
      const up = vi.waitFor(async () => {
        const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
        if (res?.status !== 200) throw new Error(`${name} not ready on :${port} within ${timeoutMs} ms (${res?.status ?? 'no answer'})`);
      }, { timeout: timeoutMs, interval: 250 });
      exit.catch(() => undefined);
      await Promise.race([up, exit]);
    },
    async stop(graceMs = 15_000) {
      if (!exited()) {
        const done = once(proc, 'exit');
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
        await done;
        clearTimeout(timer);
      }
      return proc.exitCode ?? proc.signalCode ?? 'unknown';
    },
  };
}

/** A TCP port nobody listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}
