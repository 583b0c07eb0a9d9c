// Loads schemas/acme-openapi.yaml and checks HTTP responses and webhook bodies against
// it. Exported so integration-side tests can hold their own fakes to the same contract.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { resolvePointer, validateSchema, type Schema, type SchemaIssue } from './json-schema.js';

export const CONTRACT_PATH = resolve(dirname(fileURLToPath(import.meta.url)), '../../../schemas/acme-openapi.yaml');

export type OpenApiDoc = Record<string, unknown> & { paths: Record<string, Record<string, unknown>> };

export interface ResponseCheck {
  method: string;
  url: string;
  status: number;
  body: string;
  contentType?: string | undefined;
}

export interface CheckResult {
  operation: string | null;
  issues: SchemaIssue[];
}

export interface ContractValidator {
  doc: OpenApiDoc;
  /** (method, path template) pairs, e.g. "GET /v1/contacts/{id}". */
  operations(): string[];
  matchOperation(method: string, url: string): string | null;
  checkResponse(res: ResponseCheck): CheckResult;
  checkSchema(name: string, value: unknown): SchemaIssue[];
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

export function loadContract(path: string = CONTRACT_PATH): OpenApiDoc {
  return parse(readFileSync(path, 'utf8')) as OpenApiDoc;
}

const deref = (doc: unknown, node: unknown): Record<string, unknown> => {
  let n = node as Record<string, unknown>;
  while (n && typeof n.$ref === 'string') n = resolvePointer(doc, n.$ref) as Record<string, unknown>;
  return n;
};

function templateRegex(template: string): RegExp {
  const body = template.split(/\{[^}]+\}/).map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&')).join('[^/]+');
  return new RegExp(`^${body}$`);
}

function pickResponse(responses: Record<string, unknown>, status: number): unknown {
  return responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default;
}

export function createContractValidator(doc: OpenApiDoc = loadContract()): ContractValidator {
  // Literal segments beat templated ones (/v1/contacts/x vs /v1/contacts/{id}).
  const templates = Object.keys(doc.paths).sort((a, b) => a.split('{').length - b.split('{').length);
  const matchers = templates.map((t) => ({ t, re: templateRegex(t) }));

  const matchOperation = (method: string, url: string): string | null => {
    const path = url.split('?')[0] ?? url;
    const m = matchers.find(({ t, re }) => re.test(path) && doc.paths[t]?.[method.toLowerCase()] !== undefined);
    return m ? `${method.toUpperCase()} ${m.t}` : null;
  };

  const checkResponse = (res: ResponseCheck): CheckResult => {
    const operation = matchOperation(res.method, res.url);
    if (!operation) return { operation, issues: [{ path: '$', message: `no operation for ${res.method} ${res.url}` }] };
    const template = operation.slice(operation.indexOf(' ') + 1);
    const op = doc.paths[template]?.[res.method.toLowerCase()] as { responses: Record<string, unknown> };
    const response = pickResponse(op.responses, res.status);
    if (!response) return { operation, issues: [{ path: '$', message: `status ${res.status} not documented for ${operation}` }] };
    const content = deref(doc, response).content as Record<string, { schema?: Schema }> | undefined;
    const schema = content?.['application/json']?.schema;
    if (!schema) return { operation, issues: res.body.length > 0 ? [{ path: '$', message: `undocumented body for ${res.status}` }] : [] };
    if (res.contentType && !res.contentType.includes('application/json')) return { operation, issues: [{ path: '$', message: `content-type ${res.contentType}` }] };
    let value: unknown;
    try {
      value = JSON.parse(res.body);
    } catch {
      return { operation, issues: [{ path: '$', message: 'body is not JSON' }] };
    }
    return { operation, issues: validateSchema(doc, schema, value) };
  };

  return {
    doc,
    operations: () => templates.flatMap((t) => METHODS.filter((m) => doc.paths[t]?.[m] !== undefined).map((m) => `${m.toUpperCase()} ${t}`)),
    matchOperation,
    checkResponse,
    checkSchema: (name, value) => validateSchema(doc, { $ref: `#/components/schemas/${name}` }, value),
  };
}
