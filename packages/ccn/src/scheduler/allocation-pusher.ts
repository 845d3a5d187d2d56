/**
 * Delivers each CRN its desired set, retrying failed pushes with exponential back-off.
 *
 * Why a retry can never duplicate a workload: a push carries the CRN's FULL desired set (the CRN
 * stops whatever is not listed), at most one push per CRN is in flight, and a retry sends the
 * LATEST desired set, not the body that failed. So when a workload moved away from a CRN while
 * that CRN was unreachable, the retry that finally reaches it no longer lists the workload, and
 * the CRN stops its copy.
 *
 * Signed times (`iat`): the CRN accepts, per signer, no `iat` older than the last one it accepted,
 * and no payload twice (protocol allocation-replay.ts). So the `iat` of each CRN never goes
 * back here, even if the clock does; two different sets may share a second (their payloads
 * differ), and the same set is signed again only in a later second (waiting for it when the
 * clock is there, else one second past the last `iat`).
 */
import { backoffMs, ServiceLoop, type Logger } from '@aleph-nodes/service';
import type { DesiredSet, PushAnswer } from './crn-client.ts';

/** `signing.crnHash` and `signing.iat` go into the signed payload (crn-client.ts). */
export type PushFn = (crnUrl: string, set: DesiredSet, signing: { crnHash: string; iat: number }) => Promise<PushAnswer>;

export interface PusherSettings {
  retryBaseMs: number;
  retryMaxMs: number;
}

export type PushState = 'idle' | 'pushing' | 'waiting-retry';

export interface CrnPushStatus {
  state: PushState;
  /** The desired set as last requested. */
  desired: DesiredSet;
  /** True when the CRN acknowledged exactly `desired`. */
  delivered: boolean;
  /** Failed attempts since the last delivery. */
  failures: number;
  lastError: string | null;
  lastDeliveredAt: number | null;
  nextRetryAt: number | null;
}

interface CrnSlot {
  url: string;
  desired: DesiredSet;
  desiredKey: string;
  deliveredKey: string | null;
  failures: number;
  lastError: string | null;
  lastDeliveredAt: number | null;
  /** The last `iat` signed for this CRN, and the sets signed with it. */
  lastIat: number;
  keysAtLastIat: Set<string>;
  /**
   * Its pushes, one at a time: a round pushes the latest desired set; a request during a push
   * runs one more after it (coalesced); a failed push waits its back-off before the next.
   */
  loop: ServiceLoop;
}

export interface PusherEvents {
  /** The CRN applied `set` and answered (some workloads may have failed to start). */
  delivered(crnHash: string, set: DesiredSet, answer: PushAnswer): void | Promise<void>;
  failed?(crnHash: string, error: Error, retryInMs: number): void;
}

const keyOf = (set: DesiredSet): string => JSON.stringify([set.persistent_vms, set.instances]);

/** Delay before retry number `failures` (1-based): base × 2^(failures−1), capped. */
export function retryDelayMs(failures: number, settings: PusherSettings): number {
  return backoffMs(failures, { baseMs: settings.retryBaseMs, maxMs: settings.retryMaxMs });
}

export class AllocationPusher {
  readonly #push: PushFn;
  readonly #settings: PusherSettings;
  readonly #events: PusherEvents;
  readonly #log: Logger;
  readonly #slots = new Map<string, CrnSlot>();
  #closed = false;

  constructor(push: PushFn, settings: PusherSettings, events: PusherEvents, log: Logger) {
    this.#push = push;
    this.#settings = settings;
    this.#events = events;
    this.#log = log;
  }

