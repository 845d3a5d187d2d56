/**
 * The persistent root disk of an INSTANCE: `<instancesDir>/<id>/rootfs.ext4`, a sparse copy of the
 * parent image (a raw ext4 file system from a STORE message) grown to `rootfs.size_mib`. It is
 * created on the first start only and kept across stops and CRN restarts (the owner's data lives
 * there); it goes when the instance is forgotten or erased.
 *
 * The copy is built under a temporary name and renamed when complete, so a crash midway never
 * leaves a half-made disk that a later start would boot.
 *
 * The parent's bytes are the tenant's: e2fsck and resize2fs parse them, so they run jailed
 * (runJailedTool: an unprivileged uid of their own, only the disk bound, no network, a memory
 * cap), never as root. Tools are found by absolute path, never through PATH.
 */
import { execFile } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync, rmSync, statSync } from 'node:fs';
import { rename, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { requireTool, runJailedTool } from '@aleph-nodes/vmm';
import { CRN_ERRORS } from '../errors.ts';

const MIB = 1024 * 1024;
/** The ext2/3/4 superblock starts at byte 1024; its magic (0xEF53, little endian) is at +56. */
const EXT_MAGIC_OFFSET = 1080;
const EXT_MAGIC = 0xef53;
const ROOT_DISK = 'rootfs.ext4';

/** Limits of the jailed image checks. */
export interface DiskToolLimits {
  /** Memory cap of e2fsck/resize2fs (their needs grow with the file system's size). */
  memoryMib: number;
  timeoutMs: number;
}

export const DEFAULT_DISK_TOOL_LIMITS: DiskToolLimits = { memoryMib: 512, timeoutMs: 30 * 60_000 };

/** Runs a host tool (absolute path) on our own files; its exit code is returned, spawn failures throw. */
function run(file: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 30 * 60_000, maxBuffer: 4 * MIB, env: {} }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim();
      if (!err) return resolve({ code: 0, output });
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'number') return resolve({ code, output });
      reject(new Error(`${file}: ${err.message}`));
    });
  });
}

function lastLines(text: string): string {
  return text.split('\n').slice(-3).join(' ').slice(0, 500);
}

/**
 * Why the file is not a raw ext4 image, or undefined when it looks like one. Only the magic is
 * checked here; e2fsck checks the rest when the disk is made.
 */
export function ext4ImageProblem(path: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(EXT_MAGIC_OFFSET + 2);
    const n = readSync(fd, head, 0, head.length, 0);
    if (head.subarray(0, 4).toString('latin1') === 'QFI\xfb') return 'it is a qcow2 image; this node boots raw ext4 images only';
    if (head.subarray(0, 4).toString('latin1') === 'hsqs') return 'it is a squashfs file system (a program runtime?), not a raw ext4 disk image';
    if (n < head.length || head.readUInt16LE(EXT_MAGIC_OFFSET) !== EXT_MAGIC) return 'it is not a raw ext4 disk image (no ext4 superblock magic at byte 1080)';
    return undefined;
  } catch (err) {
    return `it cannot be read: ${(err as Error).message}`;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function instanceDir(instancesDir: string, id: string): string {
  return join(instancesDir, id);
}

export function rootDiskPath(instancesDir: string, id: string): string {
  return join(instanceDir(instancesDir, id), ROOT_DISK);
}

/** True when the instance's root disk was made by an earlier start. */
export function rootDiskExists(instancesDir: string, id: string): boolean {
  const path = rootDiskPath(instancesDir, id);
  return existsSync(path) && statSync(path).isFile();
}

/**
 * Makes `<instancesDir>/<id>/rootfs.ext4` from `parentPath` grown to `sizeMib`, unless it exists.
 * Bad input (not an ext4 image, larger than `sizeMib`, a file system e2fsck cannot repair) is a
 * 400 INVALID_IMAGE error that ends only this execution.
 */
export async function ensureRootDisk(instancesDir: string, id: string, parentPath: string, sizeMib: number, limits: DiskToolLimits = DEFAULT_DISK_TOOL_LIMITS): Promise<string> {
  const dir = instanceDir(instancesDir, id);
  const final = rootDiskPath(instancesDir, id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (rootDiskExists(instancesDir, id)) return final;
  // Leftovers of a copy interrupted by a crash.
  for (const name of readdirSync(dir)) if (name.startsWith(`${ROOT_DISK}.tmp-`)) rmSync(join(dir, name), { force: true });

  const problem = ext4ImageProblem(parentPath);
  if (problem) throw CRN_ERRORS.error('INVALID_IMAGE', `rootfs parent: ${problem}`);
  const parentBytes = statSync(parentPath).size;
  const wantedBytes = sizeMib * MIB;
  if (parentBytes > wantedBytes) {
    throw CRN_ERRORS.error('INVALID_IMAGE', `rootfs parent is ${Math.ceil(parentBytes / MIB)} MiB, larger than rootfs.size_mib (${sizeMib} MiB)`);
  }
  const tmp = `${final}.tmp-${randomBytes(4).toString('hex')}`;
  try {
    // cp only copies bytes (no parsing): run as is, by its absolute path.
    const copy = await run(requireTool('cp', 'coreutils'), ['--sparse=always', '--', parentPath, tmp]);
    if (copy.code !== 0) throw new Error(`cannot copy the parent image: ${lastLines(copy.output)}`);
    await truncate(tmp, wantedBytes);
    // -p repairs what is safe to repair; 1 and 2 mean "errors corrected" (2 matters only for a mounted root).
    const fsck = await jailed(requireTool('e2fsck', 'e2fsprogs'), ['-f', '-p'], tmp, limits);
    if (fsck.code > 2) throw CRN_ERRORS.error('INVALID_IMAGE', `rootfs parent: e2fsck found errors it cannot repair (${fsck.why}): ${lastLines(fsck.output)}`);
    const resize = await jailed(requireTool('resize2fs', 'e2fsprogs'), [], tmp, limits);
    if (resize.code !== 0) throw CRN_ERRORS.error('INVALID_IMAGE', `rootfs parent: resize2fs to ${sizeMib} MiB failed (${resize.why}): ${lastLines(resize.output)}`);
    await rename(tmp, final);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  return final;
}

/** Runs an e2fsprogs tool jailed on the disk at `image` (seen as /disk.img inside). */
async function jailed(tool: string, args: string[], image: string, limits: DiskToolLimits): Promise<{ code: number; why: string; output: string }> {
  const result = await runJailedTool({
    command: [tool, ...args, '/disk.img'],
    outputs: [{ src: image, dest: '/disk.img' }],
    memoryMib: limits.memoryMib,
    timeoutMs: limits.timeoutMs,
  });
  // A kill (memory cap, timeout) is a failure of the image, as an exit code over 2 is.
  const code = result.code ?? 128;
  const why = result.oomKilled ? `over its ${limits.memoryMib} MiB memory cap` : result.code === null ? `killed by ${result.signal}` : `exit ${result.code}`;
  return { code, why, output: result.output };
}

/** Removes the instance's disk and everything else kept for it (forget, erase). */
export function removeInstanceData(instancesDir: string, id: string): void {
  rmSync(instanceDir(instancesDir, id), { recursive: true, force: true });
}
