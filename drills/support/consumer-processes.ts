/**
 * N `acme-sync consumers` processes (the real CLI) in one consumer group per flow,
 * each with its own CONSUMER_PORT; a drill SIGKILLs one and starts it again.
 */
import type { ChildProcess } from 'node:child_process';
import { freePort, startConsumersProcess } from '../../bench/support/children.js';

export interface ConsumerProcesses {
  readonly count: number;
  /** SIGKILL consumer i and start it again after restartDelayMs; resolves once restarted. */
  kill(i: number, restartDelayMs: number): Promise<void>;
  /** Processes that exited without being killed by us (a runner gave up). */
  unexpectedExits(): number;
  stop(): Promise<void>;
}

/** `flows`: what `acme-sync consumers --flows` runs in each process. */
export async function startConsumerProcesses(count: number, env: (port: number) => NodeJS.ProcessEnv, flows = 'calendar,touchpoints'): Promise<ConsumerProcesses> {
  const children: (ChildProcess | undefined)[] = [];
  const ports: number[] = [];
  const killedByUs = new WeakSet<ChildProcess>();
  let unexpected = 0;
  const start = (i: number) => {
    const child = startConsumersProcess(env(ports[i]!), flows);
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
