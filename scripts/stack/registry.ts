/**
 * Apicurio Registry 3 from Maven Central, serving the Confluent-compatible API at
 * /apis/ccompat/v7. In-memory storage: our processes register their schemas at
 * start-up, so a restart loses nothing they need.
 */
import { ensureApicurio } from './artifacts.js';
import { findJava } from './java.js';
import { runningPid, startDetached, waitUntil } from './processes.js';
import { ADDRESSES, APICURIO_MIN_JAVA, APICURIO_VERSION, HOST, REGISTRY_MANAGEMENT_PORT, REGISTRY_PORT } from './settings.js';

export const REGISTRY = 'schema-registry';

export async function isRegistryHealthy(): Promise<boolean> {
  const res = await fetch(`${ADDRESSES.registry}/subjects`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
  return res?.ok === true;
}

/** Without a global rule Apicurio applies none; our contract is BACKWARD unless configured otherwise. */
async function setGlobalCompatibility(level: string): Promise<void> {
  const res = await fetch(`${ADDRESSES.registry}/config`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ compatibility: level }),
  });
  if (!res.ok) throw new Error(`setting the registry's global compatibility failed: ${res.status} ${await res.text()}`);
}

export async function startRegistry(log: (msg: string) => void): Promise<void> {
  if (await isRegistryHealthy()) {
    await setGlobalCompatibility(process.env.SCHEMA_COMPATIBILITY ?? 'BACKWARD');
    return log(`schema registry already running at ${ADDRESSES.registry}${runningPid(REGISTRY) === undefined ? ' (not started by this checkout)' : ''}`);
  }
  const home = ensureApicurio(log);
  const java = findJava(APICURIO_MIN_JAVA, `Apicurio Registry ${APICURIO_VERSION}`);
  if (runningPid(REGISTRY) === undefined) {
    startDetached({
      name: REGISTRY,
      command: java.bin,
      args: [
        '-Xms128m',
        '-Xmx512m',
        '-XX:+UseSerialGC',
        `-Dquarkus.http.host=${HOST}`,
        `-Dquarkus.http.port=${REGISTRY_PORT}`,
        // Apicurio always opens Quarkus' management interface (health, metrics); keep it on
        // loopback (its default is 0.0.0.0:9000) and on a port of its own per stack.
        `-Dquarkus.management.host=${HOST}`,
        `-Dquarkus.management.port=${REGISTRY_MANAGEMENT_PORT}`,
        // Look up a schema by its canonical form, as Confluent does, so re-registering
        // the same schema with different whitespace returns the existing ID.
        '-Dapicurio.ccompat.use-canonical-hash=true',
        '-Dquarkus.otel.sdk.disabled=true',
        '-jar',
        'quarkus-run.jar',
      ],
      cwd: home,
    });
  }
  await waitUntil(REGISTRY, isRegistryHealthy, 120_000);
  await setGlobalCompatibility(process.env.SCHEMA_COMPATIBILITY ?? 'BACKWARD');
  log(`Apicurio Registry ${APICURIO_VERSION} ready at ${ADDRESSES.registry} (Java ${java.major})`);
}
