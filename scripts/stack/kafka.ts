/**
 * One Apache Kafka broker in KRaft mode (broker + controller in one JVM), started
 * from the Maven Central jars with the same main classes the distribution's
 * scripts run: `kafka.tools.StorageTool format --standalone`, then `kafka.Kafka`.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ensureKafkaLibs } from './artifacts.js';
import { findJava } from './java.js';
import { runningPid, startDetached, waitUntil } from './processes.js';
import { ADDRESSES, CACHE, HOST, KAFKA_CONTROLLER_PORT, KAFKA_PORT, KAFKA_VERSION, PATHS } from './settings.js';

export const KAFKA = 'kafka';

function serverProperties(): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.bootstrap.servers=${HOST}:${KAFKA_CONTROLLER_PORT}`,
    `listeners=PLAINTEXT://${HOST}:${KAFKA_PORT},CONTROLLER://${HOST}:${KAFKA_CONTROLLER_PORT}`,
    `advertised.listeners=PLAINTEXT://${HOST}:${KAFKA_PORT}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${PATHS.kafkaData}`,
    'num.partitions=6',
    // One broker: every internal topic has one replica.
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=12',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    // Tests create groups constantly; don't wait 3 s for more members to join.
    'group.initial.rebalance.delay.ms=0',
    // Topics are created by the integration at start-up with their configs; a typo must fail.
    'auto.create.topics.enable=false',
    'log.cleaner.backoff.ms=5000',
    '',
  ].join('\n');
}

const LOG4J2 = `Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Logger:
      - name: kafka
        level: WARN
      - name: org.apache.kafka
        level: WARN
      - name: kafka.server.KafkaRaftServer
        level: INFO
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
`;

function writeConfigs(): { properties: string; log4j: string } {
  mkdirSync(CACHE, { recursive: true });
  const properties = join(CACHE, 'kafka-server.properties');
  const log4j = join(CACHE, 'kafka-log4j2.yaml');
  writeFileSync(properties, serverProperties());
  writeFileSync(log4j, LOG4J2);
  return { properties, log4j };
}

export async function isKafkaHealthy(): Promise<boolean> {
  const admin = new Kafka({ brokers: [ADDRESSES.kafka], logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 1_000, requestTimeout: 3_000 }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0 && cluster.controller !== null;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export async function startKafka(log: (msg: string) => void): Promise<void> {
  // Already answering (ours, another checkout's, or docker compose's): use it as it is.
  if (await isKafkaHealthy()) return log(`Kafka already running at ${ADDRESSES.kafka}${runningPid(KAFKA) === undefined ? ' (not started by this checkout)' : ''}`);
  const libs = ensureKafkaLibs(log);
  const java = findJava(17, `Kafka ${KAFKA_VERSION}`);
  const { properties, log4j } = writeConfigs();
  const classpath = `${libs}/*`;
  if (!existsSync(join(PATHS.kafkaData, 'meta.properties'))) {
    mkdirSync(PATHS.kafkaData, { recursive: true });
    execFileSync(java.bin, ['-cp', classpath, `-Dlog4j2.configurationFile=${log4j}`, 'kafka.tools.StorageTool', 'format', '--standalone', '-t', randomUUID().replace(/-/g, '').slice(0, 22), '-c', properties], { stdio: 'pipe' });
  }
  if (runningPid(KAFKA) === undefined) {
    startDetached({
      name: KAFKA,
      command: java.bin,
      // Bounded heap: this box has 2 cores and shares them with the tests.
      args: ['-Xms256m', '-Xmx768m', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-Djava.awt.headless=true', `-Dlog4j2.configurationFile=${log4j}`, '-cp', classpath, 'kafka.Kafka', properties],
      cwd: CACHE,
    });
  }
  await waitUntil(KAFKA, isKafkaHealthy, 90_000);
  log(`Kafka ${KAFKA_VERSION} (KRaft, 1 broker) ready at ${ADDRESSES.kafka}`);
}
