/**
 * Running a built process: listen, and close it on SIGTERM/SIGINT (and on an uncaught
 * error, or when the process reports a failure) with close-with-grace — one
 * `app.close()` (the plugins release their resources in reverse order), bounded by
 * SHUTDOWN_GRACE_MS; past it, or on a second signal, the process exits 1. Exit code 0
 * only for a clean stop after a signal.
 */
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import { loadConfig, type Config } from '../config/index.js';
import { createLogger, type Logger } from '../logger.js';

export interface ServeOptions {
  /** The process in log lines: `<what> listening`, `<what> stopped`. */
  what: string;
  config: Config;
  logger: Logger;
  port: number;
  /** Rejects when the process can no longer do its work (a consumer runner gave up). */
  failed?: Promise<never>;
}

/** The validated config and a logger named after the process. */
export function processContext(name: string, quiet = false): { config: Config; logger: Logger } {
  const config = loadConfig();
  const level = quiet && config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL;
  return { config, logger: createLogger({ level, name }) };
}

export async function serve(app: FastifyInstance, options: ServeOptions): Promise<string> {
  const { logger } = options;
  let failure: unknown;
  const grace = closeWithGrace(
    {
      delay: options.config.SHUTDOWN_GRACE_MS,
      logger: { error: (msg: unknown) => logger.error({ err: msg instanceof Error ? msg : undefined }, msg instanceof Error ? 'shutdown failed' : String(msg)) },
      onSecondSignal: (signal) => logger.warn({ signal }, 'second signal: exiting now'),
    },
    async ({ signal, err }) => {
      if (signal) logger.info({ signal }, 'shutting down: finishing the work in hand');
      if (err) logger.fatal({ err }, 'shutting down after an uncaught error');
      await app.close();
      logger.info(`${options.what} stopped`);
      if (failure !== undefined) throw failure;
    },
  );
  options.failed?.catch((err: unknown) => {
    failure = err;
    logger.fatal({ err }, 'the process cannot go on: shutting down');
    void grace.close();
  });
  try {
    const address = await app.listen({ host: options.config.HTTP_HOST, port: options.port });
    logger.info({ address }, `${options.what} listening`);
    return address;
  } catch (err) {
    grace.uninstall();
    await app.close().catch(() => undefined);
    throw err;
  }
}
