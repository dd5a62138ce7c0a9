import { CancelledError, TimeoutError } from '../errors.js';
import { targetName, type CallTarget } from './messages.js';

/** Sleeps on a real timer; rejects with CancelledError as soon as `signal` aborts. */
export function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new CancelledError('The call was cancelled during a retry wait.'));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(new CancelledError('The call was cancelled during a retry wait.'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * One attempt under its own AbortSignal: aborted at `timeoutMs` (a TimeoutError; a caller's limit
 * when the call's deadline cut it short) or when the caller cancels, so the HTTP request really
 * ends. An attempt that ignores its signal is abandoned at that moment all the same.
 */
export async function runAttempt<T>(
  target: CallTarget,
  attempt: (signal: AbortSignal, attemptNumber: number) => Promise<T>,
  attemptNumber: number,
  callerSignal: AbortSignal | undefined,
  timeoutMs: number,
  cappedByDeadline: boolean,
): Promise<T> {
  const controller = new AbortController();
  const aborted = new Promise<never>((_resolve, reject) => {
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
  });
  const onCallerAbort = () => controller.abort(new CancelledError());
  if (callerSignal?.aborted) onCallerAbort();
  else callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
  const timer = setTimeout(() => {
    controller.abort(
      cappedByDeadline
        ? new TimeoutError(`Attempt ${attemptNumber} to ${targetName(target)} was stopped at the call's deadline after ${timeoutMs} ms.`, {
            callerLimit: true,
          })
        : new TimeoutError(`Attempt ${attemptNumber} to ${targetName(target)} timed out after ${timeoutMs} ms.`),
    );
  }, Math.max(0, timeoutMs));
  try {
    const work = Promise.resolve().then(() => attempt(controller.signal, attemptNumber));
    return await Promise.race([work, aborted]);
  } catch (err) {
    // Whatever the attempt threw once its signal fired (an AbortError, a network error…),
    // the reason is the timeout or the cancellation.
    if (controller.signal.aborted) throw controller.signal.reason;
    throw err;
  } finally {
    clearTimeout(timer);
    callerSignal?.removeEventListener('abort', onCallerAbort);
  }
}
