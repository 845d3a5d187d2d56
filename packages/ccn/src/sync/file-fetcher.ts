/**
 * Fetching one file from peers (network-payments-runtime.md §1 "Missing file"): each peer in turn, in random order,
 * skipping those backed off; `GET <peer>/api/v0/storage/raw/<hash>` streamed to a temporary file
 * while hashed, else pyaleph's `GET <peer>/api/v0/storage/<hash>` (base64 JSON). The bytes must
 * hash to the name asked and stay within the size bound; a peer serving other bytes is scored
 * down and the next one is asked. Only a checked file is committed to the store.
 */
import { itemTypeOfHash } from '@aleph-nodes/protocol';
import type { Logger } from '@aleph-nodes/service';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { FileTooLargeError, type FileStore, type StagedFile } from '../storage/file-store.ts';
import { getJson, open, PeerError } from './http.ts';
import type { PeerScore } from './peer-score.ts';
import { HashMismatchError, hashKindOf, stageVerified, stageVerifiedBytes } from './verify.ts';
import { PyalephFileSchema } from './wire.ts';

export interface FilePeer {
  url: string;
  score: PeerScore;
}

export interface FileFetchStats {
  fetched: number;
  bytes: number;
  mismatches: number;
  tooLarge: number;
  failures: number;
}

export interface FileFetcherDeps {
  store: FileStore;
  /** Records a committed file (its `files` row). */
  record(hash: string, engine: 'storage' | 'ipfs', size: number): Promise<void>;
  peers(): FilePeer[];
  log: Logger;
  timeoutMs: number;
  requestTimeoutMs: number;
  nowMs(): number;
  signal: AbortSignal;
}

function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

export class FileFetcher {
  readonly #deps: FileFetcherDeps;
  readonly stats: FileFetchStats = { fetched: 0, bytes: 0, mismatches: 0, tooLarge: 0, failures: 0 };

  constructor(deps: FileFetcherDeps) {
    this.#deps = deps;
  }

  /** Fetches `hash` (at most `maxBytes`) from the first peer that has the right bytes; true when stored. */
  async fetch(hash: string, maxBytes: number): Promise<boolean> {
    const engine = itemTypeOfHash(hash);
    if (!engine || !hashKindOf(hash)) return false;
    const { store } = this.#deps;
    if (store.has(hash)) return true;
    const now = this.#deps.nowMs();
    for (const peer of shuffled(this.#deps.peers().filter((p) => p.score.allowed(now)))) {
      let staged: StagedFile | undefined;
      try {
        staged = await this.#fromPeer(peer.url, hash, maxBytes);
        if (!staged) continue;
        store.commit(staged, hash);
        await this.#deps.record(hash, engine, staged.size);
        this.stats.fetched += 1;
        this.stats.bytes += staged.size;
        this.#deps.log.info({ hash, peer: peer.url, size: staged.size }, 'file fetched from a peer');
        return true;
      } catch (err) {
        if (staged) store.discard(staged);
        this.#blame(peer, hash, err);
      }
    }
    this.stats.failures += 1;
    return false;
  }

  #blame(peer: FilePeer, hash: string, err: unknown): void {
    const now = this.#deps.nowMs();
    if (err instanceof HashMismatchError) {
      this.stats.mismatches += 1;
      peer.score.penalize('mismatch', `${hash}: ${err.message}`, now);
      this.#deps.log.warn({ hash, peer: peer.url, err: err.message }, 'a peer served bytes that do not match the file hash: discarded');
    } else if (err instanceof FileTooLargeError || (err instanceof PeerError && err.kind === 'too-large')) {
      this.stats.tooLarge += 1;
      peer.score.penalize('too-large', `${hash}: ${err.message}`, now);
    } else if (err instanceof PeerError) {
      peer.score.penalize(err.kind, `${hash}: ${err.message}`, now);
    } else {
      peer.score.penalize('transport', `${hash}: ${(err as Error).message}`, now);
    }
  }

  /** The checked file staged from one peer, or undefined when the peer does not have it. */
  async #fromPeer(url: string, hash: string, maxBytes: number): Promise<StagedFile | undefined> {
    const limits = { timeoutMs: this.#deps.timeoutMs, headersTimeoutMs: this.#deps.requestTimeoutMs, signal: this.#deps.signal };
    let res: Response;
    try {
      res = await open(`${url}/api/v0/storage/raw/${hash}`, limits);
    } catch (err) {
      // 404: the peer does not hold it (no fault). Anything else: maybe a pyaleph node or an
      // older CCN without the raw route; try pyaleph's shape once.
      if (err instanceof PeerError && err.status === 404) return undefined;
      return this.#fromPyalephRoute(url, hash, maxBytes);
    }
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > maxBytes) {
      await res.body?.cancel().catch(() => undefined);
      throw new PeerError('too-large', `declares ${declared} bytes, more than ${maxBytes}`);
    }
    if (!res.body) throw new PeerError('malformed', 'an answer without a body');
    return stageVerified(this.#deps.store, Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), hash, maxBytes);
  }

  async #fromPyalephRoute(url: string, hash: string, maxBytes: number): Promise<StagedFile | undefined> {
    // base64 is 4/3 of the bytes, plus the JSON around it.
    const limits = { timeoutMs: this.#deps.requestTimeoutMs, maxBytes: Math.ceil((maxBytes * 4) / 3) + 4096, signal: this.#deps.signal };
    let content: string;
    try {
      content = (await getJson(`${url}/api/v0/storage/${hash}`, PyalephFileSchema, limits)).data.content;
    } catch (err) {
      if (err instanceof PeerError && err.status === 404) return undefined;
      throw err;
    }
    const bytes = Buffer.from(content, 'base64');
    if (bytes.length > maxBytes) throw new PeerError('too-large', `${bytes.length} bytes, more than ${maxBytes}`);
    return stageVerifiedBytes(this.#deps.store, bytes, hash, maxBytes);
  }
}
