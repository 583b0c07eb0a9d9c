/**
 * @platformatic/kafka, loaded when first used. It is a devDependency while the adapter is
 * measurement-only (issue 14): the production image (`npm ci --omit=dev`, Dockerfile) does
 * not have it, so nothing in the adapter imports it statically — with kafkajs selected
 * (the default) the package is never loaded, and KAFKA_CLIENT=platformatic without it
 * fails at connect with a message that says why.
 */
import { ERROR_CODES, PermanentError } from '../../errors/index.js';

export type Library = typeof import('@platformatic/kafka');

let loading: Promise<Library> | undefined;

export function loadLibrary(): Promise<Library> {
  loading ??= import('@platformatic/kafka').catch((err: unknown) => {
    loading = undefined;
    throw new PermanentError('KAFKA_CLIENT=platformatic needs the @platformatic/kafka package, a devDependency while that client is measurement-only (issue 14); install the dev dependencies or use KAFKA_CLIENT=kafkajs', {
      code: ERROR_CODES.CONFIG_INVALID, stage: 'config', cause: err,
    });
  });
  return loading;
}

/** Protocol constants, here so that code which only needs them does not load the library. */
export const PRODUCE_ACKS_ALL = -1; // ProduceAcks.ALL
export const READ_COMMITTED = 1; // FetchIsolationLevels.READ_COMMITTED
export const EARLIEST = -2n; // ListOffsetTimestamps.EARLIEST
export const LATEST = -1n; // ListOffsetTimestamps.LATEST
/** The control bit of a record batch's attributes (transaction markers): protocol/records.js IS_CONTROL. */
export const IS_CONTROL = 0x20;
