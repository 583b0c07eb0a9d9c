/**
 * Files the code reads at run time (Avro schemas, SQL migrations) live at the project
 * root. The root is found by walking up to package.json, so the same code works when
 * run from src/ with tsx and from dist/src/ after `tsc` (the Docker image).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'schemas'))) return dir;
    if (dirname(dir) === dir) throw new Error(`No project root (package.json with schemas/) above ${start}`);
  }
}

export const PROJECT_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
export const projectPath = (...parts: string[]): string => join(PROJECT_ROOT, ...parts);
