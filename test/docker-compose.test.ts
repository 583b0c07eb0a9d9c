import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { IMAGES } from './helpers/containers.js';
import { SETTINGS } from '../src/config/index.js';
import { createCli } from '../src/main.js';
import { projectPath } from '../src/paths.js';
import { MIGRATIONS_DIR } from '../src/db/index.js';

const root = new URL('../', import.meta.url);
// merge: compose resolves YAML merge keys (<<: *integration-env), so must we.
const compose = parse(readFileSync(new URL('docker-compose.yml', root), 'utf8'), { merge: true }) as {
  services: Record<string, { image?: string; build?: unknown; command?: string[]; ports?: string[]; environment?: Record<string, string>; volumes?: string[] }>;
};
const readme = readFileSync(new URL('README.md', root), 'utf8');

describe('docker-compose.yml', () => {
  it('runs the same stack as the local one: Kafka (KRaft), a registry, PostgreSQL, Prometheus and Grafana, plus the integration', () => {
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['kafka', 'schema-registry', 'postgres', 'prometheus', 'grafana', 'init']));
    expect(compose.services.kafka?.environment?.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(compose.services.init?.build).toBe('.');
  });

  it('uses the images the testcontainers set-up uses', () => {
    expect(compose.services.kafka?.image).toBe(IMAGES.kafka);
    expect(compose.services['schema-registry']?.image).toBe(IMAGES.registry);
    expect(compose.services.postgres?.image).toBe(IMAGES.postgres);
  });

  it('publishes every host port the README lists, on the service the README names', () => {
    const table = readme.slice(readme.indexOf('| service | host port |'));
    const rows = [...table.matchAll(/^\| ([a-z-]+) \| (\d+) \|$/gm)].map((m) => [m[1]!, m[2]!] as const);
    expect(rows.length).toBeGreaterThanOrEqual(5);
    for (const [service, port] of rows) {
      const published = (compose.services[service]?.ports ?? []).map((p) => p.split(':')[0]);
      expect(published, service).toContain(port);
    }
  });

  const integration = Object.entries(compose.services).filter(([, s]) => s.build === '.');

  it('runs each integration process with a command the CLI has', () => {
    const commands = createCli().commands.map((c) => c.name());
    expect(integration.map(([name]) => name).sort()).toEqual(['admin', 'consumers', 'edge', 'init']);
    for (const [name, service] of integration) expect(commands, name).toContain(service.command?.[0]);
  });

  it('passes the integration only settings it knows, and every variable the README tells users to set', () => {
    for (const [name, service] of integration) {
      const env = service.environment ?? {};
      for (const key of Object.keys(env)) expect(Object.keys(SETTINGS), `${name}: ${key}`).toContain(key);
      for (const key of ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'DATABASE_URL', 'MASTER_KEYS']) expect(env, `${name}: ${key}`).toHaveProperty(key);
    }
    expect(readme).toContain('export MASTER_KEYS=');
  });

  it('has Prometheus scrape every integration process where compose publishes it', () => {
    const prometheus = parse(readFileSync(new URL('ops/prometheus/prometheus.yml', root), 'utf8')) as { scrape_configs: { static_configs: { targets: string[] }[] }[] };
    const targets = prometheus.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets)).filter((t) => !t.startsWith('localhost'));
    expect(targets.sort()).toEqual(['admin:3001', 'consumers:3002', 'edge:3000']);
    for (const target of targets) {
      const [host, port] = target.split(':');
      expect(compose.services[host!]?.ports?.map((p) => p.split(':')[1]), target).toContain(port);
    }
  });

  it('ships in the image what the compiled code reads at run time, found from the project root', () => {
    const runtimeStage = readFileSync(new URL('Dockerfile', root), 'utf8').split(/^FROM /m).at(-1)!;
    for (const dir of ['schemas', 'migrations', 'package.json']) expect(runtimeStage, dir).toMatch(new RegExp(`^COPY ${dir}\\b`, 'm'));
    expect(existsSync(projectPath('schemas', 'avro', 'calendar-event.avsc'))).toBe(true);
    expect(existsSync(MIGRATIONS_DIR)).toBe(true);
  });

  it('mounts only files that exist in the repository, and the Dockerfile copies only what exists', () => {
    for (const service of Object.values(compose.services)) {
      for (const volume of service.volumes ?? []) expect(existsSync(new URL(volume.split(':')[0]!, root)), volume).toBe(true);
    }
    const dockerfile = readFileSync(new URL('Dockerfile', root), 'utf8');
    for (const [, src] of dockerfile.matchAll(/^COPY (?!--from)(\S+)/gm)) expect(existsSync(new URL(src!, root)), src).toBe(true);
  });
});
