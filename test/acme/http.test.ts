import { describe, expect, it } from 'vitest';
import { ERROR_CODES, TransientError } from '../../src/errors/index.js';
import { classify, retryAfterMs, scrub } from '../../src/acme/http.js';
import { authorizeUrl } from '../../src/acme/oauth.js';

const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => ({ status, body, headers: new Headers(headers), ref: 'acr_test' });

describe('classifying Acme answers', () => {
  it('makes 429 a transient ACME_RATE_LIMITED that waits Retry-After', () => {
    const { error, outcome } = classify(answer(429, { error: { code: 'rate_limited', message: 'slow down' } }, { 'retry-after': '3' }), 'list_contact', 'poll', 0);
    expect(outcome).toBe('rate_limited');
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ code: ERROR_CODES.ACME_RATE_LIMITED, retryAfterMs: 3000, stage: 'poll' });
  });

  it.each([
    [500, 'server_error', true, ERROR_CODES.ACME_UNAVAILABLE],
    [503, 'server_error', true, ERROR_CODES.ACME_UNAVAILABLE],
    [404, 'not_found', false, ERROR_CODES.ACME_NOT_FOUND],
    [401, 'auth_failed', false, ERROR_CODES.ACME_AUTH_FAILED],
    [403, 'auth_failed', false, ERROR_CODES.ACME_AUTH_FAILED],
    [400, 'client_error', false, ERROR_CODES.ACME_BAD_RESPONSE],
    [422, 'client_error', false, ERROR_CODES.ACME_BAD_RESPONSE],
  ])('makes %i a %s (retriable: %s)', (status, outcome, retriable, code) => {
    const c = classify(answer(status, { error: { code: 'x', message: 'y' } }), 'get_contact', 'enrich', 0);
    expect(c.outcome).toBe(outcome);
    expect(c.error).toMatchObject({ retriable, code, stage: 'enrich' });
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': '1.5' }), 0)).toBe(1500);
    expect(retryAfterMs(new Headers({ 'retry-after': new Date(10_000).toUTCString() }), 4_000)).toBe(6_000);
    expect(retryAfterMs(new Headers(), 0)).toBeUndefined();
  });

  it('keeps credentials that Acme echoes out of error messages', () => {
    const { error } = classify(answer(400, { error: { code: 'bad', message: 'key ak_live_123 and token at_abc and rt_def, secret whsec_Zm9v' } }), 'list_user', 'poll', 0);
    expect(error.message).not.toMatch(/ak_live_123|at_abc|rt_def|whsec_Zm9v/);
    expect(scrub('Bearer at_xyz')).toBe('Bearer at_[redacted]');
  });

  it('builds the authorize URL with client, redirect URI and state', () => {
    const url = new URL(authorizeUrl({ baseUrl: 'https://acme.example/', clientId: 'cli_1', redirectUri: 'https://us.example/oauth/callback', state: 's1' }));
    expect(url.pathname).toBe('/oauth/authorize');
    expect(Object.fromEntries(url.searchParams)).toEqual({ response_type: 'code', client_id: 'cli_1', redirect_uri: 'https://us.example/oauth/callback', state: 's1' });
  });
});
