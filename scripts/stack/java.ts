/** Find a Java runtime of at least a given major version: JAVA_HOME, `java` on PATH, then /usr/lib/jvm. */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface JavaRuntime {
  bin: string;
  major: number;
}

function majorOfHome(home: string): number | undefined {
  const release = join(home, 'release');
  if (!existsSync(release)) return undefined;
  const m = /JAVA_VERSION="(\d+)(?:\.(\d+))?/.exec(readFileSync(release, 'utf8'));
  if (!m) return undefined;
  return m[1] === '1' ? Number(m[2]) : Number(m[1]);
}

function majorOfBin(bin: string): number | undefined {
  const res = spawnSync(bin, ['-version'], { encoding: 'utf8' });
  const m = /version "(\d+)(?:\.(\d+))?/.exec(res.stderr ?? '');
  if (!m) return undefined;
  return m[1] === '1' ? Number(m[2]) : Number(m[1]);
}

export function candidates(): JavaRuntime[] {
  const found: JavaRuntime[] = [];
  for (const home of [process.env.STACK_JAVA_HOME, process.env.JAVA_HOME].filter((h): h is string => Boolean(h))) {
    const major = majorOfHome(home);
    if (major !== undefined) found.push({ bin: join(home, 'bin', 'java'), major });
  }
  const onPath = majorOfBin('java');
  if (onPath !== undefined) found.push({ bin: 'java', major: onPath });
  if (existsSync('/usr/lib/jvm')) {
    for (const dir of readdirSync('/usr/lib/jvm')) {
      const home = join('/usr/lib/jvm', dir);
      const major = majorOfHome(home);
      if (major !== undefined && existsSync(join(home, 'bin', 'java'))) found.push({ bin: join(home, 'bin', 'java'), major });
    }
  }
  return found;
}

/** The first runtime (in the order above) that is new enough. */
export function findJava(minMajor: number, purpose: string): JavaRuntime {
  const all = candidates();
  const fit = all.find((j) => j.major >= minMajor);
  if (fit) return fit;
  const seen = all.map((j) => `${j.bin} (${j.major})`).join(', ') || 'none';
  throw new Error(`${purpose} needs Java ${minMajor} or newer; found ${seen}. Set STACK_JAVA_HOME to a JDK ${minMajor}+.`);
}
