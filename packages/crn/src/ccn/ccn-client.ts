/**
 * What the CRN reads from its CCN, over HTTP (aleph-protocol.md §7): messages by hash, message
 * status, and stored files. Messages are verified here (item hash, signature, content schema)
 * and cached by hash, bounded in bytes: a message never changes, but it can be forgotten, and
 * then `evict` drops it. Statuses are cached briefly (30 s, as the reference does).
 *
 * CRNs outlive their CCN: the client knows a list of CCNs (the `ccn` setting). A request that
 * cannot reach one (network error, timeout, 5xx) goes to the next; the one that answered is used
 * from then on, and after `failbackMs` the first of the list is tried first again. A CCN's answer
 * is never trusted more than another's: every message is verified here whoever served it.
 */
import { request } from 'undici';
import { validateMessage, validateStoredContent, type AlephMessage, type ProtocolError } from '@aleph-nodes/protocol';
import type { Readable } from 'node:stream';
import { MessageCache } from './message-cache.ts';
import type { VerifiedMessage } from './verified-message.ts';

export interface CcnClientOptions {
  /** How long after falling over the first CCN of the list is tried first again (default 60 s). */
  failbackMs?: number;
  /** Called when the CCN in use changes (logs). */
  onSwitch?: (from: string, to: string, why: string) => void;
  /** Memory the verified message cache may take (default 64 MiB). */
  messageCacheBytes?: number;
  /** How long a message status read from the CCN is reused (default 30 s). */
  statusCacheMs?: number;
}

/** Statuses kept (each a few dozen bytes): a bound on count is a bound on memory here. */
const STATUS_CACHE_ENTRIES = 10_000;

export class CcnError extends Error {
  override readonly name = 'CcnError';
  constructor(
    readonly code: 'UNREACHABLE' | 'NOT_FOUND' | 'INVALID' | 'BAD_STATUS',
    message: string,
  ) {
    super(message);
  }
}

export type { VerifiedMessage } from './verified-message.ts';

/** A failure worth trying another CCN for: the CCN could not answer (not: it answered 404). */
function unreachable(err: unknown): boolean {
  return err instanceof CcnError && err.code === 'UNREACHABLE';
}

export class CcnClient {
  readonly #messages: MessageCache;
  readonly #statuses = new Map<string, { at: number; status: string | undefined }>();
  readonly #statusCacheMs: number;
  readonly #urls: readonly string[];
  readonly #failbackMs: number;
  readonly #onSwitch: ((from: string, to: string, why: string) => void) | undefined;
  /** Index of the CCN in use, and when the client fell over to it. */
  #active = 0;
  #since = 0;

  constructor(baseUrls: string | readonly string[], opts: CcnClientOptions = {}) {
    const urls = (typeof baseUrls === 'string' ? [baseUrls] : [...baseUrls]).filter((u) => u !== '');
    if (urls.length === 0) throw new Error('CcnClient needs at least one CCN URL');
    this.#urls = urls;
    this.#messages = new MessageCache(opts.messageCacheBytes ?? 64 * 1024 * 1024);
    this.#statusCacheMs = opts.statusCacheMs ?? 30_000;
    this.#failbackMs = opts.failbackMs ?? 60_000;
    this.#onSwitch = opts.onSwitch;
  }

  /** The CCN in use now. */
  get baseUrl(): string {
    return this.#urls[this.#active] as string;
  }

  /** Every CCN of the list, in order of preference. */
  get baseUrls(): readonly string[] {
    return this.#urls;
  }

