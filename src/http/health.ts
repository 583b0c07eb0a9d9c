/**
 * /healthz and /readyz, the same on every process.
 *   /healthz  the process is alive (event loop answers): a liveness probe.
 *   /readyz   every dependency check passes within a timeout: a readiness probe;
 *             503 naming what is down otherwise (never a stack trace or a secret).
 * Each process passes its own checks (a check throws when its dependency is down).
 */
import type { FastifyInstance } from 'fastify';

export type ReadinessChecks = Readonly<Record<string, () => Promise<unknown>>>;

const statusSchema = { type: 'object', properties: { status: { type: 'string' } }, required: ['status'] } as const;
const readySchema = {
  type: 'object',
  properties: { status: { type: 'string', enum: ['ready', 'not_ready'] }, checks: { type: 'object', additionalProperties: { type: 'string' } } },
  required: ['status', 'checks'],
} as const;

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  promise.catch(() => undefined); // a late failure after the timeout is not unhandled
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function runChecks(checks: ReadinessChecks, timeoutMs: number): Promise<{ ready: boolean; checks: Record<string, string> }> {
  const results = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        await withTimeout(check(), timeoutMs, name);
        return [name, 'ok'] as const;
      } catch (err) {
        return [name, `down: ${(err as Error).message}`] as const;
      }
    }),
  );
  return { ready: results.every(([, r]) => r === 'ok'), checks: Object.fromEntries(results) };
}

export function registerHealthRoutes(app: FastifyInstance, checks: ReadinessChecks, options: { timeoutMs?: number } = {}): void {
  const timeoutMs = options.timeoutMs ?? 2_000;
  app.get('/healthz', { schema: { response: { 200: statusSchema } } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { response: { 200: readySchema, 503: readySchema } } }, async (_request, reply) => {
    const result = await runChecks(checks, timeoutMs);
    return reply.code(result.ready ? 200 : 503).send({ status: result.ready ? 'ready' : 'not_ready', checks: result.checks });
  });
}
