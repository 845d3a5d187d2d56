/**
 * The files this node waits for: a STORE's file, or the content of a non-inline message. Each
 * one is fetched from peers (file-fetcher.ts) with a bounded number of downloads at once and an
 * exponential back-off per file while no peer has it. The waiting messages stay pending
 * (FILE_UNAVAILABLE / CONTENT_UNAVAILABLE, the processor's retries); when the file arrives they
 * are woken (`dependencyAvailable`), and those already rejected for lack of it are submitted
 * again from their local copy.
 */
import { isItemHash } from '@aleph-nodes/protocol';
import { backoffMs, type Logger } from '@aleph-nodes/service';

export type FilePurpose = 'store' | 'content';

interface Want {
  purpose: FilePurpose;
  /** Messages waiting for it. */
  waiters: Set<string>;
  attempts: number;
  /** Epoch ms of the next attempt. */
  nextAt: number;
  running: boolean;
}

export interface FileWantsDeps {
  fetch(hash: string, purpose: FilePurpose): Promise<boolean>;
  /** The file arrived: wake or re-submit its waiters. */
  arrived(hash: string, waiters: readonly string[]): Promise<void>;
  concurrency: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Attempts after which a file nobody serves is given up (a later scan may want it again). */
  maxAttempts: number;
  /** Files waited for at once; more are dropped until a scan finds them again. */
  maxWants: number;
  log: Logger;
  nowMs(): number;
}

function storeFileOf(text: string | null | undefined): { hash: string; purpose: FilePurpose } | undefined {
  if (!text) return undefined;
  try {
    const hash = (JSON.parse(text) as { item_hash?: unknown }).item_hash;
    return isItemHash(hash) ? { hash, purpose: 'store' } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The file a message needs before it can be processed: its content (non-inline), else a STORE's
 * file named in its content. Untrusted shapes: anything that is not an item hash is ignored (the
 * processor rejects the message itself).
 */
export function neededFile(
  m: { itemHash: string; type: string; itemType: string; itemContent: string | null | undefined },
  files: { has(hash: string): boolean; read(hash: string): Buffer | undefined },
): { hash: string; purpose: FilePurpose } | undefined {
  if (m.itemType !== 'inline') {
    if (!files.has(m.itemHash)) return { hash: m.itemHash, purpose: 'content' };
    return m.type === 'STORE' ? storeFileOf(files.read(m.itemHash)?.toString('utf8')) : undefined;
  }
  return m.type === 'STORE' ? storeFileOf(m.itemContent) : undefined;
}

export class FileWants {
  readonly #deps: FileWantsDeps;
  readonly #wants = new Map<string, Want>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  givenUp = 0;

  constructor(deps: FileWantsDeps) {
    this.#deps = deps;
  }

  get size(): number {
    return this.#wants.size;
  }

  /** Waits for `hash` on behalf of message `waiter`. */
  want(hash: string, purpose: FilePurpose, waiter: string): void {
    if (this.#stopped) return;
    const existing = this.#wants.get(hash);
    if (existing) {
      existing.waiters.add(waiter);
      return;
    }
    if (this.#wants.size >= this.#deps.maxWants) return;
    this.#wants.set(hash, { purpose, waiters: new Set([waiter]), attempts: 0, nextAt: 0, running: false });
    this.#schedule(0);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#tick(), Math.max(0, Math.min(delayMs, 2_147_483_647)));
    this.#timer.unref();
  }

  #tick(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    const now = this.#deps.nowMs();
    let running = [...this.#wants.values()].filter((w) => w.running).length;
    let nextAt = Infinity;
    for (const [hash, want] of this.#wants) {
      if (want.running) continue;
      if (want.nextAt > now) {
        nextAt = Math.min(nextAt, want.nextAt);
        continue;
      }
      if (running >= this.#deps.concurrency) break;
      running += 1;
      want.running = true;
      void this.#attempt(hash, want);
    }
    if (nextAt !== Infinity) this.#schedule(nextAt - now);
  }

  async #attempt(hash: string, want: Want): Promise<void> {
    let ok = false;
    try {
      ok = await this.#deps.fetch(hash, want.purpose);
    } catch (err) {
      this.#deps.log.error({ err, hash }, 'fetching a file failed unexpectedly');
    }
    want.running = false;
    if (this.#stopped) return;
    if (ok) {
      this.#wants.delete(hash);
      try {
        await this.#deps.arrived(hash, [...want.waiters]);
      } catch (err) {
        this.#deps.log.error({ err, hash }, 'waking the messages waiting for a file failed');
      }
    } else {
      want.attempts += 1;
      if (want.attempts >= this.#deps.maxAttempts) {
        this.#wants.delete(hash);
        this.givenUp += 1;
        this.#deps.log.warn({ hash, attempts: want.attempts }, 'no peer serves this file; given up for now');
      } else {
        want.nextAt = this.#deps.nowMs() + backoffMs(want.attempts, { baseMs: this.#deps.backoffBaseMs, maxMs: this.#deps.backoffMaxMs });
      }
    }
    this.#schedule(0);
  }
}
