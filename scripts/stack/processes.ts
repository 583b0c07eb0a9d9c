/**
 * Background services owned by the stack: started detached with their output in a
 * log file, tracked by a pid file, stopped with SIGTERM then SIGKILL.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { PATHS } from './settings.js';

export interface ServiceProcess {
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env?: Record<string, string>;
}

export const pidFile = (name: string) => join(PATHS.runDir, `${name}.pid`);
export const logFile = (name: string) => join(PATHS.runDir, `${name}.log`);

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid of a running service we started, or undefined (a stale pid file is removed). */
export function runningPid(name: string): number | undefined {
  const file = pidFile(name);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) return pid;
  rmSync(file, { force: true });
  return undefined;
}

export function startDetached(service: ServiceProcess): number {
  mkdirSync(PATHS.runDir, { recursive: true });
  const out = openSync(logFile(service.name), 'a');
  const child = spawn(service.command, service.args, {
    cwd: service.cwd,
    env: { ...process.env, ...service.env },
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  if (child.pid === undefined) throw new Error(`could not start ${service.name} (${service.command})`);
  child.unref();
  writeFileSync(pidFile(service.name), String(child.pid));
  return child.pid;
}

export async function stopService(name: string, graceMs = 30_000): Promise<boolean> {
  const pid = runningPid(name);
  if (pid === undefined) return false;
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(200);
  if (isAlive(pid)) signal(pid, 'SIGKILL');
  while (isAlive(pid)) await sleep(100);
  rmSync(pidFile(name), { force: true });
  return true;
}

/** Signal the whole process group (the service was started as its leader), then the pid. */
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
}

export function isPortOpen(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll `check` until it returns true; on timeout, fail with the service's log tail. */
export async function waitUntil(name: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    const pid = runningPid(name);
    if (pid === undefined) throw new Error(`${name} exited during start-up:\n${logTail(name)}`);
    await sleep(500);
  }
  throw new Error(`${name} not healthy after ${timeoutMs / 1000}s:\n${logTail(name)}`);
}

export function logTail(name: string, lines = 30): string {
  const file = logFile(name);
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}
