/**
 * Writing files whose names come from outside, inside a directory we own. The name is first
 * checked by the protocol's path validator; then, at the point of writing, every component is
 * walked with lstat so that no symlink (planted by an archive, a volume or a racing writer) can
 * carry the write outside the root, and the file itself is created with O_NOFOLLOW.
 *
 * Components are created one by one (`mkdir` never follows a final symlink), never with
 * `recursive: true`, which would follow a symlinked parent.
 */
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, realpathSync, writeSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { checkRelativePath, type PathCheck } from '@aleph-nodes/protocol';

export class UnsafePathError extends Error {
  override readonly name = 'UnsafePathError';
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep));
}

/**
 * The absolute path of `rel` inside `root`, with every existing component checked to be a real
 * directory (not a symlink) inside `root`. Creates missing parent directories when `createParents`.
 */
export function resolveInside(
  root: string,
  rel: string,
  opts: { createParents?: boolean; dirMode?: number; validate?: (rel: string) => PathCheck } = {},
): string {
  // The strict name rules by default; a tree the tenant ships (an archive) passes checkTreePath.
  const check = (opts.validate ?? checkRelativePath)(rel);
  if (!check.ok) throw new UnsafePathError(check.reason);
  const realRoot = realpathSync(root);
  const parts = rel.split('/');
  let current = realRoot;
  for (const part of parts.slice(0, -1)) {
    current = join(current, part);
    let st;
    try {
      st = lstatSync(current);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !opts.createParents) throw new UnsafePathError(`${rel}: parent ${part} does not exist`);
      mkdirSync(current, { mode: opts.dirMode ?? 0o755 });
      st = lstatSync(current);
    }
    if (st.isSymbolicLink() || !st.isDirectory()) throw new UnsafePathError(`${rel}: ${part} is not a directory of ${root}`);
  }
  const target = join(current, parts[parts.length - 1] as string);
  if (!inside(realRoot, target)) throw new UnsafePathError(`${rel} resolves outside ${root}`);
  return target;
}

/**
 * Creates the file `rel` inside `root` (parents created as needed) and writes `data`. Refuses an
 * existing symlink at the target (O_NOFOLLOW) and anything that resolves outside the root.
 */
export function writeFileInside(root: string, rel: string, data: Uint8Array | string, mode = 0o644): string {
  const target = resolveInside(root, rel, { createParents: true });
  let fd: number;
  try {
    fd = openSync(target, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new UnsafePathError(`${rel} is a symlink`);
    throw err;
  }
  try {
    if (!fstatSync(fd).isFile()) throw new UnsafePathError(`${rel} is not a regular file`);
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
  } finally {
    closeSync(fd);
  }
  return target;
}
