/**
 * A promise with its settle functions outside: the VM resolves its hello, configuration, ready
 * and exit waits from message handlers and lifecycle steps that do not hold the promise.
 */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (err: Error) => void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Waits for `promise`, failing with `timeoutError()` after `ms` or with `abort`'s rejection
 * when it rejects first; leaves no timer behind (a stray timer keeps a process alive).
 */
export async function raceDeadline<T>(promise: Promise<T>, ms: number, timeoutError: () => Error, abort: Promise<never>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeoutError()), ms);
  });
  try {
    return await Promise.race([promise, timeout, abort]);
  } finally {
    clearTimeout(timer);
  }
}
