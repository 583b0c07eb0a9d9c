/**
 * `npm start`: the whole thing on this machine. Brings up the local stack, prepares
 * the database, topics and schemas, then starts each process of the integration as a
 * child with its output prefixed. Ctrl-C stops the children, then the stack if this
 * command started it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { stackDown, stackStatus, stackUp } from './stack/index.js';
import { CACHE, ROOT } from './stack/settings.js';

interface Child {
  name: string;
  args: string[];
  /** Only started when this file exists (processes land issue by issue). */
  requires: string;
}

const CHILDREN: Child[] = [
  { name: 'sandbox', args: ['sandbox/src/cli.ts', '--port', '4010', '--seed', '42'], requires: 'sandbox/src/cli.ts' },
];

const log = (msg: string) => console.log(`[start] ${msg}`);

/** A development master key, made once and kept in .cache (never committed). */
function devMasterKeys(): string {
  if (process.env.MASTER_KEYS) return process.env.MASTER_KEYS;
  const file = join(CACHE, 'dev-master-keys');
  if (!existsSync(file)) {
    mkdirSync(CACHE, { recursive: true });
    writeFileSync(file, `dev:${randomBytes(32).toString('base64')}`, { mode: 0o600 });
    log(`created a development MASTER_KEYS in ${file} (do not use it in production)`);
  }
  return readFileSync(file, 'utf8').trim();
}

function run(child: Child, env: NodeJS.ProcessEnv): ChildProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', ...child.args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = (chunk: Buffer) => chunk.toString().split('\n').filter(Boolean).forEach((l) => console.log(`[${child.name}] ${l}`));
  proc.stdout?.on('data', prefix);
  proc.stderr?.on('data', prefix);
  proc.on('exit', (code, signal) => log(`${child.name} exited (${signal ?? code})`));
  return proc;
}

async function main(): Promise<void> {
  const wasRunning = (await stackStatus()).every((s) => s.healthy);
  const stackEnvVars = await stackUp((m) => console.log(`[stack] ${m}`));
  const env = { ...process.env, ...stackEnvVars, MASTER_KEYS: devMasterKeys() };

  const { loadConfig } = await import('../src/config/index.js');
  const { createLogger } = await import('../src/logger.js');
  const { bootstrap } = await import('../src/bootstrap.js');
  const config = loadConfig(env);
  const runtime = await bootstrap(config, createLogger({ level: 'warn', name: 'start' }));
  await runtime.close();
  log(`database migrated, topics created, schemas registered (${Object.values(runtime.topics).join(', ')})`);

  const running = CHILDREN.filter((c) => existsSync(join(ROOT, c.requires))).map((c) => ({ child: c, proc: run(c, env) }));
  log(`running: stack${running.map((r) => `, ${r.child.name}`).join('')}. Ctrl-C stops everything.`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log('stopping...');
    await Promise.all(
      running.map(({ proc }) => new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 10_000).unref();
      })),
    );
    if (!wasRunning) await stackDown({}, (m) => console.log(`[stack] ${m}`));
    log('stopped');
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: Error) => {
  console.error(`[start] ${err.message}`);
  process.exit(1);
});
