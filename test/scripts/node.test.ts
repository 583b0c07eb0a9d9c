/**
 * The project runs on Node 24 (issue 13: Node 20 reached end of life). scripts/node.sh,
 * which `npm start`, `npm test`, `.ci/run` and every npm script go through, must put a
 * Node that satisfies `engines` first on PATH when the machine's is older, and leave a
 * new enough one alone. The machine's Node is played by a shim that reports an old
 * version and otherwise runs the real one (so npm still works for the download).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli-process.js';

const script = readFileSync(join(ROOT, 'scripts/node.sh'), 'utf8');
const pinnedMajor = Number(/^PROJECT_NODE_VERSION=(\d+)\./m.exec(script)?.[1]);
const engines = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;

function nodeBehindShim(reportedMajor: number): { version: string; path: string; options: string } {
  const dir = mkdtempSync(join(tmpdir(), 'old-node-'));
  writeFileSync(join(dir, 'node'), `#!/bin/sh\nif [ "$1" = "-p" ]; then echo ${reportedMajor}; else exec "${process.execPath}" "$@"; fi\n`);
  chmodSync(join(dir, 'node'), 0o755);
  const out = execFileSync('bash', ['scripts/node.sh', 'bash', '-c', 'command -v node; node -e "console.log(process.versions.node)"; echo "$NODE_OPTIONS"'], {
    cwd: ROOT,
    env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, NODE_OPTIONS: '' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  const [path = '', version = '', options = ''] = out.trim().split('\n');
  return { path, version, options };
}

describe('scripts/node.sh', () => {
  it('pins the same major as package.json engines', () => {
    expect(engines).toBe(`>=${pinnedMajor}`);
    expect(pinnedMajor).toBeGreaterThanOrEqual(24);
  });

  it('puts its own Node first on PATH when the machine has an older one', () => {
    const { path, version } = nodeBehindShim(pinnedMajor - 4);
    expect(path).toBe(join(ROOT, `.cache/node/${/^PROJECT_NODE_VERSION=(\S+)/m.exec(script)?.[1]}/bin/node`));
    expect(Number(version.split('.')[0])).toBe(pinnedMajor);
  }, 120_000);

  it('leaves a new enough Node alone', () => {
    const { path } = nodeBehindShim(pinnedMajor);
    expect(path).not.toContain('.cache/node');
  });

  it("silences only kafkajs' negative-timeout warning on that Node", () => {
    expect(nodeBehindShim(pinnedMajor - 4).options).toBe('--disable-warning=TimeoutNegativeWarning');
  }, 120_000);
});
