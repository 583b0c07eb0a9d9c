/**
 * Structured JSON logs (pino). Secrets are redacted by key wherever they appear,
 * so a token or key that reaches a log object by mistake prints as "[redacted]".
 */
import { pino, type Logger, type LoggerOptions } from 'pino';

export const REDACT_PATHS = [
  '*.password', '*.secret', '*.secrets', '*.token', '*.accessToken', '*.refreshToken', '*.access_token', '*.refresh_token',
  '*.apiKey', '*.api_key', '*.clientSecret', '*.client_secret', '*.authorization', '*.Authorization', '*.masterKeys', '*.MASTER_KEYS',
  'headers.authorization', 'req.headers.authorization', 'req.headers["x-api-key"]', '*.webhookSecret', '*.webhook_secret',
];

export function createLogger(options: { level: string; name: string; destination?: pino.DestinationStream }): Logger {
  const config: LoggerOptions = {
    name: options.name,
    level: options.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: options.name },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    serializers: { err: pino.stdSerializers.errWithCause },
  };
  return pino(config, options.destination ?? stdoutDestination());
}

/**
 * Standard output, written synchronously. pino's default (asynchronous) destination
 * flushes with sonic-boom's flushSync on process exit, and flushSync retries a failed
 * write forever unless the error is EAGAIN (sonic-boom 4.2, index.js flushSync): with
 * standard output a pipe whose reader has gone (a supervisor that died, a closed
 * terminal), a process told to stop never exited (seen: the edge after SIGTERM). A
 * synchronous write gets EPIPE at once, and pino then stops logging instead.
 */
function stdoutDestination(): pino.DestinationStream {
  return pino.destination({ dest: 1, sync: true });
}

export type { Logger };
