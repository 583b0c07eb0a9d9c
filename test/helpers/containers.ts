/**
 * The same stack from container images, for machines with a Docker engine. Images
 * match docker-compose.yml. Kafka advertises the host port it is published on, so
 * that port is chosen before the container starts.
 */
import { createServer } from 'node:net';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { PostgreSqlContainer } from '@testcontainers/postgresql';
import type { StackEnv } from './stack-env.js';

export const IMAGES = {
  kafka: 'apache/kafka:4.1.1',
  registry: 'apicurio/apicurio-registry:3.3.3',
  postgres: 'postgres:16-alpine',
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export async function startContainers(): Promise<{ env: StackEnv; stop: () => Promise<void> }> {
  const kafkaPort = await freePort();
  const started: StartedTestContainer[] = [];
  const [kafka, registry, postgres] = await Promise.all([
    new GenericContainer(IMAGES.kafka)
      .withExposedPorts({ container: 9092, host: kafkaPort })
      .withEnvironment({
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${kafkaPort}`,
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .start(),
    new GenericContainer(IMAGES.registry)
      .withExposedPorts(8080)
      .withEnvironment({ APICURIO_CCOMPAT_USE_CANONICAL_HASH: 'true' })
      .withWaitStrategy(Wait.forHttp('/apis/ccompat/v7/subjects', 8080).forStatusCode(200))
      .start(),
    new PostgreSqlContainer(IMAGES.postgres).withDatabase('acme_sync').withUsername('postgres').withPassword('postgres').start(),
  ]);
  started.push(kafka, registry, postgres);
  const registryUrl = `http://${registry.getHost()}:${registry.getMappedPort(8080)}/apis/ccompat/v7`;
  await fetch(`${registryUrl}/config`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ compatibility: 'BACKWARD' }) });
  return {
    env: { KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`, SCHEMA_REGISTRY_URL: registryUrl, DATABASE_URL: postgres.getConnectionUri(), source: 'testcontainers' },
    stop: async () => {
      await Promise.all(started.map((c) => c.stop()));
    },
  };
}
