/**
 * The one lifecycle primitive of the daemons' background work (message processing, scheduling,
 * pushes, probes, payments, sync, watches): a loop of ROUNDS that never overlap.
 *
 * States and the only transitions allowed (anything else throws a LoopStateError, so a node that
 * starts a loop twice or restarts a stopped one fails loudly instead of running two workers):
 *
 *   idle ──start()──▶ running ──stop()──▶ stopping ──(round in flight ended)──▶ stopped
 *     └───────────────────stop()──────────────────────────────────────────────────▲
 *
 * `stop()` is idempotent (close paths call it from several places) and resolves once the round
 * in flight has ended: after it, no round runs and no timer is armed, so what the rounds use (a
 * database, a socket) can be closed.
 *
 * When rounds run:
 * - at `start()` (after `initialDelayMs`, 0 by default);
 * - after a round, once the delay it returned has passed, else `intervalMs` (none: only on trigger);
 * - on `trigger()`: at once when the loop waits; when a round is in flight, exactly ONE more round
 *   runs after it however many triggers arrived (coalesced), and the pending delay is dropped;
 * - after a round that threw: the error is logged (structured: loop name, failures in a row, next
 *   try) and the next round waits the back-off of the failures in a row (backoff.ts), unless a
 *   trigger comes first. A round that succeeds resets the count.
 * The timer is unref'd: a loop alone never keeps a process alive.
 */
import { backoffMs, type Backoff } from './backoff.ts';
import type { Logger } from './logger.ts';

export type LoopState = 'idle' | 'running' | 'stopping' | 'stopped';

/** The transitions a loop may take (the module comment draws them). */
export const LOOP_TRANSITIONS: Readonly<Record<LoopState, readonly LoopState[]>> = {
  idle: ['running', 'stopped'],
  running: ['stopping'],
  stopping: ['stopped'],
  stopped: [],
};

export class LoopStateError extends Error {
  constructor(
    readonly loop: string,
    readonly from: LoopState,
    readonly to: LoopState,
  ) {
    super(`loop ${loop}: cannot go from ${from} to ${to}`);
    this.name = 'LoopStateError';
  }
}

export interface RoundContext {
  /** Aborted when the loop stops: a long round (a socket, a wait) ends early on it. */
  signal: AbortSignal;
  /** Failed rounds in a row before this one (0 after a success). */
  failures: number;
}

/**
 * One round. It may return the delay in ms before the next round (`Infinity`: none until a
 * trigger); returning nothing means `intervalMs`.
 */
export type RoundFn = (ctx: RoundContext) => Promise<number | void> | number | void;

export interface ServiceLoopOptions {
  /** Names the loop in logs and errors. */
  name: string;
  log: Logger;
  round: RoundFn;
  /** Pause from the end of a round to the start of the next; absent: the loop waits for a trigger. */
  intervalMs?: number | undefined;
  /** Delay of the first round after `start()` (default 0). */
  initialDelayMs?: number | undefined;
  /** Back-off after failed rounds (default: 1 s doubling up to `intervalMs`, or 60 s). */
  backoff?: Backoff | undefined;
}

/** setTimeout's largest delay; longer ones would fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

export class ServiceLoop {
  readonly name: string;
  readonly #opts: ServiceLoopOptions;
  readonly #backoff: Backoff;
  readonly #abort = new AbortController();
  #state: LoopState = 'idle';
  #timer: NodeJS.Timeout | undefined;
  #nextAt: number | null = null;
  /** The rounds in flight (one, plus the coalesced ones it runs after itself). */
  #current: Promise<void> | undefined;
  #again = false;
  #failures = 0;
  #stopping: Promise<void> | undefined;

  constructor(opts: ServiceLoopOptions) {
    this.name = opts.name;
    this.#opts = opts;
    this.#backoff = opts.backoff ?? { baseMs: 1000, maxMs: Math.max(1000, opts.intervalMs ?? 60_000) };
  }

  get state(): LoopState {
    return this.#state;
  }

  /** Failed rounds in a row (0 after a success): > 0 while the loop waits out a back-off. */
  get failures(): number {
    return this.#failures;
  }

  /** True while a round runs. */
  get busy(): boolean {
    return this.#current !== undefined;
  }

  /** When the next round is due (epoch ms), null when none is armed (a round runs, or only a trigger starts one). */
  get nextRoundAt(): number | null {
    return this.#nextAt;
  }

  start(): void {
    this.#go('running');
    const delay = this.#opts.initialDelayMs ?? 0;
    // No delay: the first round starts on the next microtask, before any timer of the caller's.
    if (delay > 0) this.#arm(delay);
    else this.#run();
  }

  /** Asks for a round (see the module comment); ignored unless running. */
  trigger(): void {
    if (this.#state !== 'running') return;
    if (this.#current) {
      this.#again = true;
      return;
    }
    this.#run();
  }

  /** Stops the loop; resolves once the round in flight has ended. Idempotent. */
  stop(): Promise<void> {
    if (this.#stopping) return this.#stopping;
    this.#disarm();
    if (this.#state === 'idle') {
      this.#go('stopped');
      this.#stopping = Promise.resolve();
      return this.#stopping;
    }
    this.#go('stopping');
    this.#abort.abort();
    this.#stopping = (async () => {
      while (this.#current) await this.#current;
      this.#go('stopped');
    })();
    return this.#stopping;
  }

  /** Resolves once no round is in flight (the one running and any coalesced after it). */
  async settled(): Promise<void> {
    while (this.#current) await this.#current;
  }

  #go(to: LoopState): void {
    if (!LOOP_TRANSITIONS[this.#state].includes(to)) throw new LoopStateError(this.name, this.#state, to);
    this.#state = to;
  }

  #disarm(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#nextAt = null;
  }

  #arm(delayMs: number): void {
    this.#disarm();
    if (this.#state !== 'running' || !(delayMs < Infinity)) return;
    const ms = Math.min(Math.max(0, Number.isNaN(delayMs) ? 0 : delayMs), MAX_TIMER_MS);
    this.#nextAt = Date.now() + ms;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#nextAt = null;
      if (this.#state === 'running' && !this.#current) this.#run();
    }, ms);
    this.#timer.unref();
  }

  #run(): void {
    this.#disarm();
    const drive = async (): Promise<void> => {
      let next: number;
      do {
        this.#again = false;
        next = await this.#one();
      } while (this.#again && this.#state === 'running');
      this.#current = undefined;
      this.#arm(next);
    };
    // The round starts on the next microtask: a round that triggers its own loop (or a trigger
    // from inside a caller's synchronous code) finds #current set and is coalesced, not nested.
    this.#current = Promise.resolve().then(drive);
  }

  /** Runs one round; returns the delay before the next. */
  async #one(): Promise<number> {
    try {
      const delay = await this.#opts.round({ signal: this.#abort.signal, failures: this.#failures });
      this.#failures = 0;
      return typeof delay === 'number' ? delay : (this.#opts.intervalMs ?? Infinity);
    } catch (err) {
      if (this.#state !== 'running') return Infinity;
      this.#failures += 1;
      const retryInMs = backoffMs(this.#failures, this.#backoff);
      this.#opts.log.error({ err, loop: this.name, failures: this.#failures, retryInMs }, `${this.name}: round failed`);
      return retryInMs;
    }
  }
}
