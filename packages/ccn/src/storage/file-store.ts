/**
 * Content-addressed file bytes on disk: `<dir>/<first two chars>/<hash>`. Uploads are streamed
 * to a temporary file while hashed, fsync'd, then renamed under their hash: a reader never sees
 * a partial file, and a file is visible only once its hash is known and checked.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, type ReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';

export class FileTooLargeError extends Error {
  override readonly name = 'FileTooLargeError';
}

/** A streamed upload waiting to be committed under its hash (or discarded). */
export interface StagedFile {
  path: string;
  sha256: string;
  size: number;
}

/** Hashes names only: nothing that could escape the directory (path traversal). */
const HASH_NAME_RE = /^[0-9A-Za-z]{32,128}$/;

/**
 * Bytes gathered before one `writev`: large enough that the per-write cost (a thread-pool round
 * trip) vanishes, small enough that an upload holds little memory: two batches at most (2 MiB), so
 * `maxUploadsInFlight` uploads hold at most 32 MiB by default.
 */
const WRITE_BATCH_BYTES = 1024 * 1024;
/** A batch of many small chunks is written earlier (fewer iovecs per call). */
const MAX_BATCH_BUFFERS = 256;

/**
 * Chunk size of file reads (downloads): a quarter of the per-chunk cost of the 64 KiB default
 * (half the CPU of a download measured), while a slow reader still pins little memory.
 */
const READ_CHUNK_BYTES = 256 * 1024;

/** Writes all of `buffers` at `position`, resuming after a short write. */
async function writeAll(handle: FileHandle, buffers: Buffer[], position: number): Promise<void> {
  let rest = buffers;
  let at = position;
  while (rest.length > 0) {
    const { bytesWritten } = await handle.writev(rest, at);
    at += bytesWritten;
    let skip = bytesWritten;
    const next: Buffer[] = [];
    for (const b of rest) {
      if (skip >= b.length) skip -= b.length;
      else {
        next.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
    }
    if (bytesWritten === 0 && next.length > 0) throw new Error('the disk accepted no bytes');
    rest = next;
  }
}

export class FileStore {
  readonly #dir: string;
  readonly #tmp: string;

  constructor(dir: string) {
    this.#dir = dir;
    this.#tmp = join(dir, 'tmp');
    // Temporary files left by a crash are never referenced: drop them.
    rmSync(this.#tmp, { recursive: true, force: true });
    mkdirSync(this.#tmp, { recursive: true });
  }

  static isValidName(hash: string): boolean {
    return HASH_NAME_RE.test(hash);
  }

  #pathOf(hash: string): string {
    if (!FileStore.isValidName(hash)) throw new Error(`refusing a file name that is not a hash: ${hash.slice(0, 80)}`);
    return join(this.#dir, hash.slice(0, 2), hash);
  }

  has(hash: string): boolean {
    try {
      return statSync(this.#pathOf(hash)).isFile();
    } catch {
      return false;
    }
  }

  size(hash: string): number | undefined {
    try {
      return statSync(this.#pathOf(hash)).size;
    } catch {
      return undefined;
    }
  }

  /** Whole file in memory: only for message contents (small JSON documents). */
  read(hash: string): Buffer | undefined {
    try {
      return readFileSync(this.#pathOf(hash));
    } catch {
      return undefined;
    }
  }

  /** A byte range (inclusive `end`) of a stored file. */
  stream(hash: string, range?: { start: number; end: number }): ReadStream {
    return createReadStream(this.#pathOf(hash), { ...range, highWaterMark: READ_CHUNK_BYTES });
  }

  /**
   * Streams `source` to a temporary file while hashing it, in one pass: each chunk is hashed
   * (and handed to `digest`, e.g. a CIDv0 hasher) as it arrives, gathered without copying into
   * batches of WRITE_BATCH_BYTES written with one `writev` each (one batch on disk while the next
   * arrives), then the file is fsync'd once. Fails past `maxBytes`, before writing the excess.
   * On any failure (source error or abort, too large, disk error) the temporary file is removed
   * and the source destroyed.
   */
  async stage(source: Readable, maxBytes: number, digest?: { update(chunk: Uint8Array): unknown }): Promise<StagedFile> {
    const path = join(this.#tmp, `${Date.now()}-${randomBytes(8).toString('hex')}`);
    let handle: FileHandle;
    try {
      handle = await open(path, 'wx');
    } catch (err) {
      source.destroy();
      throw err;
    }
    const hash = createHash('sha256');
    let size = 0;
    let batch: Buffer[] = [];
    let batchBytes = 0;
    let writing: Promise<void> = Promise.resolve();
    let position = 0;
    const flush = async (): Promise<void> => {
      const buffers = batch;
      const at = position;
      position += batchBytes;
      batch = [];
      batchBytes = 0;
      // One write in flight: wait for the previous batch, then start this one without waiting.
      await writing;
      writing = writeAll(handle, buffers, at);
      // Awaited by the next flush or at the end; marked handled so a failure is not reported
      // as unhandled before then.
      writing.catch(() => undefined);
    };
    try {
      // Async iteration: leaving the loop by an exception destroys the source.
      for await (const piece of source as AsyncIterable<Uint8Array | string>) {
        const chunk = typeof piece === 'string' ? Buffer.from(piece) : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
        size += chunk.length;
        if (size > maxBytes) throw new FileTooLargeError(`the file is larger than ${maxBytes} bytes`);
        hash.update(chunk);
        digest?.update(chunk);
        // Kept by reference until written, not copied: a stream's chunks belong to its reader.
        batch.push(chunk);
        batchBytes += chunk.length;
        if (batchBytes >= WRITE_BATCH_BYTES || batch.length >= MAX_BATCH_BUFFERS) await flush();
      }
      if (batchBytes > 0) await flush();
      await writing;
      await handle.sync();
      await handle.close();
    } catch (err) {
      await writing.catch(() => undefined);
      await handle.close().catch(() => undefined);
      rmSync(path, { force: true });
      throw err;
    }
    return { path, sha256: hash.digest('hex'), size };
  }

  /** Stages bytes already in memory (small JSON documents). */
  stageBytes(bytes: Uint8Array): Promise<StagedFile> {
    return this.stage(Readable.from([Buffer.from(bytes)]), bytes.length);
  }

  /** Makes a staged file visible under `hash` (atomic rename; an existing copy is kept). */
  commit(staged: StagedFile, hash: string): void {
    const path = this.#pathOf(hash);
    if (this.has(hash)) {
      this.discard(staged);
      return;
    }
    const dir = join(this.#dir, hash.slice(0, 2));
    mkdirSync(dir, { recursive: true });
    renameSync(staged.path, path);
    // Make the rename itself durable: a file answered as stored survives a power cut.
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  discard(staged: StagedFile): void {
    rmSync(staged.path, { force: true });
  }

  delete(hash: string): void {
    rmSync(this.#pathOf(hash), { force: true });
  }
}
