/**
 * A THREE-node Kafka KRaft cluster of the drills' own (never the shared broker):
 * combined broker + controller nodes, a static 3-voter quorum, replication 3,
 * min.insync.replicas 2, small heaps. Ports BASE_PORT.. (node i: PLAINTEXT
 * BASE_PORT + 2(i-1), CONTROLLER BASE_PORT + 2(i-1) + 1); data in a temporary
 * directory deleted by destroy(). Nodes are our child processes, so a drill can
 * kill -9 one (`kill`) and start it again on the same data (`start`).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ensureKafkaLibs } from '../../scripts/stack/artifacts.js';
import { findJava } from '../../scripts/stack/java.js';
import { KAFKA_VERSION } from '../../scripts/stack/settings.js';

const HOST = '127.0.0.1';
export const BASE_PORT = Number(process.env.DRILL_KAFKA_BASE_PORT ?? 19192);
const NODES = [1, 2, 3] as const;

export interface KafkaCluster {
  brokers: string[];
  /** kill -9 node id (1..3). */
  kill(id: number): Promise<void>;
  start(id: number): void;
  /** Node id of the leader of a topic partition. */
  leaderOf(topic: string, partition: number): Promise<number>;
  waitHealthy(timeoutMs?: number): Promise<void>;
  destroy(): Promise<void>;
}

const port = (id: number, controller: boolean) => BASE_PORT + 2 * (id - 1) + (controller ? 1 : 0);

function properties(id: number, dataDir: string): string {
  return [
    'process.roles=broker,controller',
    `node.id=${id}`,
    `controller.quorum.voters=${NODES.map((n) => `${n}@${HOST}:${port(n, true)}`).join(',')}`,
    `listeners=PLAINTEXT://${HOST}:${port(id, false)},CONTROLLER://${HOST}:${port(id, true)}`,
    `advertised.listeners=PLAINTEXT://${HOST}:${port(id, false)}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${dataDir}`,
    'default.replication.factor=3',
    'min.insync.replicas=2',
    'offsets.topic.replication.factor=3',
    'offsets.topic.num.partitions=6',
    'transaction.state.log.replication.factor=3',
    'transaction.state.log.min.isr=2',
    'share.coordinator.state.topic.replication.factor=3',
    'share.coordinator.state.topic.min.isr=2',
    // A killed leader's replicas must not come back as leaders with lost writes.
    'unclean.leader.election.enable=false',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=false',
    '',
  ].join('\n');
}

const LOG4J2 = 'Configuration:\n  Appenders:\n    Console:\n      name: STDOUT\n      PatternLayout:\n        pattern: "[%d] %p %m (%c)%n"\n  Loggers:\n    Root:\n      level: WARN\n      AppenderRef:\n        - ref: STDOUT\n';

export async function startKafkaCluster(log: (msg: string) => void): Promise<KafkaCluster> {
  const libs = ensureKafkaLibs(log);
  const java = findJava(17, `Kafka ${KAFKA_VERSION}`);
  const root = mkdtempSync(join(tmpdir(), 'acme-drill-kafka-'));
  const log4j = join(root, 'log4j2.yaml');
  writeFileSync(log4j, LOG4J2);
  const clusterId = randomUUID().replace(/-/g, '').slice(0, 22);
  const classpath = `${libs}/*`;
  const props = new Map<number, string>();
  for (const id of NODES) {
    const dataDir = join(root, `node-${id}`);
    mkdirSync(dataDir, { recursive: true });
    const file = join(root, `node-${id}.properties`);
    writeFileSync(file, properties(id, dataDir));
    props.set(id, file);
    execFileSync(java.bin, ['-cp', classpath, `-Dlog4j2.configurationFile=${log4j}`, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', file], { stdio: 'pipe' });
  }
  const children = new Map<number, ChildProcess>();
  const start = (id: number) => {
    const out = openSync(join(root, `node-${id}.log`), 'a');
    children.set(id, spawn(java.bin, [
      '-Xms128m', '-Xmx384m', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-XX:TieredStopAtLevel=1', '-Djava.awt.headless=true',
      `-Dlog4j2.configurationFile=${log4j}`, '-cp', classpath, 'kafka.Kafka', props.get(id)!,
    ], { stdio: ['ignore', out, out] }));
  };
  const exit = (id: number, signal: NodeJS.Signals) => new Promise<void>((resolve) => {
    const child = children.get(id);
    if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
  const brokers = NODES.map((id) => `${HOST}:${port(id, false)}`);
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING, retry: { retries: 2 }, connectionTimeout: 1_000, requestTimeout: 5_000 }).admin();
  for (const id of NODES) start(id);
  // The nodes are not detached: if the drill's process dies (an uncaught error), they go with it.
  const reap = () => {
    for (const child of children.values()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', reap);
  // A signal ends Node without 'exit' handlers: reap first, then die of the same signal
  // (Ctrl-C or a killed test run left three JVMs holding ports 19192–19197 for the next run).
  const onSignal = (signal: NodeJS.Signals) => {
    reap();
    process.kill(process.pid, signal);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, onSignal);

  const cluster: KafkaCluster = {
    brokers,
    start,
    kill: (id) => exit(id, 'SIGKILL'),
    async leaderOf(topic, partition) {
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      return meta.topics[0]!.partitions.find((p) => p.partitionId === partition)!.leader;
    },
    async waitHealthy(timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const ok = await admin.connect().then(() => admin.describeCluster()).then((c) => c.brokers.length === NODES.length && c.controller !== null, () => false);
        if (ok) return;
        if (Date.now() > deadline) throw new Error(`drill Kafka cluster not healthy after ${timeoutMs} ms (logs in ${root})`);
        await new Promise((r) => setTimeout(r, 1_000));
      }
    },
    async destroy() {
      await admin.disconnect().catch(() => undefined);
      await Promise.all(NODES.map(async (id) => {
        const timer = setTimeout(() => children.get(id)?.kill('SIGKILL'), 20_000);
        await exit(id, 'SIGTERM');
        clearTimeout(timer);
      }));
      rmSync(root, { recursive: true, force: true });
      process.off('exit', reap);
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.off(signal, onSignal);
    },
  };
  try {
    await cluster.waitHealthy();
  } catch (err) {
    await cluster.destroy();
    throw err;
  }
  log(`  drill Kafka cluster (${KAFKA_VERSION}, 3 KRaft nodes) ready at ${brokers.join(',')}`);
  return cluster;
}
