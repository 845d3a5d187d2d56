/**
 * Keeps this node connected to the CCNs it should know: the bootstrap multiaddresses of its
 * configuration, the `multiaddress` of the registry's CCN entries and the P2P addresses of
 * allowlisted ALIVE announcements (pyaleph redials its peers every 60 s). Each target not
 * connected is dialed with an exponential back-off (1 s, 2 s, 4 s... up to `maxBackoffMs`, with
 * jitter) that restarts only once the target is seen connected, so a peer that drops us at
 * once is not hammered either.
 */
import { backoffMs, type Logger } from '@aleph-nodes/service';
import type { PeerSource } from '../network/peers.ts';

export interface DialSurface {
  readonly peerId: string;
  dial(address: string, timeoutMs: number): Promise<string>;
  isConnected(peerId: string): boolean;
  isBanned(peerId: string): boolean;
}

export interface DialerOptions {
  maxBackoffMs: number;
  /** Dials in flight at once. */
  concurrency?: number;
  dialTimeoutMs?: number;
  /** Targets per source kept at once (the registry is written by anyone). */
  maxTargetsPerSource?: number;
  tickMs?: number;
  log: Logger;
  /** A dial succeeded: `peerId` answered at `address`. */
  onConnected(address: string, peerId: string, source: PeerSource): void;
}

interface Target {
  address: string;
  source: PeerSource;
  /** From `/p2p/<id>`, or learned when a dial succeeded. */
  peerId: string | undefined;
  attempts: number;
  next: number;
  dialing: boolean;
  lastError: string | undefined;
}

export interface DialTargetStatus {
  address: string;
  source: PeerSource;
  peer_id: string | null;
  connected: boolean;
  attempts: number;
  next_attempt: number | null;
  last_error: string | null;
}

export function peerIdOfMultiaddr(address: string): string | undefined {
  const m = /\/p2p\/([1-9A-HJ-NP-Za-km-z]+)$/.exec(address);
  return m?.[1];
}

export class Dialer {
  readonly #net: DialSurface;
  readonly #opts: Required<Omit<DialerOptions, 'onConnected' | 'log'>> & Pick<DialerOptions, 'onConnected' | 'log'>;
  readonly #targets = new Map<string, Target>();
  #timer: NodeJS.Timeout | undefined;
  #inFlight = 0;

  constructor(net: DialSurface, opts: DialerOptions) {
    this.#net = net;
    this.#opts = { concurrency: 8, dialTimeoutMs: 10_000, maxTargetsPerSource: 1000, tickMs: 1000, ...opts };
  }

  /** Adds a target (kept until replaced by `replace` for its source). */
  add(address: string, source: PeerSource): void {
    const peerId = peerIdOfMultiaddr(address);
    if (peerId === this.#net.peerId) return;
    const existing = this.#targets.get(address);
    if (existing) return;
    if ([...this.#targets.values()].filter((t) => t.source === source).length >= this.#opts.maxTargetsPerSource) return;
    this.#targets.set(address, { address, source, peerId, attempts: 0, next: 0, dialing: false, lastError: undefined });
  }

  /** Replaces every target of `source` (the registry's list is re-read as a whole). */
  replace(source: PeerSource, addresses: readonly string[]): void {
    const keep = new Set(addresses);
    for (const [address, t] of this.#targets) if (t.source === source && !keep.has(address)) this.#targets.delete(address);
    for (const address of addresses) this.add(address, source);
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.#tick(), this.#opts.tickMs);
    this.#timer.unref();
    this.#tick();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  status(): DialTargetStatus[] {
    return [...this.#targets.values()].map((t) => ({
      address: t.address,
      source: t.source,
      peer_id: t.peerId ?? null,
      connected: t.peerId !== undefined && this.#net.isConnected(t.peerId),
      attempts: t.attempts,
      next_attempt: t.next > 0 ? t.next / 1000 : null,
      last_error: t.lastError ?? null,
    }));
  }

  #backoff(attempts: number): number {
    const base = backoffMs(attempts, { baseMs: 1000, maxMs: this.#opts.maxBackoffMs });
    return base * (0.5 + Math.random() / 2);
  }

  #tick(): void {
    const now = Date.now();
    for (const t of this.#targets.values()) {
      if (t.peerId !== undefined && this.#net.isConnected(t.peerId)) {
        t.attempts = 0;
        t.lastError = undefined;
        continue;
      }
      if (t.dialing || t.next > now || this.#inFlight >= this.#opts.concurrency) continue;
      if (t.peerId !== undefined && (t.peerId === this.#net.peerId || this.#net.isBanned(t.peerId))) continue;
      void this.#dial(t);
    }
  }

  async #dial(t: Target): Promise<void> {
    t.dialing = true;
    t.attempts += 1;
    t.next = Date.now() + this.#backoff(t.attempts);
    this.#inFlight += 1;
    try {
      const peerId = await this.#net.dial(t.address, this.#opts.dialTimeoutMs);
      if (t.peerId !== undefined && t.peerId !== peerId) {
        // Whoever answers must be who the address names (noise proves the key).
        t.lastError = `answered by ${peerId}, not ${t.peerId}`;
        return;
      }
      t.peerId = peerId;
      t.lastError = undefined;
      this.#opts.onConnected(t.address, peerId, t.source);
    } catch (err) {
      t.lastError = (err as Error).message.slice(0, 200);
      this.#opts.log.debug({ address: t.address, err: t.lastError, attempts: t.attempts }, 'dial failed');
    } finally {
      t.dialing = false;
      this.#inFlight -= 1;
    }
  }
}
