/**
 * Host-side drive images of a microVM: code and immutable directories packed as squashfs (the
 * writable ext4 images are host/ext4.ts, shared with the process backend).
 */
import { execFile } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function tool(file: string, args: string[]): Promise<void> {
  try {
    await run(file, args, { timeout: 120_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${file}: ${(e.stderr || e.message).trim().split('\n').slice(-3).join(' ')}`);
  }
}

/** True when the file starts with the squashfs magic (`hsqs`). */
export function isSquashfsImage(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const magic = Buffer.alloc(4);
    readSync(fd, magic, 0, 4, 0);
    return magic.toString('latin1') === 'hsqs';
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Packs a directory read-only (owner root, as the guest sees it). */
export async function squashDirectory(dir: string, out: string): Promise<void> {
  await tool('mksquashfs', [dir, out, '-noappend', '-no-progress', '-quiet', '-all-root', '-comp', 'zstd']);
}

