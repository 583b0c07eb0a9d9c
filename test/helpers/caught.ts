import type { AcmeSyncError } from '../../src/errors/index.js';

/** The error a promise rejects with (to assert on its code and context); a promise that resolves fails the test. */
export async function caught(p: Promise<unknown>): Promise<AcmeSyncError> {
  try {
    await p;
  } catch (err) {
    return err as AcmeSyncError;
  }
  throw new Error('expected a failure');
}
