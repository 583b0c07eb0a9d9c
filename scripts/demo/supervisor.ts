/**
 * The demo's process supervisor (issue 13: a process died and the demo kept printing
 * `consumed 0 (0/s)` for two minutes without saying so; a failed run left a process behind).
 *
 * - Each child runs in its own process group (detached), so stopping signals the whole
 *   group — whatever the child itself started goes too — and Ctrl-C in the terminal
 *   reaches only the supervisor, which stops the children in order.
 * - An exit nobody asked for is said at once, with the last lines of the child's log,
 *   then the child is restarted, up to `maxRestarts` times; past that, `onGiveUp` (the
 *   demo stops everything).
 * - `stopAll` sends SIGTERM to every group, SIGKILL to what is left after the grace
 *   period, and resolves only when every child it started has exited.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';

export interface ChildSpec {
  name: string;
  command: string;
  args: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export interface SupervisorOptions {
  logsDir: string;
  /** Restarts allowed per child before giving up (0: the first unexpected exit gives up). */
  maxRestarts: number;
  log(message: string): void;
  /** Called once with the reason when a child exited more often than allowed. */
  onGiveUp(reason: string): void;
  /** Each line a child writes (after it went to its log file). */
  onLine?(name: string, line: string): void;
  /** Lines of the log shown when a child exits unexpectedly. */
  tailLines?: number;
}

export interface Supervisor {
  start(spec: ChildSpec): void;
  /** Name → pid of every child running now. */
  running(): Record<string, number>;
  /** Every pid this supervisor ever started (restarts included). */
  startedPids(): number[];
  stopAll(graceMs?: number): Promise<void>;
}

export function tail(file: string, lines: number): string {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(-lines).join('\n');
}

/** Signal the process group led by `pid`; `orPid`: the pid alone when there is no group (a child not yet reaped, so never a reused pid). */
function signalGroup(pid: number, sig: NodeJS.Signals, orPid = true): void {
  try {
    process.kill(-pid, sig);
  } catch {
    if (!orPid) return;
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
}

export function createSupervisor(options: SupervisorOptions): Supervisor {
  const children = new Map<string, ChildProcess>();
  const restarts = new Map<string, number>();
  const started: number[] = [];
  let stopping = false;
  mkdirSync(options.logsDir, { recursive: true });

  const logFileOf = (name: string) => join(options.logsDir, `${name}.log`);

  const relay = (name: string, file: WriteStream) => {
    let rest = '';
    return (chunk: Buffer) => {
      file.write(chunk);
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (line) options.onLine?.(name, line);
    };
  };

  const start = (spec: ChildSpec): void => {
    const file = createWriteStream(logFileOf(spec.name), { flags: 'a' });
    const proc = spawn(spec.command, [...spec.args], { cwd: spec.cwd, env: spec.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const startedAt = Date.now();
    if (proc.pid !== undefined) started.push(proc.pid);
    children.set(spec.name, proc);
    const onData = relay(spec.name, file);
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    options.log(`${spec.name} started (pid ${proc.pid ?? '?'}), log: ${logFileOf(spec.name)}`);
    proc.once('error', (err) => options.log(`${spec.name} could not start: ${err.message}`));
    proc.once('exit', (code, signal) => {
      // 'exit' can come before the pipes are drained: close the log once they are.
      let open = 2;
      const closed = () => --open === 0 && file.end();
      if (proc.stdout) proc.stdout.once('close', closed); else closed();
      if (proc.stderr) proc.stderr.once('close', closed); else closed();
      if (children.get(spec.name) === proc) children.delete(spec.name);
      if (stopping) return;
      const how = signal ?? `code ${code}`;
      const seconds = Math.round((Date.now() - startedAt) / 1000);
      // Its last words may still be in the pipe: show the tail once the pipes are closed.
      setTimeout(() => {
        options.log(`${spec.name} EXITED UNEXPECTEDLY (${how}) after ${seconds}s; last lines of ${logFileOf(spec.name)}:`);
        for (const line of tail(logFileOf(spec.name), options.tailLines ?? 20).split('\n')) options.log(`  | ${line}`);
        if (stopping) return;
        const count = (restarts.get(spec.name) ?? 0) + 1;
        if (count > options.maxRestarts) {
          options.onGiveUp(`${spec.name} exited unexpectedly${options.maxRestarts > 0 ? ` after ${options.maxRestarts} restart(s)` : ''}`);
          return;
        }
        restarts.set(spec.name, count);
        options.log(`restarting ${spec.name} (${count} of ${options.maxRestarts})`);
        start(spec);
      }, 200);
    });
  };

  return {
    start,
    running: () => Object.fromEntries([...children].flatMap(([name, p]) => (p.pid === undefined ? [] : [[name, p.pid]]))),
    startedPids: () => [...started],
    async stopAll(graceMs = 15_000) {
      stopping = true;
      const live = [...children.values()].filter((p) => p.exitCode === null && p.signalCode === null);
      await Promise.all(live.map((proc) => new Promise<void>((resolve) => {
        proc.once('exit', () => resolve());
        signalGroup(proc.pid!, 'SIGTERM');
        const timer = setTimeout(() => {
          options.log(`pid ${proc.pid} did not stop within ${graceMs / 1000}s of SIGTERM: SIGKILL`);
          signalGroup(proc.pid!, 'SIGKILL');
        }, graceMs);
        proc.once('exit', () => clearTimeout(timer));
      })));
      // Whatever a child left in its group goes too (the group only: its leader's pid may be reused by now).
      for (const pid of started) signalGroup(pid, 'SIGKILL', false);
    },
  };
}
