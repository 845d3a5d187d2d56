/**
 * Zip extraction for untrusted code archives. Checked while streaming, not afterwards: entry
 * names must pass the protocol's path validator (relative, normalized, a safe character set),
 * the entry count and the declared sizes are capped before anything is written, and the bytes
 * actually written are counted against a total cap (a zip bomb is stopped mid-stream).
 *
 * Every entry is written through `resolveInside`: each parent is created one real directory at
 * a time and no component may be a symlink, and files are opened with O_CREAT|O_EXCL|O_NOFOLLOW.
 * So a symlink entry (allowed only when it points inside the tree) can never carry a later
 * write out of the target, and a duplicate entry is refused instead of overwriting.
 *
 * Nothing but an UnzipError leaves this module (the CRN turns it into a 400).
 */
import { closeSync, constants, createWriteStream, fstatSync, lstatSync, mkdirSync, openSync, symlinkSync, type WriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import type { Entry, ZipFile } from 'yauzl';
import { checkTreePath } from '@aleph-nodes/protocol';
import { resolveInside, UnsafePathError } from '@aleph-nodes/service';

export class UnzipError extends Error {
  override readonly name = 'UnzipError';
}

export interface UnzipLimits {
  maxEntries: number;
  maxTotalBytes: number;
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const MAX_LINK_TARGET = 4096;

/** The entry's path inside the tree (a trailing `/` marks a directory), or an UnzipError. */
export function checkEntryName(name: string): string {
  if (name.includes('\\') || name.includes('\0')) throw new UnzipError(`entry ${JSON.stringify(name)} has a forbidden character`);
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) throw new UnzipError(`entry ${JSON.stringify(name)} is an absolute path`);
  if (name.split('/').some((p) => p === '..')) throw new UnzipError(`entry ${JSON.stringify(name)} leaves the archive tree`);
  const path = name.endsWith('/') ? name.slice(0, -1) : name;
  const check = checkTreePath(path, 'archive entry');
  if (!check.ok) throw new UnzipError(check.reason);
  return path;
}

/** A symlink target that stays inside the tree: relative, no `..` at all, no NUL. */
function checkLinkTarget(name: string, target: string): void {
  // No '..' at all: with one, a link to a link to the top could climb above the tree even
  // when every target looks inside it lexically.
  if (target === '' || target.startsWith('/') || target.includes('\0') || target.split('/').includes('..')) {
    throw new UnzipError(`symlink ${name} points out of the archive tree`);
  }
}

function openZip(path: string): Promise<ZipFile> {
  return new Promise((resolve, reject) => {
    try {
      yauzl.open(path, { lazyEntries: true, autoClose: true, validateEntrySizes: true, strictFileNames: false }, (err, zip) => {
        if (err || !zip) reject(new UnzipError(`not a valid zip archive: ${err?.message ?? 'unknown error'}`));
        else resolve(zip);
      });
    } catch (err) {
      reject(new UnzipError(`not a valid zip archive: ${(err as Error).message}`));
    }
  });
}

function openEntry(zip: ZipFile, entry: Entry): Promise<NodeJS.ReadableStream> {
  return new Promise((resolve, reject) => {
    try {
      zip.openReadStream(entry, (err, stream) => {
        if (err || !stream) reject(new UnzipError(`cannot read entry ${entry.fileName}: ${err?.message ?? 'unknown error'}`));
        else resolve(stream);
      });
    } catch (err) {
      reject(new UnzipError(`cannot read entry ${entry.fileName}: ${(err as Error).message}`));
    }
  });
}

/** Any failure as an UnzipError (paths refused at the point of writing, I/O errors, corrupt data). */
function asUnzipError(err: unknown, name?: string): UnzipError {
  if (err instanceof UnzipError) return err;
  const where = name === undefined ? '' : `entry ${JSON.stringify(name)}: `;
  if (err instanceof UnsafePathError) return new UnzipError(`${where}${err.message}`);
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EEXIST') return new UnzipError(`${where}appears twice in the archive (or under a name already used)`);
  if (code === 'ELOOP') return new UnzipError(`${where}would be written through a symlink`);
  return new UnzipError(`${where}${(err as Error | undefined)?.message ?? String(err)}`);
}

export async function safeUnzip(zipPath: string, targetDir: string, limits: UnzipLimits): Promise<{ entries: number; bytes: number }> {
  // The target is the node's own directory (a fresh one in the cache): made as it is named.
  mkdirSync(targetDir, { recursive: true, mode: 0o755 });
  const zip = await openZip(zipPath);
  if (zip.entryCount > limits.maxEntries) {
    zip.close();
    throw new UnzipError(`archive has ${zip.entryCount} entries, at most ${limits.maxEntries} are allowed`);
  }
  let total = 0;
  let declared = 0;
  let entries = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('error', (err: Error) => reject(new UnzipError(`corrupt archive: ${err.message}`)));
      zip.on('end', () => resolve());
      zip.on('entry', (entry: Entry) => {
        handleEntry(entry).then(
          () => zip.readEntry(),
          (err: unknown) => reject(asUnzipError(err, entry.fileName)),
        );
      });
      zip.readEntry();
    });
  } catch (err) {
    throw asUnzipError(err);
  } finally {
    zip.close();
  }
  return { entries, bytes: total };

  async function handleEntry(entry: Entry): Promise<void> {
    entries++;
    const name = checkEntryName(entry.fileName);
    // Declared sizes first (cheap, before any byte is inflated); the written bytes are counted too.
    declared += entry.uncompressedSize;
    if (declared > limits.maxTotalBytes) throw new UnzipError(`archive expands to more than ${limits.maxTotalBytes} bytes (by its declared sizes)`);
    const mode = (entry.externalFileAttributes >>> 16) & 0xffff;
    const dest = resolveInside(targetDir, name, { createParents: true, dirMode: 0o755, validate: (rel) => checkTreePath(rel, 'archive entry') });
    if (entry.fileName.endsWith('/')) {
      try {
        mkdirSync(dest, { mode: 0o755 });
      } catch (err) {
        // A directory named again (or implied by an earlier file) is fine; anything else there is not.
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const st = lstatSync(dest);
        if (st.isSymbolicLink() || !st.isDirectory()) throw new UnzipError(`entry ${name} is not a directory of the archive tree`);
      }
      return;
    }
    if ((mode & S_IFMT) === S_IFLNK) {
      const stream = await openEntry(zip, entry);
      const chunks: Buffer[] = [];
      let length = 0;
      for await (const c of stream as AsyncIterable<Buffer>) {
        length += c.length;
        if (length > MAX_LINK_TARGET) throw new UnzipError(`symlink ${name} target is too long`);
        chunks.push(c);
      }
      const target = Buffer.concat(chunks).toString('utf8');
      checkLinkTarget(name, target);
      symlinkSync(target, dest);
      return;
    }
    const executable = (mode & 0o111) !== 0;
    const fd = openSync(dest, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, executable ? 0o755 : 0o644);
    let out: WriteStream;
    try {
      if (!fstatSync(fd).isFile()) throw new UnzipError(`entry ${name} is not a regular file`);
      out = createWriteStream('', { fd, autoClose: true });
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    const stream = await openEntry(zip, entry).catch((err: unknown) => {
      out.destroy();
      throw err;
    });
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        total += chunk.length;
        if (total > limits.maxTotalBytes) return cb(new UnzipError(`archive expands to more than ${limits.maxTotalBytes} bytes`));
        cb(null, chunk);
      },
    });
    await pipeline(stream, counter, out);
  }
}
