import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { schemaKey } from '../../src/db/advisory.js';

// Regression: the outbox relay's lane locks used one fixed key for every schema, so a relay of
// another schema in the same database held every lane (a flaky outbox test; another
// environment sharing the database would have stalled publishing). The class is any advisory
// lock whose key leaves out the schema; checked over every source file, so a lock added later
// is covered too. src/db/ itself is exempt: the migration lock is taken before the schema
// exists and names it in its key explicitly.
const SRC = new URL('../../src/', import.meta.url).pathname;
const ADVISORY_CALL = /pg_(?:try_)?advisory_(?:xact_)?(?:un)?lock(?:_shared)?\s*\(/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** The SQL literal around each advisory-lock call, comments left out (a backtick template, or the quoted string when it is not one). */
function advisoryStatements(source: string): string[] {
  const text = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const statements: string[] = [];
  for (const m of text.matchAll(ADVISORY_CALL)) {
    const line = text.slice(text.lastIndexOf('\n', m.index) + 1, text.indexOf('\n', m.index));
    const open = text.lastIndexOf('`', m.index);
    const close = text.indexOf('`', m.index);
    const inTemplate = open >= 0 && close >= 0 && (text.slice(0, open).split('`').length - 1) % 2 === 0;
    statements.push(inTemplate ? text.slice(open, close + 1) : line);
  }
  return statements;
}

/** The interpolated expression is schemaKey(...) itself, or a constant of this file initialised with it. */
function fromSchemaKey(text: string, expr: string): boolean {
  if (expr.startsWith('schemaKey(')) return true;
  if (!/^[A-Za-z_$][\w$]*$/.test(expr)) return false;
  const init = new RegExp(`const ${expr.replace(/\$/g, '\\$')}\\s*=\\s*([^;]*);`).exec(text)?.[1];
  return init !== undefined && init.trim().startsWith('schemaKey(');
}

describe('advisory locks', () => {
  it('hash every key with the schema the connection works in', () => {
    expect(schemaKey('$1')).toBe("hashtext(current_schema() || ':' || $1)");
  });

  it('take every key in src/ from schemaKey (no raw hashtext, no bare constant), outside src/db', () => {
    const offenders: string[] = [];
    let calls = 0;
    for (const file of sourceFiles(SRC).filter((f) => !relative(SRC, f).startsWith('db/'))) {
      const text = readFileSync(file, 'utf8');
      for (const statement of advisoryStatements(text)) {
        calls++;
        // Schema-scoped: the statement interpolates its key (built with schemaKey in this file)
        // and hashes nothing on its own; a quoted string or a bare constant cannot be.
        const scoped = [...statement.matchAll(/\$\{([^}]*)\}/g)].some(([, expr]) => fromSchemaKey(text, expr!.trim())) && !statement.includes('hashtext(');
        if (!scoped) offenders.push(`${relative(SRC, file)}: ${statement.trim().slice(0, 100)}`);
      }
    }
    expect(calls).toBeGreaterThanOrEqual(6); // the relay's lanes, history (4), contacts (2), OAuth refresh (2): the scan sees them
    expect(offenders).toEqual([]);
  });
});
