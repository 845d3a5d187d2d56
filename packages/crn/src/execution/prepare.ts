/**
 * From a PROGRAM message to what the executor runs: code and immutable volumes downloaded
 * through the cache (sha256-verified) and extracted safely, persistent volumes as directories
 * kept per execution, the environment from the message's variables.
 *
 * What is prepared follows the executor's declared capabilities (ExecutorCapabilities), never
 * its name: `runtime.ref` is downloaded only for backends with runtime images (the process
 * backend runs on the host's userland); ASGI entrypoints, squashfs code and squashfs/ext4
 * immutable volumes only for backends that take them; anything else is refused naming the
 * missing capability.
 *
 * Every path the message names (entrypoint, volume mounts and names) is checked before the
 * first download (program-paths.ts), and every file or directory made from one is created
 * through `resolveInside`/`writeFileInside`: no component may be a symlink, nothing lands
 * outside its directory.
 */
import { closeSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { isEphemeralVolume, isImmutableVolume, programInterface, sha256Hex, type ProgramContent, type Volume } from '@aleph-nodes/protocol';
import { resolveInside, UnsafePathError, writeFileInside } from '@aleph-nodes/service';
import type { ExecutorCapabilities, VolumeFormat, VolumeSpec } from '@aleph-nodes/vmm';
import type { CcnClient } from '../ccn/ccn-client.ts';
import { CRN_ERRORS } from '../errors.ts';
import { DownloadCache } from '../storage/download-cache.ts';
import { safeUnzip, type UnzipLimits } from '../storage/safe-unzip.ts';
import { checkProgramPaths, checkVolumes } from './program-paths.ts';

export interface PrepareContext {
  ccn: CcnClient;
  cache: DownloadCache;
  volumesDir: string;
  maxDownloadBytes: number;
  unzip: UnzipLimits;
  /** What the executor takes (runtime images, code and volume formats, ASGI). */
  capabilities: ExecutorCapabilities;
}

export interface PreparedProgram {
  codeDir: string;
  entrypoint: string;
  /** A squashfs code STORE, handed to the executor as it is (ExecutionSpec.code.image). */
  codeImage?: string | undefined;
  /** The code's content key (its encoding and STORE hash), for the executor's own caches. */
  contentKey: string;
  interface?: 'asgi' | 'executable' | undefined;
  volumes: VolumeSpec[];
  /** Cache entries in use (pinned while the execution lives). */
  cacheKeys: string[];
  /** Disk this execution reserves: its volumes plus its share of the cache. */
  diskMib: number;
  /** The runtime root file system, when the backend needs one. */
  runtimePath?: string | undefined;
}

const MIB = 1024 * 1024;
/** Inline (`plain`) code is source text: the reference caps it at 10 MB. */
const MAX_PLAIN_CODE_BYTES = 10 * 1000 * 1000;

/** A path refused where it is written (a symlink planted by an archive, a racing writer): 400. */
function unsafe(err: unknown): never {
  if (err instanceof UnsafePathError) throw CRN_ERRORS.error('UNSAFE_PATH', err.message);
  throw err;
}

/** The file behind a STORE message, in the cache (at most `maxBytes`, default `ctx.maxDownloadBytes`). */
export async function storedFile(ctx: PrepareContext, ref: string, what: string, maxBytes = ctx.maxDownloadBytes): Promise<{ path: string; hash: string; size: number }> {
  const store = await ctx.ccn.getMessage(ref).catch((err: Error) => {
    throw CRN_ERRORS.error('CODE_UNAVAILABLE', `${what} ${ref}: ${err.message}`);
  });
  if (!store) throw CRN_ERRORS.error('CODE_UNAVAILABLE', `${what} ${ref} is not known to the CCN`);
  if (store.message.type !== 'STORE') throw CRN_ERRORS.error('CODE_UNAVAILABLE', `${what} ${ref} is not a STORE message`);
  const hash = String(store.content.item_hash ?? '');
  if (store.content.item_type !== 'storage' || !/^[0-9a-f]{64}$/.test(hash)) {
    // IPFS content would need a gateway and CID verification, which this node does not have.
    throw CRN_ERRORS.error('CODE_UNAVAILABLE', `${what} ${ref} is not in the storage engine (IPFS is not supported by this node)`);
  }
  try {
    const path = await ctx.cache.file(hash, maxBytes, () => ctx.ccn.openFile(hash));
    return { path, hash, size: statSync(path).size };
  } catch (err) {
    throw CRN_ERRORS.error('CODE_UNAVAILABLE', `${what} ${ref}: ${(err as Error).message}`);
  }
}

async function extractZip(ctx: PrepareContext, file: { path: string; hash: string }, what: string): Promise<string> {
  try {
    return await ctx.cache.derived(`zip-${file.hash}`, async (dir) => {
      await safeUnzip(file.path, dir, ctx.unzip);
    });
  } catch (err) {
    throw CRN_ERRORS.error('CODE_UNAVAILABLE', `${what}: ${(err as Error).message}`);
  }
}

/** The filesystem image a STORE file holds, by its magic bytes; undefined for anything else (a zip). */
export function imageFormat(path: string): Exclude<VolumeFormat, 'zip'> | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(1082);
    const n = readSync(fd, head, 0, head.length, 0);
    if (n >= 4 && head.toString('latin1', 0, 4) === 'hsqs') return 'squashfs';
    if (n >= 1082 && head.readUInt16LE(1080) === 0xef53) return 'ext4';
    return undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Resolves `use_latest` references to the owner's newest amending STORE (a failed lookup keeps the original). */
export async function resolveRef(ctx: PrepareContext, ref: string, useLatest: boolean | undefined, owner: string): Promise<string> {
  if (!useLatest) return ref;
  return ctx.ccn.latestStoreRef(ref, owner).catch(() => ref);
}

/** lstat: the entrypoint itself must be a regular file of the code, not a link to one. */
function isCodeFile(codeDir: string, entrypoint: string): boolean {
  try {
    return lstatSync(resolveInside(codeDir, entrypoint)).isFile();
  } catch (err) {
    if (!(err instanceof UnsafePathError) && (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return false;
  }
}

export async function prepareProgram(ctx: PrepareContext, executionId: string, content: ProgramContent): Promise<PreparedProgram> {
  // Before any download or write: a refused path fails the start here, with its reason.
  const { entrypoint } = checkProgramPaths(content);
  const asgi = programInterface(content.code) === 'asgi';
  if (asgi && !ctx.capabilities.asgi) {
    throw CRN_ERRORS.error('UNSUPPORTED_WORKLOAD', "ASGI programs (entrypoint module:app) need an executor with the asgi capability, which this node's lacks; use an executable entrypoint");
  }
  if (!ctx.capabilities.codeFormats.includes(content.code.encoding)) {
    throw CRN_ERRORS.error('UNSUPPORTED_WORKLOAD', `code encoding ${content.code.encoding} needs an executor with that code format; this node's takes ${ctx.capabilities.codeFormats.join(', ')}`);
  }
  const cacheKeys: string[] = [];
  let diskBytes = 0;
  const plain = content.code.encoding === 'plain';
  const code = await storedFile(ctx, await resolveRef(ctx, content.code.ref, content.code.use_latest, content.address), 'code', plain ? MAX_PLAIN_CODE_BYTES : ctx.maxDownloadBytes);
  cacheKeys.push(DownloadCache.keyOfFile(code.hash));
  diskBytes += code.size;
  let codeDir: string;
  let codeImage: string | undefined;
  switch (content.code.encoding) {
    case 'zip':
      codeDir = await extractZip(ctx, code, 'code archive');
      cacheKeys.push(DownloadCache.keyOfDerived(`zip-${code.hash}`));
      break;
    case 'plain': {
      const name = `plain-${code.hash}-${sha256Hex(entrypoint).slice(0, 16)}`;
      codeDir = await ctx.cache
        .derived(name, async (dir) => {
          writeFileInside(dir, entrypoint, readFileSync(code.path), 0o755);
        })
        .catch(unsafe);
      cacheKeys.push(DownloadCache.keyOfDerived(name));
      break;
    }
    case 'squashfs':
      // Mounted by the guest as it is: never unpacked on the host. `codeDir` is an empty placeholder.
      if (imageFormat(code.path) !== 'squashfs') throw CRN_ERRORS.error('CODE_UNAVAILABLE', 'code with encoding squashfs is not a squashfs image');
      codeImage = code.path;
      codeDir = await ctx.cache.derived('empty-code', async () => {});
      break;
    default:
      throw CRN_ERRORS.error('UNSUPPORTED_WORKLOAD', `code encoding ${content.code.encoding} is not supported`);
  }
  diskBytes += code.size;
  let isFile = false;
  try {
    // lstat: the entrypoint itself must be a regular file of the code, not a link to one.
    isFile = lstatSync(resolveInside(codeDir, entrypoint)).isFile();
  } catch (err) {
    if (!(err instanceof UnsafePathError) && (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  // An ASGI entrypoint names a module (the runtime imports it); an image is checked in the guest.
  if (!isFile && !asgi && !codeImage) throw CRN_ERRORS.error('CODE_UNAVAILABLE', `entrypoint ${entrypoint} is not a file of the code`);

  const prepared = await prepareVolumes(ctx, executionId, content.volumes as Volume[], content.address);
  const volumes = prepared.volumes;
  cacheKeys.push(...prepared.cacheKeys);
  diskBytes += prepared.cacheBytes;
  const diskMib = prepared.diskMib;
  if (content.data) {
    // Program data (a zip, ≤10 MB in the reference) is unzipped at /data; here it is mounted
    // read-only from the cache, since a process has no per-run copy-on-write layer.
    if (content.data.encoding !== 'zip') throw CRN_ERRORS.error('UNSUPPORTED_WORKLOAD', `data encoding ${content.data.encoding} is not supported by the process executor`);
    const file = await storedFile(ctx, await resolveRef(ctx, content.data.ref, content.data.use_latest, content.address), 'data');
    const dir = await extractZip(ctx, file, 'data archive');
    cacheKeys.push(DownloadCache.keyOfFile(file.hash), DownloadCache.keyOfDerived(`zip-${file.hash}`));
    diskBytes += file.size * 2;
    volumes.push({ kind: 'immutable', source: dir, mount: '/data' });
  }
  let runtimePath: string | undefined;
  if (ctx.capabilities.runtimeImages) {
    const runtime = await storedFile(ctx, await resolveRef(ctx, content.runtime.ref, content.runtime.use_latest, content.address), 'runtime');
    cacheKeys.push(DownloadCache.keyOfFile(runtime.hash));
    diskBytes += runtime.size;
    runtimePath = runtime.path;
  }
  const contentKey = `${content.code.encoding}-${code.hash}`;
  return { codeDir, codeImage, contentKey, entrypoint, interface: asgi ? 'asgi' : 'executable', volumes, cacheKeys, diskMib: diskMib + Math.ceil(diskBytes / MIB), runtimePath };
}

export interface PreparedVolumes {
  volumes: VolumeSpec[];
  cacheKeys: string[];
  /** Bytes the immutable volumes take in the cache (file and extraction). */
  cacheBytes: number;
  /** Writable space the volumes reserve (ephemeral and persistent `size_mib`). */
  diskMib: number;
}

/** The volumes of a PROGRAM or an INSTANCE: immutable ones through the cache, writable ones by size. */
export async function prepareVolumes(ctx: PrepareContext, executionId: string, list: Volume[], owner: string): Promise<PreparedVolumes> {
  // All mount points and names first: nothing is downloaded or created for a refused message.
  const checked = checkVolumes(list);
  const volumes: VolumeSpec[] = [];
  const cacheKeys: string[] = [];
  let diskBytes = 0;
  let diskMib = 0;
  for (const [i, v] of list.entries()) {
    const { mount, dirName } = checked[i] as { mount: string; dirName?: string };
    if (isImmutableVolume(v)) {
      const file = await storedFile(ctx, await resolveRef(ctx, v.ref, v.use_latest, owner), `volume ${i}`);
      cacheKeys.push(DownloadCache.keyOfFile(file.hash));
      const format = imageFormat(file.path) ?? 'zip';
      if (!ctx.capabilities.volumeFormats.includes(format)) {
        throw CRN_ERRORS.error('UNSUPPORTED_WORKLOAD', `volume ${i} is a ${format} image; this node's executor takes ${ctx.capabilities.volumeFormats.join(', ')} volumes`);
      }
      if (format === 'zip') {
        const dir = await extractZip(ctx, file, `volume ${i}`);
        cacheKeys.push(DownloadCache.keyOfDerived(`zip-${file.hash}`));
        diskBytes += file.size * 2;
        volumes.push({ kind: 'immutable', source: dir, mount });
      } else {
        // A filesystem image, mounted read-only by the guest: its bytes stay as they are in the cache.
        diskBytes += file.size;
        volumes.push({ kind: 'immutable', source: file.path, mount });
      }
    } else if (isEphemeralVolume(v)) {
      volumes.push({ kind: 'ephemeral', sizeMib: v.size_mib, mount });
      diskMib += v.size_mib;
    } else {
      const dir = persistentVolumeDir(ctx.volumesDir, executionId, dirName ?? `unamed_volume_${i}`);
      volumes.push({ kind: 'persistent', source: dir, sizeMib: v.size_mib, mount });
      diskMib += v.size_mib;
    }
  }
  return { volumes, cacheKeys, cacheBytes: diskBytes, diskMib };
}

/** `<volumesDir>/<executionId>/<name>`, created one real directory at a time (no symlinked component). */
function persistentVolumeDir(volumesDir: string, executionId: string, name: string): string {
  mkdirSync(volumesDir, { recursive: true, mode: 0o755 });
  try {
    const dir = resolveInside(volumesDir, `${executionId}/${name}`, { createParents: true });
    try {
      mkdirSync(dir, { mode: 0o755 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const st = lstatSync(dir);
    if (st.isSymbolicLink() || !st.isDirectory()) throw new UnsafePathError(`volume ${name} is not a directory of ${volumesDir}`);
    return dir;
  } catch (err) {
    return unsafe(err);
  }
}
