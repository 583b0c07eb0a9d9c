// A small JSON Schema (2020-12 subset) checker for the keywords our OpenAPI document
// uses. Hand-rolled on purpose: the project has no JSON Schema validator dependency,
// and this subset is enough to hold the sandbox to its contract.

export type Schema = Record<string, unknown> | boolean;

export interface SchemaIssue {
  path: string;
  message: string;
}

const FORMATS: Record<string, (s: string) => boolean> = {
  'date-time': (s) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s)),
  email: (s) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(s),
  uri: (s) => {
    try {
      return Boolean(new URL(s).protocol);
    } catch {
      return false;
    }
  },
};

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(expected: string, actual: string): boolean {
  return expected === actual || (expected === 'number' && actual === 'integer');
}

export function resolvePointer(root: unknown, ref: string): Schema {
  if (!ref.startsWith('#/')) throw new Error(`only local $ref supported: ${ref}`);
  let node: unknown = root;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    node = (node as Record<string, unknown> | undefined)?.[key];
    if (node === undefined) throw new Error(`unresolvable $ref ${ref}`);
  }
  return node as Schema;
}

export function validateSchema(root: unknown, schema: Schema, value: unknown, path = '$'): SchemaIssue[] {
  if (schema === true) return [];
  if (schema === false) return [{ path, message: 'no value allowed here' }];
  const issues: SchemaIssue[] = [];
  const fail = (message: string): void => void issues.push({ path, message });
  const s = schema;

  if (typeof s.$ref === 'string') issues.push(...validateSchema(root, resolvePointer(root, s.$ref), value, path));
  checkType(s, value, fail);
  if (s.const !== undefined && JSON.stringify(s.const) !== JSON.stringify(value)) fail(`must be ${JSON.stringify(s.const)}`);
  if (Array.isArray(s.enum) && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) fail(`must be one of ${JSON.stringify(s.enum)}`);
  if (typeof value === 'string') checkString(s, value, fail);
  if (typeof value === 'number') checkNumber(s, value, fail);
  if (Array.isArray(value)) issues.push(...checkArray(root, s, value, path));
  if (typeOf(value) === 'object') issues.push(...checkObject(root, s, value as Record<string, unknown>, path));
  issues.push(...checkCombinators(root, s, value, path));
  return issues;
}

function checkType(s: Record<string, unknown>, value: unknown, fail: (m: string) => void): void {
  if (s.type === undefined) return;
  const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
  const actual = typeOf(value);
  if (!types.some((t) => typeMatches(t, actual))) fail(`must be ${types.join('|')}, got ${actual}`);
}

function checkString(s: Record<string, unknown>, v: string, fail: (m: string) => void): void {
  if (typeof s.minLength === 'number' && v.length < s.minLength) fail(`shorter than ${s.minLength}`);
  if (typeof s.maxLength === 'number' && v.length > s.maxLength) fail(`longer than ${s.maxLength}`);
  if (typeof s.pattern === 'string' && !new RegExp(s.pattern, 'u').test(v)) fail(`does not match ${s.pattern}`);
  const format = typeof s.format === 'string' ? FORMATS[s.format] : undefined;
  if (format && !format(v)) fail(`not a valid ${String(s.format)}`);
}

function checkNumber(s: Record<string, unknown>, v: number, fail: (m: string) => void): void {
  if (typeof s.minimum === 'number' && v < s.minimum) fail(`below minimum ${s.minimum}`);
  if (typeof s.maximum === 'number' && v > s.maximum) fail(`above maximum ${s.maximum}`);
  if (typeof s.exclusiveMinimum === 'number' && v <= s.exclusiveMinimum) fail(`must be > ${s.exclusiveMinimum}`);
}

function checkArray(root: unknown, s: Record<string, unknown>, v: unknown[], path: string): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  if (typeof s.minItems === 'number' && v.length < s.minItems) issues.push({ path, message: `fewer than ${s.minItems} items` });
  if (s.items !== undefined) v.forEach((item, i) => issues.push(...validateSchema(root, s.items as Schema, item, `${path}[${i}]`)));
  return issues;
}

function checkObject(root: unknown, s: Record<string, unknown>, v: Record<string, unknown>, path: string): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  const props = (s.properties ?? {}) as Record<string, Schema>;
  for (const key of (s.required ?? []) as string[]) if (!(key in v)) issues.push({ path, message: `missing required property ${key}` });
  for (const [key, val] of Object.entries(v)) {
    const sub = props[key];
    if (sub !== undefined) issues.push(...validateSchema(root, sub, val, `${path}.${key}`));
    else if (s.additionalProperties === false) issues.push({ path, message: `unexpected property ${key}` });
    else if (typeof s.additionalProperties === 'object') issues.push(...validateSchema(root, s.additionalProperties as Schema, val, `${path}.${key}`));
  }
  return issues;
}

function checkCombinators(root: unknown, s: Record<string, unknown>, v: unknown, path: string): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  for (const sub of (s.allOf ?? []) as Schema[]) issues.push(...validateSchema(root, sub, v, path));
  if (Array.isArray(s.anyOf) && !s.anyOf.some((sub: Schema) => validateSchema(root, sub, v, path).length === 0)) {
    issues.push({ path, message: 'matches none of anyOf' });
  }
  if (Array.isArray(s.oneOf)) {
    const results = s.oneOf.map((sub: Schema) => validateSchema(root, sub, v, path));
    const passing = results.filter((r) => r.length === 0).length;
    if (passing !== 1) {
      const closest = results.reduce((a, b) => (b.length < a.length ? b : a), results[0] ?? []);
      issues.push({ path, message: `must match exactly one of oneOf, matched ${passing}` }, ...(passing === 0 ? closest : []));
    }
  }
  return issues;
}
