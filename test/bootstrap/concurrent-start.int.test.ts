/**
 * Bug (issue 13): processes starting together on fresh names raced in the bootstrap —
 * two set a new subject's compatibility at once, Apicurio answered `409 A rule named
 * 'COMPATIBILITY' already exists`, and the loser exited with "Schema registry refused an
 * incompatible schema". Edge, consumers and admin started together failed in 6 of 10 trials.
 *
 * Generated: round after round on fresh topic prefixes, schemas and subjects, (1) several
 * bootstraps at once in this process, and (2) three full sets of real processes (edge,
 * consumers, admin) at once, each of which must answer /readyz 200. Both fail on the code
 * before the fix. BOOTSTRAP_RACE_ROUNDS / BOOTSTRAP_RACE_PROCESS_ROUNDS raise the counts.
 *
 * The processes reach the registry step seconds apart here (tsx compiles each on start),
 * while in a rollout they meet when the registry comes back: so in (2) they reach the real
 * registry through a barrier that holds every request until all nine have asked once,
 * then passes everything through untouched, as a registry that just came up would see it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import pg from 'pg';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { bootstrap } from '../../src/bootstrap.js';
import { TOPIC_KINDS, topicNames } from '../../src/kafka/index.js';
import { createLogger } from '../../src/logger.js';
import { spawnCli, freePort, type CliProcess } from '../helpers/cli-process.js';
import { isolatedConfig, randomId, TEST_MASTER_KEY } from '../helpers/isolated-stack.js';

const env = inject('stack');
const ROUNDS = Number(process.env.BOOTSTRAP_RACE_ROUNDS ?? 10);
const PROCESS_ROUNDS = Number(process.env.BOOTSTRAP_RACE_PROCESS_ROUNDS ?? 3);
const AT_ONCE = 3;
const used: string[] = [];

afterAll(async () => {
  const kafka = new Kafka({ brokers: env.KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const topics = used.flatMap((id) => TOPIC_KINDS.map((k) => topicNames(`${id}.`)[k]));
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
  const db = new pg.Client({ connectionString: env.DATABASE_URL });
  await db.connect();
  for (const id of used) await db.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(id)} CASCADE`);
  await db.end();
});

describe('bootstrap run several times at once on fresh names', () => {
  it.each(Array.from({ length: ROUNDS }, (_, i) => i + 1))('round %i: every one of the concurrent bootstraps succeeds', async () => {
    const id = randomId('race');
    used.push(id);
    const config = isolatedConfig(env, id);
    const results = await Promise.allSettled(Array.from({ length: AT_ONCE }, () => bootstrap(config, createLogger({ level: 'silent', name: 'race' }))));
    for (const r of results) if (r.status === 'fulfilled') await r.value.close();
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error).message)] : []));
    expect(failures).toEqual([]);
    const ids = results.map((r) => (r.status === 'fulfilled' ? r.value.schemaIds : undefined));
    expect(new Set(ids.map((x) => JSON.stringify(x))).size, 'every bootstrap got the same schema IDs').toBe(1);
  });
});

/** An HTTP pass-through to `target` that holds requests until `parties` have arrived (or `maxWaitMs`). */
async function registryBarrier(target: string, parties: number, maxWaitMs = 120_000): Promise<{ url: string; server: Server }> {
  const held: Array<() => void> = [];
  let open = false;
  const release = () => {
    open = true;
    for (const go of held.splice(0)) go();
  };
  const timer = setTimeout(release, maxWaitMs);
  const forward = async (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !['host', 'content-length', 'connection'].includes(k)) headers[k] = v;
    try {
      const answer = await fetch(`${target}${req.url!.replace(/^\/registry/, '')}`, { method: req.method!, headers, ...(body.length > 0 ? { body: new Uint8Array(body) } : {}) });
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
      res.end(Buffer.from(await answer.arrayBuffer()));
    } catch {
      res.writeHead(502).end();
    }
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const go = () => void forward(req, res, Buffer.concat(chunks));
      if (open) return go();
      held.push(go);
      if (held.length >= parties) {
        clearTimeout(timer);
        release();
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  server.on('close', () => clearTimeout(timer));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/registry`, server };
}

describe('three full sets of processes started at once on fresh names', () => {
  it.each(Array.from({ length: PROCESS_ROUNDS }, (_, i) => i + 1))('round %i: every edge, consumers and admin process becomes ready', async () => {
    const id = randomId('race');
    used.push(id);
    const barrier = await registryBarrier(env.SCHEMA_REGISTRY_URL, AT_ONCE * 3);
    const shared = {
      KAFKA_BROKERS: env.KAFKA_BROKERS, SCHEMA_REGISTRY_URL: barrier.url, DATABASE_URL: env.DATABASE_URL,
      KAFKA_TOPIC_PREFIX: `${id}.`, DATABASE_SCHEMA: id, CONSUMER_GROUP_PREFIX: id, KAFKA_PARTITIONS: '3',
      MASTER_KEYS: TEST_MASTER_KEY, HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn', ADMIN_BOOTSTRAP_TOKEN: `adm_${id}_0123456789abcdef0123`,
    };
    const started: Array<{ proc: CliProcess; port: number }> = [];
    try {
      for (let set = 0; set < AT_ONCE; set++) {
        const [edge, consumers, admin] = [await freePort(), await freePort(), await freePort()];
        started.push({ proc: spawnCli(`edge#${set}`, ['edge'], { ...shared, EDGE_PORT: String(edge) }), port: edge });
        started.push({ proc: spawnCli(`consumers#${set}`, ['consumers'], { ...shared, CONSUMER_PORT: String(consumers) }), port: consumers });
        started.push({ proc: spawnCli(`admin#${set}`, ['admin', '--no-poller'], { ...shared, ADMIN_PORT: String(admin) }), port: admin });
      }
      const results = await Promise.allSettled(started.map(({ proc, port }) => proc.ready(port)));
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
      expect(failures).toEqual([]);
    } finally {
      const codes = await Promise.all(started.map(({ proc }) => proc.stop()));
      barrier.server.closeAllConnections();
      barrier.server.close();
      expect(codes.every((c) => c === 0), `every process exits cleanly on SIGTERM: ${codes.join(', ')}`).toBe(true);
    }
  }, 300_000);
});
