/** Where the local stack lives and listens. Ports and versions can be overridden by env. */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const env = process.env;
const int = (key: string, def: number): number => {
  const raw = env[key];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${key} must be a port number, got ${JSON.stringify(raw)}`);
  return n;
};

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CACHE = env.STACK_CACHE_DIR ?? join(ROOT, '.cache', 'stack');

export const KAFKA_VERSION = env.STACK_KAFKA_VERSION ?? '4.1.1';
export const APICURIO_VERSION = env.STACK_APICURIO_VERSION ?? '3.3.3';
/** Apicurio 3.3 is compiled for Java 21+; Kafka 4 runs on 17+. */
export const APICURIO_MIN_JAVA = 21;

export const HOST = '127.0.0.1';
export const KAFKA_PORT = int('STACK_KAFKA_PORT', 9092);
export const KAFKA_CONTROLLER_PORT = int('STACK_KAFKA_CONTROLLER_PORT', 9093);
export const REGISTRY_PORT = int('STACK_REGISTRY_PORT', 8081);
export const REGISTRY_MANAGEMENT_PORT = int('STACK_REGISTRY_MANAGEMENT_PORT', 9000);
export const PG_PORT = int('STACK_PG_PORT', 5432);
export const PG_DATABASE = env.STACK_PG_DATABASE ?? 'acme_sync';

export const PATHS = {
  runDir: join(CACHE, 'run'),
  kafkaLibs: join(CACHE, `kafka-${KAFKA_VERSION}`, 'libs'),
  kafkaData: join(CACHE, 'kafka-data'),
  apicurioHome: join(CACHE, `apicurio-${APICURIO_VERSION}`),
  pom: join(ROOT, 'stack', 'pom.xml'),
};

export const ADDRESSES = {
  kafka: `${HOST}:${KAFKA_PORT}`,
  registry: `http://${HOST}:${REGISTRY_PORT}/apis/ccompat/v7`,
  database: `postgres://postgres@${HOST}:${PG_PORT}/${PG_DATABASE}`,
};

/** The environment the integration and the tests need to reach this stack. */
export function stackEnv(): Record<string, string> {
  return { KAFKA_BROKERS: ADDRESSES.kafka, SCHEMA_REGISTRY_URL: ADDRESSES.registry, DATABASE_URL: ADDRESSES.database };
}
