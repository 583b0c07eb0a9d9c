/**
 * `acme-sync edge` as a real process: bootstraps, listens, accepts a signed webhook,
 * and stops cleanly on SIGTERM.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createSecret } from '../../sandbox/src/webhooks/signing.js';
import { createTenantRepository } from '../../src/tenants/repository.js';
import { createSecretBox } from '../../src/tenants/secret-box.js';
import { createIsolatedStack, TEST_MASTER_KEY, type IsolatedStack } from '../helpers/isolated-stack.js';
import { contactObject, eventId, sign, topicSize, webhookEvent } from './webhooks/harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let stack: IsolatedStack;
let child: ChildProcessWithoutNullStreams | undefined;

beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
});
afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await stack?.close();
});

/** Resolves with the first JSON log line that satisfies `match`. */
function logLine(output: string[], proc: ChildProcessWithoutNullStreams, match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      for (const raw of output.join('').split('\n')) {
        if (!raw.startsWith('{')) continue;
        const line = JSON.parse(raw) as Record<string, unknown>;
        if (match(line)) {
          resolve(line);
          return true;
        }
      }
      return false;
    };
    if (check()) return;
    const onData = () => check() && proc.stdout.off('data', onData);
    proc.stdout.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`edge exited with ${code} before the expected log line:\n${output.join('')}`)));
  });
}

describe('acme-sync edge', () => {
  it('serves signed webhooks on EDGE_PORT and shuts down cleanly on SIGTERM', async () => {
    const tenant = `cli-${stack.id}`;
    const secret = createSecret();
    await createTenantRepository(stack.pool, createSecretBox(stack.config.MASTER_KEYS)).create({ id: tenant, name: 'CLI', acmeBaseUrl: 'http://127.0.0.1:9', authKind: 'api_key', secrets: { webhookSecrets: [secret] } });

    const env = inject('stack');
    const output: string[] = [];
    child = spawn(`${ROOT}node_modules/.bin/tsx`, ['src/main.ts', 'edge'], {
      cwd: ROOT,
      env: {
        ...process.env,
        KAFKA_BROKERS: env.KAFKA_BROKERS, SCHEMA_REGISTRY_URL: env.SCHEMA_REGISTRY_URL, DATABASE_URL: env.DATABASE_URL,
        KAFKA_TOPIC_PREFIX: stack.config.KAFKA_TOPIC_PREFIX, DATABASE_SCHEMA: stack.config.DATABASE_SCHEMA, KAFKA_PARTITIONS: '3',
        MASTER_KEYS: TEST_MASTER_KEY, EDGE_PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'info',
      },
    });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => output.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));

    const listening = await logLine(output, child, (l) => l.msg === 'edge listening');
    const base = String(listening.address);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    const before = await topicSize(stack, stack.topics.contacts);
    const delivery = sign(webhookEvent(eventId(), 'contact.created', { object: contactObject('con_cli', 1) }), [secret]);
    const res = await fetch(`${base}/webhooks/acme/${tenant}`, { method: 'POST', headers: delivery.headers, body: delivery.body });
    expect(res.status).toBe(200);
    expect(await topicSize(stack, stack.topics.contacts)).toBe(before + 1);

    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).toBe(0);
    expect(output.join('')).toContain('edge stopped');
  });
});