  /** The verified message cache (sizes for metrics and tests). */
  get messageCache(): { bytes: number; size: number; maxBytes: number } {
    return { bytes: this.#messages.bytes, size: this.#messages.size, maxBytes: this.#messages.maxBytes };
  }

  /** The cached message with this hash, without asking the CCN. */
  peekMessage(itemHash: string): VerifiedMessage | undefined {
    return this.#messages.get(itemHash);
  }

  /** Drops a message and its status from the caches (forgotten, rejected, removed). */
  evict(itemHash: string): void {
    this.#messages.delete(itemHash);
    this.#statuses.delete(itemHash);
  }

  /** `path` on the CCN in use. */
  url(path: string): string {
    return joinUrl(this.baseUrl, path);
  }

  /** The order to try the CCNs in: the one in use first, or the first of the list after the fail-back delay. */
  #order(): number[] {
    if (this.#active !== 0 && Date.now() - this.#since >= this.#failbackMs) {
      // Back to the first (a restarted primary); if it still fails, the loop falls over again.
      this.#active = 0;
    }
    const n = this.#urls.length;
    return Array.from({ length: n }, (_, i) => (this.#active + i) % n);
  }

  /** Runs `attempt` on each CCN in turn until one answers; the last unreachable error otherwise. */
  async #withFailover<T>(attempt: (base: string) => Promise<T>): Promise<T> {
    let last: unknown;
    for (const i of this.#order()) {
      const base = this.#urls[i] as string;
      try {
        const out = await attempt(base);
        if (i !== this.#active) {
          const from = this.#urls[this.#active] as string;
          this.#active = i;
          this.#since = Date.now();
          this.#onSwitch?.(from, base, last instanceof Error ? last.message : 'answered');
        }
        return out;
      } catch (err) {
        if (!unreachable(err)) throw err;
        last = err;
      }
    }
    throw last;
  }

  async #getJson(path: string): Promise<unknown> {
    return this.#withFailover(async (base) => {
      let res;
      try {
        res = await request(joinUrl(base, path), { method: 'GET', headersTimeout: 15_000, bodyTimeout: 15_000 });
      } catch (err) {
        throw new CcnError('UNREACHABLE', `CCN ${base} request failed: ${(err as Error).message}`);
      }
      if (res.statusCode === 404) {
        await res.body.dump();
        throw new CcnError('NOT_FOUND', `CCN answered 404 for ${path}`);
      }
      if (res.statusCode >= 500) {
        // A CCN that cannot serve (starting, overloaded, its database down): try another.
        await res.body.dump();
        throw new CcnError('UNREACHABLE', `CCN ${base} answered ${res.statusCode} for ${path}`);
      }
      if (res.statusCode >= 400) {
        await res.body.dump();
        throw new CcnError('BAD_STATUS', `CCN answered ${res.statusCode} for ${path}`);
      }
      try {
        return await res.body.json();
      } catch {
        throw new CcnError('INVALID', `CCN answer for ${path} is not JSON`);
      }
    });
  }

  /** Plain JSON GET of one of our CCN routes (e.g. `api/v0/nodes`), with the same fail-over. */
  getJson(path: string): Promise<unknown> {
    return this.#getJson(path);
  }

  /** The message with this item hash, verified; undefined when the CCN does not know it. */
  async getMessage(itemHash: string): Promise<VerifiedMessage | undefined> {
    const cached = this.#messages.get(itemHash);
    if (cached) return cached;
    const body = (await this.#getJson(`api/v0/messages.json?hashes=${encodeURIComponent(itemHash)}`)) as { messages?: unknown[] };
    const raw = body?.messages?.[0];
    if (!raw) return undefined;
    const verified = await this.verify(raw);
    if (verified.message.item_hash !== itemHash) throw new CcnError('INVALID', 'the CCN answered another message');
    this.#messages.set(itemHash, verified);
    return verified;
  }

  /** Verifies a message as received from the CCN (HTTP or websocket). */
  async verify(raw: unknown): Promise<VerifiedMessage> {
    let validated;
    try {
      // Stored messages may be older than any clock skew window: only the future bound matters.
      validated = validateMessage(raw, { maxFutureSeconds: 365 * 24 * 3600 });
    } catch (err) {
      throw new CcnError('INVALID', `message failed verification: ${(err as ProtocolError).message}`);
    }
    let content = validated.content as Record<string, unknown> | undefined;
    if (!content) {
      const bytes = await this.downloadBytes(validated.message.item_hash, 4 * 1024 * 1024);
      try {
        content = validateStoredContent(validated.message, bytes, { maxFutureSeconds: 365 * 24 * 3600 }) as Record<string, unknown>;
      } catch (err) {
        throw new CcnError('INVALID', `stored message content failed verification: ${(err as Error).message}`);
      }
    }
    return { message: validated.message, content };
  }

  /**
   * The newest STORE amending `ref` by `owner` (`use_latest`, crn-api.md §6.1), else `ref`.
   * The amend counts only if it is the owner's and really references `ref`.
   */
  async latestStoreRef(ref: string, owner: string): Promise<string> {
    const body = (await this.#getJson(
      `api/v0/messages.json?msgType=STORE&sort_order=-1&refs=${encodeURIComponent(ref)}&owners=${encodeURIComponent(owner)}&pagination=1`,
    )) as { messages?: { item_hash?: unknown; content?: { address?: unknown; ref?: unknown } }[] };
    const first = body?.messages?.[0];
    if (first && typeof first.item_hash === 'string' && first.content?.ref === ref && String(first.content.address).toLowerCase() === owner.toLowerCase()) {
      return first.item_hash;
    }
    return ref;
  }

  /** An aggregate of `address` (`keys` = one key), or undefined. */
  async getAggregate(address: string, key: string): Promise<Record<string, unknown> | undefined> {
    try {
      const body = (await this.#getJson(`api/v0/aggregates/${encodeURIComponent(address)}.json?keys=${encodeURIComponent(key)}`)) as { data?: Record<string, unknown> };
      const value = body?.data?.[key];
      return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
    } catch (err) {
      if (err instanceof CcnError && err.code === 'NOT_FOUND') return undefined;
      throw err;
    }
  }

  /**
   * `processed`, `pending`, `forgotten`, ... or undefined when unknown. `maxAgeMs` reuses an
   * answer read that recently (default: the status cache time; 0 = always ask the CCN).
   */
  async getStatus(itemHash: string, maxAgeMs = this.#statusCacheMs): Promise<string | undefined> {
    const cached = this.#statuses.get(itemHash);
    if (cached && Date.now() - cached.at <= maxAgeMs) return cached.status;
    let status: string | undefined;
    try {
      const body = (await this.#getJson(`api/v0/messages/${encodeURIComponent(itemHash)}/status`)) as { status?: unknown };
      status = typeof body?.status === 'string' ? body.status : undefined;
    } catch (err) {
      if (!(err instanceof CcnError && err.code === 'NOT_FOUND')) throw err;
    }
    this.#statuses.delete(itemHash);
    if (this.#statuses.size >= STATUS_CACHE_ENTRIES) {
      const oldest = this.#statuses.keys().next().value;
      if (oldest !== undefined) this.#statuses.delete(oldest);
    }
    this.#statuses.set(itemHash, { at: Date.now(), status });
    return status;
  }

  /** A stored file as a stream (the caller verifies its hash). */
  async openFile(fileHash: string): Promise<{ body: Readable; length: number | undefined }> {
    return this.#withFailover(async (base) => {
      let res;
      try {
        res = await request(joinUrl(base, `api/v0/storage/raw/${encodeURIComponent(fileHash)}`), { method: 'GET', headersTimeout: 30_000, bodyTimeout: 60_000 });
      } catch (err) {
        throw new CcnError('UNREACHABLE', `CCN ${base} download failed: ${(err as Error).message}`);
      }
      if (res.statusCode !== 200) {
        await res.body.dump();
        if (res.statusCode >= 500) throw new CcnError('UNREACHABLE', `CCN ${base} answered ${res.statusCode} for file ${fileHash}`);
        throw new CcnError(res.statusCode === 404 ? 'NOT_FOUND' : 'BAD_STATUS', `CCN answered ${res.statusCode} for file ${fileHash}`);
      }
      const len = Number(res.headers['content-length']);
      return { body: res.body, length: Number.isFinite(len) ? len : undefined };
    });
  }

  async downloadBytes(fileHash: string, maxBytes: number): Promise<Uint8Array> {
    const { body } = await this.openFile(fileHash);
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) {
        body.destroy();
        throw new CcnError('INVALID', `file ${fileHash} is larger than ${maxBytes} bytes`);
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }
}

function joinUrl(base: string, path: string): string {
  return new URL(path, base.endsWith('/') ? base : `${base}/`).toString();
}
