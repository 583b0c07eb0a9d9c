/**
 * N `acme-sync consumers` processes (the real CLI) in one consumer group per flow,
 * each with its own CONSUMER_PORT; a drill SIGKILLs one and starts it again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../bench/support/children.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

export interface ConsumerProcesses {
  readonly count: number;
  /** SIGKILL consumer i and start it again after restartDelayMs; resolves once restarted. */
  kill(i: number, restartDelayMs: number): Promise<void>;
  /** Processes that exited without being killed by us (a runner gave up). */
  unexpectedExits(): number;
  stop(): Promise<void>;
}

/** `args`: the CLI arguments after `consumers` (e.g. `--flows writeback`). */
export async function startConsumerProcesses(count: number, env: (port: number) => NodeJS.ProcessEnv, args: readonly string[] = []): Promise<ConsumerProcesses> {
  const children: (ChildProcess | undefined)[] = [];
  const ports: number[] = [];
  const killedByUs = new WeakSet<ChildProcess>();
  let unexpected = 0;
  const start = (i: number) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'consumers', ...args], { cwd: ROOT, env: env(ports[i]!), stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('exit', () => {
      if (!killedByUs.has(child)) unexpected++;
    });
    children[i] = child;
  };
  for (let i = 0; i < count; i++) {
    ports.push(await freePort());
    start(i);
  }
  const exit = (child: ChildProcess | undefined, signal: NodeJS.Signals) => new Promise<void>((resolve) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
    killedByUs.add(child);
    child.once('exit', () => resolve());
    child.kill(signal);
  });
  return {
    count,
    async kill(i, restartDelayMs) {
      await exit(children[i], 'SIGKILL');
      await new Promise((r) => setTimeout(r, restartDelayMs));
      start(i);
    },
    unexpectedExits: () => unexpected,
    async stop() {
      await Promise.all(children.map(async (c) => {
        const timer = setTimeout(() => c?.kill('SIGKILL'), 15_000);
        await exit(c, 'SIGTERM');
        clearTimeout(timer);
      }));
    },
  };
}
