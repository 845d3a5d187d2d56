/**
 * When a persistent execution that crashed or failed to start is started again: not at all for
 * failures about the message itself (a restart loop would only spin), else after a delay that
 * doubles with each consecutive failure (1 s, 2 s, 4 s…) up to a maximum. The scheduler holds
 * the pending timers and failure counts per ref; the supervisor decides whether a ref still
 * wants to run, both when scheduling and when the timer fires.
 */
import { backoffMs, type HttpError } from '@aleph-nodes/service';

export function isHttpError(err: unknown): err is HttpError {
  return err instanceof Error && err.name === 'HttpError';
}

/** Errors about the message itself: retrying cannot help, a restart loop would only spin. */
const PERMANENT_ERRORS: ReadonlySet<string> = new Set(['UNSUPPORTED_WORKLOAD', 'NOT_EXECUTABLE', 'INVALID_IMAGE', 'UNSAFE_PATH', 'MESSAGE_RETIRED']);

export function isPermanentFailure(err: unknown): boolean {
  return isHttpError(err) && PERMANENT_ERRORS.has(err.code);
}

/** Delay before restart attempt `attempts` (1-based). */
export function restartDelayMs(attempts: number, maxSeconds: number): number {
  return backoffMs(attempts, { baseMs: 1000, maxMs: maxSeconds * 1000 });
}

export class RestartScheduler {
  readonly #timers = new Map<string, NodeJS.Timeout>();
  /** Consecutive failures per ref, until it runs again. */
  readonly #attempts = new Map<string, number>();

  /** True while a restart of `ref` waits for its timer. */
  pending(ref: string): boolean {
    return this.#timers.has(ref);
  }

  /** Counts a failure of `ref` and calls `restart` after the backoff delay (the timer does not keep the process alive). */
  schedule(ref: string, maxSeconds: number, restart: (attempts: number) => void): void {
    const attempts = (this.#attempts.get(ref) ?? 0) + 1;
    this.#attempts.set(ref, attempts);
    const timer = setTimeout(() => {
      this.#timers.delete(ref);
      restart(attempts);
    }, restartDelayMs(attempts, maxSeconds));
    timer.unref();
    this.#timers.set(ref, timer);
  }

  /** `ref` runs: its next failure starts the backoff again from the shortest delay. */
  succeeded(ref: string): void {
    this.#attempts.delete(ref);
  }

  /** Drops a pending restart of `ref` (stopped, deallocated, forgotten). */
  cancel(ref: string): void {
    const timer = this.#timers.get(ref);
    if (timer) clearTimeout(timer);
    this.#timers.delete(ref);
  }

  cancelAll(): void {
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }
}
