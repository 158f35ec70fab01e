// Awaits a promise that must be refused with a PrepPushError, and returns that error for assertions.
import { PrepPushError } from '../../src/core/errors.js';

export async function rejectionOf(promise: Promise<unknown>): Promise<PrepPushError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PrepPushError) return error;
    throw new Error(`expected a PrepPushError, got ${String(error)}`);
  }
  throw new Error('expected the call to be refused, but it succeeded');
}
