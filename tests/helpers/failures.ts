import { expect } from 'vitest';

/**
 * The error a promise rejects with, asserted to be an instance of `type`. A promise that
 * resolves fails the assertion (never a silently skipped catch block).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function rejectionOf<T extends Error>(promise: Promise<unknown>, type: abstract new (...args: any[]) => T): Promise<T> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(type);
  return err as T;
}
