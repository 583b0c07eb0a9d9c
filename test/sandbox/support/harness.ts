// Test harness: an in-process sandbox plus helpers that send requests with fastify.inject
// and hold every response to the OpenAPI contract.

import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { createContractValidator, type ContractValidator } from '../../../sandbox/src/contract/contract.js';
import { createSandbox, type Sandbox, type SandboxOptions } from '../../../sandbox/src/index.js';

export const contract: ContractValidator = createContractValidator();

/** Operations whose responses were checked, for the coverage test. */
export const coveredOperations = new Set<string>();

export interface Harness {
  sb: Sandbox;
  accountId: string;
  apiKey: string;
  userId: string;
  contactId: string;
  /** inject + contract check; auth with the account's API key unless headers say otherwise. */
  call(opts: InjectOptions & { url: string; method: string }, auth?: string | null): Promise<LightMyRequestResponse>;
}

export function checkContract(method: string, url: string, res: LightMyRequestResponse): void {
  const result = contract.checkResponse({ method, url, status: res.statusCode, body: res.body, contentType: res.headers['content-type'] as string | undefined });
  if (result.operation) coveredOperations.add(result.operation);
  expect(result.issues, `${method} ${url} -> ${res.statusCode} ${res.body.slice(0, 300)}`).toEqual([]);
}

export async function createHarness(options: SandboxOptions = {}): Promise<Harness> {
  const sb = createSandbox({ rateLimit: null, ...options });
  const { account, api_key } = sb.provisionAccount({ name: 'Harness Inc' });
  const user = sb.store.createUser(account.id, { name: 'Rita Rep', email: 'rita@acme.test', time_zone: 'Europe/Berlin' });
  const contact = sb.store.create('contact', account.id, { first_name: 'Carl', last_name: 'Customer', email: 'carl@example.com', phone: '+49 30 1234', company: 'Customer GmbH' });
  const call: Harness['call'] = async (opts, auth = api_key) => {
    const headers = { ...(auth ? { authorization: `Bearer ${auth}` } : {}), ...(opts.headers ?? {}) };
    const res = await sb.app.inject({ ...opts, headers });
    checkContract(opts.method, opts.url, res);
    return res;
  };
  return { sb, accountId: account.id, apiKey: api_key, userId: user.id, contactId: contact.id, call };
}

export function appointmentInput(h: Harness, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    owner_user_id: h.userId,
    contact_id: h.contactId,
    title: 'Demo',
    starts_at: '2025-03-04T09:00:00Z',
    ends_at: '2025-03-04T10:00:00Z',
    ...overrides,
  };
}