  /**
   * Sets a CRN's desired set. It is pushed when it differs from what the CRN last acknowledged,
   * or always with `force` (periodic refresh, a CRN that came back). A forced push also cuts a
   * pending back-off short.
   */
  setDesired(crnHash: string, url: string, set: DesiredSet, opts: { force?: boolean } = {}): void {
    if (this.#closed) return;
    const existing = this.#slots.get(crnHash);
    if (!existing) {
      const slot: CrnSlot = {
        url,
        desired: set,
        desiredKey: keyOf(set),
        deliveredKey: null,
        failures: 0,
        lastError: null,
        lastDeliveredAt: null,
        lastIat: 0,
        keysAtLastIat: new Set(),
        loop: new ServiceLoop({ name: 'allocation push', log: this.#log.child({ crn: crnHash }), round: () => this.#run(crnHash, slot) }),
      };
      this.#slots.set(crnHash, slot);
      slot.loop.start(); // the first push
      return;
    }
    const slot = existing;
    slot.url = url;
    slot.desired = set;
    slot.desiredKey = keyOf(set);
    const waitingRetry = this.#stateOf(slot) === 'waiting-retry';
    if (!opts.force && slot.deliveredKey === slot.desiredKey && !waitingRetry) return;
    if (waitingRetry && !opts.force) return; // the retry will send the latest set
    slot.loop.trigger();
  }

  /** Stops pushing to a CRN (no longer a target). */
  forget(crnHash: string): void {
    const slot = this.#slots.get(crnHash);
    if (slot) void slot.loop.stop();
    this.#slots.delete(crnHash);
  }

  status(crnHash: string): CrnPushStatus | undefined {
    const s = this.#slots.get(crnHash);
    if (!s) return undefined;
    const state = this.#stateOf(s);
    return {
      state,
      desired: s.desired,
      delivered: s.deliveredKey === s.desiredKey,
      failures: s.failures,
      lastError: s.lastError,
      lastDeliveredAt: s.lastDeliveredAt,
      nextRetryAt: state === 'waiting-retry' && s.loop.nextRoundAt !== null ? s.loop.nextRoundAt / 1000 : null,
    };
  }

  /** Cancels retries and waits for the pushes in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#slots.values()].map((s) => s.loop.stop()));
  }

  #stateOf(slot: CrnSlot): PushState {
    if (slot.loop.busy) return 'pushing';
    return slot.failures > 0 && slot.loop.state === 'running' ? 'waiting-retry' : 'idle';
  }

  /** One push of the latest desired set; returns the delay before the next (a retry), or none. */
  async #run(crnHash: string, slot: CrnSlot): Promise<number> {
    const nowSecond = Math.floor(Date.now() / 1000);
    if (nowSecond === slot.lastIat && slot.keysAtLastIat.has(slot.desiredKey)) await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
    if (this.#closed || this.#slots.get(crnHash) !== slot) return Infinity;
    const set = slot.desired;
    const key = slot.desiredKey;
    let iat = Math.max(Math.floor(Date.now() / 1000), slot.lastIat);
    if (iat === slot.lastIat && slot.keysAtLastIat.has(key)) iat = slot.lastIat + 1;
    if (iat !== slot.lastIat) {
      slot.lastIat = iat;
      slot.keysAtLastIat = new Set();
    }
    slot.keysAtLastIat.add(key);
    try {
      const answer = await this.#push(slot.url, set, { crnHash, iat });
      slot.deliveredKey = key;
      slot.failures = 0;
      slot.lastError = null;
      slot.lastDeliveredAt = Date.now() / 1000;
      this.#log.debug({ crn: crnHash, set, status: answer.status }, 'allocations delivered');
      try {
        await this.#events.delivered(crnHash, set, answer);
      } catch (err) {
        this.#log.error({ err }, 'allocation delivery handler failed');
      }
      // A set changed during the push was triggered (one more round); nothing else is due.
      return slot.desiredKey !== key ? 0 : Infinity;
    } catch (err) {
      slot.failures += 1;
      slot.lastError = (err as Error).message;
      const delay = retryDelayMs(slot.failures, this.#settings);
      this.#log.warn({ crn: crnHash, failures: slot.failures, retryInMs: delay, err: (err as Error).message }, 'allocation push failed; will retry');
      this.#events.failed?.(crnHash, err as Error, delay);
      // The retry sends whatever is desired THEN (see the module comment).
      return delay;
    }
  }
}
