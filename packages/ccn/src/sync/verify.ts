/**
 * Checking the bytes of a file fetched from a peer against the hash that names it, while they
 * stream to a temporary file: sha256 for `storage` hashes, the CIDv0 `ipfs add` gives for `Qm…`
 * hashes (ipfs/cid-v0.ts). A file is committed under its hash only when they match; anything
 * else is discarded. CIDv1 (`bafy…`) cannot be checked here (other codecs, chunkers and layouts)
 * and is never fetched: a peer's word is not enough.
 */
import { itemTypeOfHash } from '@aleph-nodes/protocol';
import { Readable } from 'node:stream';
import { CidV0Hasher } from '../ipfs/cid-v0.ts';
import type { FileStore, StagedFile } from '../storage/file-store.ts';

export type HashKind = 'sha256' | 'cidv0';

export class HashMismatchError extends Error {
  override readonly name = 'HashMismatchError';
}

/** How `hash` is checked, or undefined when this node cannot check it. */
export function hashKindOf(hash: string): HashKind | undefined {
  const type = itemTypeOfHash(hash);
  if (type === 'storage') return 'sha256';
  if (type === 'ipfs' && hash.startsWith('Qm')) return 'cidv0';
  return undefined;
}

/**
 * Streams `source` into the store's staging area (bounded by `maxBytes`: FileTooLargeError past
 * it), and returns the staged file only if its bytes hash to `hash`; throws HashMismatchError
 * otherwise (the staged bytes are removed either way).
 */
export async function stageVerified(store: FileStore, source: Readable, hash: string, maxBytes: number): Promise<StagedFile> {
  const kind = hashKindOf(hash);
  if (!kind) throw new HashMismatchError(`${hash.slice(0, 80)} cannot be verified by this node`);
  const cid = kind === 'cidv0' ? new CidV0Hasher() : undefined;
  // Async iteration ties both ends together: a source error fails the staging, and a staging
  // failure (too large) stops and destroys the source.
  const input = cid
    ? Readable.from(
        (async function* hashing() {
          for await (const chunk of source) {
            cid.update(chunk as Buffer);
            yield chunk as Buffer;
          }
        })(),
      )
    : source;
  const staged = await store.stage(input, maxBytes);
  const actual = cid ? cid.digest() : staged.sha256;
  if (actual !== hash) {
    store.discard(staged);
    throw new HashMismatchError(`the bytes hash to ${actual}, not ${hash}`);
  }
  return staged;
}

/** Same check for bytes already in memory (pyaleph's base64 answer, bounded by the caller). */
export function stageVerifiedBytes(store: FileStore, bytes: Uint8Array, hash: string, maxBytes: number): Promise<StagedFile> {
  return stageVerified(store, Readable.from([Buffer.from(bytes)]), hash, maxBytes);
}
