/**
 * Resolve the stack's Java artifacts from Maven Central with Maven itself, into
 * .cache/stack (git-ignored). Maven's own ~/.m2 makes the second run offline.
 * The dependency plugin's version is named: Maven 3.8 otherwise picks a very old one.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { APICURIO_VERSION, KAFKA_VERSION, PATHS } from './settings.js';

const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';

function mvn(args: string[], what: string): void {
  const res = spawnSync('mvn', ['-B', '-q', ...args], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (res.error) throw new Error(`Maven is needed to fetch ${what}: ${res.error.message}`);
  if (res.status !== 0) throw new Error(`Maven could not fetch ${what}:\n${(res.stdout + res.stderr).slice(-4000)}`);
}

export function ensureKafkaLibs(log: (msg: string) => void): string {
  const stamp = join(PATHS.kafkaLibs, '.complete');
  if (existsSync(stamp)) return PATHS.kafkaLibs;
  log(`fetching Apache Kafka ${KAFKA_VERSION} and its runtime dependencies from Maven Central...`);
  rmSync(PATHS.kafkaLibs, { recursive: true, force: true });
  mkdirSync(PATHS.kafkaLibs, { recursive: true });
  mvn(['-f', PATHS.pom, `-Dkafka.version=${KAFKA_VERSION}`, `${DEPENDENCY_PLUGIN}:copy-dependencies`, '-DincludeScope=runtime', `-DoutputDirectory=${PATHS.kafkaLibs}`], `Kafka ${KAFKA_VERSION}`);
  const jars = readdirSync(PATHS.kafkaLibs);
  if (!jars.some((j) => j.startsWith(`kafka_2.13-${KAFKA_VERSION}`))) throw new Error(`Kafka jar missing after Maven ran in ${PATHS.kafkaLibs}`);
  writeFileSync(stamp, new Date().toISOString());
  return PATHS.kafkaLibs;
}

export function ensureApicurio(log: (msg: string) => void): string {
  const home = PATHS.apicurioHome;
  if (existsSync(join(home, 'quarkus-run.jar'))) return home;
  log(`fetching Apicurio Registry ${APICURIO_VERSION} from Maven Central...`);
  const download = join(home, '..', `apicurio-download-${APICURIO_VERSION}`);
  rmSync(download, { recursive: true, force: true });
  mkdirSync(download, { recursive: true });
  mvn([`${DEPENDENCY_PLUGIN}:copy`, `-Dartifact=io.apicurio:apicurio-registry-app:${APICURIO_VERSION}:tar.gz:all`, `-DoutputDirectory=${download}`], `Apicurio Registry ${APICURIO_VERSION}`);
  const tarball = join(download, `apicurio-registry-app-${APICURIO_VERSION}-all.tar.gz`);
  rmSync(home, { recursive: true, force: true });
  mkdirSync(home, { recursive: true });
  execFileSync('tar', ['xzf', tarball, '-C', home]);
  rmSync(download, { recursive: true, force: true });
  if (!existsSync(join(home, 'quarkus-run.jar'))) throw new Error(`quarkus-run.jar missing after unpacking ${tarball}`);
  return home;
}
