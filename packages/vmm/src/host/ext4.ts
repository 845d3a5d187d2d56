/**
 * Writable volume images: sparse files formatted ext4, the size of the file being the volume's
 * quota. Both backends use them (a microVM attaches the file as a disk, a process workload gets
 * it loop-mounted), so a tenant can never write more than the `size_mib` it asked for.
 * mkfs runs on a file we just created, never on tenant bytes; its path is absolute.
 */
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';
import { requireTool } from './tools.ts';

const run = promisify(execFile);

/** A sparse file of `sizeMib` formatted ext4 (refuses to overwrite an existing file). */
export async function createExt4Image(path: string, sizeMib: number): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    await handle.truncate(sizeMib * 1024 * 1024);
  } finally {
    await handle.close();
  }
  const mkfs = requireTool('mkfs.ext4', 'e2fsprogs');
  try {
    await run(mkfs, ['-q', '-F', '-E', 'lazy_itable_init=1,lazy_journal_init=1', path], { timeout: 120_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${mkfs}: ${(e.stderr || e.message).trim().split('\n').slice(-3).join(' ')}`);
  }
}

/** The persistent volume image at `path`, created (ext4) when missing. */
export async function ensurePersistentImage(path: string, sizeMib: number): Promise<void> {
  if (existsSync(path) && statSync(path).isFile()) return;
  await createExt4Image(path, sizeMib);
}
