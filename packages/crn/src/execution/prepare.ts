/**
 * From a PROGRAM message to what the executor runs: code and immutable volumes downloaded
 * through the cache (sha256-verified) and extracted safely, persistent volumes as directories
 * kept per execution, the environment from the message's variables.
 *
 * For the `process` executor the host is the runtime: `runtime.ref` is not downloaded (it is a
 * squashfs root filesystem meant for microVMs).
 *
 * Every path the message names (entrypoint, volume mounts and names) is checked before the
 * first download (program-paths.ts), and every file or directory made from one is created
 * through `resolveInside`/`writeFileInside`: no component may be a symlink, nothing lands
 * outside its directory.
 */
import { lstatSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { isEphemeralVolume, isImmutableVolume, programInterface, sha256Hex, type ProgramContent, type Volume } from '@aleph-nodes/protocol';
import { resolveInside, UnsafePathError, writeFileInside } from '@aleph-nodes/service';
import type { VolumeSpec } from '@aleph-nodes/vmm';
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
  /** Backends with their own root file system (microVMs) need `runtime.ref`; `process` uses the host. */
  downloadRuntime: boolean;
  /** The backend serves ASGI programs (its `asgi` capability); absent means no. */
  asgi?: boolean | undefined;
}

export interface PreparedProgram {
  codeDir: string;
  entrypoint: string;
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
  if (asgi && !ctx.asgi) {
    throw CRN_ERRORS.error('UNSUPPORTED_WORKLOAD', 'ASGI programs (entrypoint module:app) need the microvm executor; use an executable entrypoint');
  }
  const cacheKeys: string[] = [];
  let diskBytes = 0;
  const plain = content.code.encoding === 'plain';
  const code = await storedFile(ctx, await resolveRef(ctx, content.code.ref, content.code.use_latest, content.address), 'code', plain ? MAX_PLAIN_CODE_BYTES : ctx.maxDownloadBytes);
  cacheKeys.push(DownloadCache.keyOfFile(code.hash));
  diskBytes += code.size;
  let codeDir: string;
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
    default:
      throw CRN_ERRORS.error('UNSUPPORTED_WORKLOAD', `code encoding ${content.code.encoding} needs the microvm executor`);
  }
  diskBytes += code.size;
  // An ASGI entrypoint is a Python `module:app`, not a file: the runtime imports it.
  if (!asgi && !isCodeFile(codeDir, entrypoint)) throw CRN_ERRORS.error('CODE_UNAVAILABLE', `entrypoint ${entrypoint} is not a file of the code`);

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
  if (ctx.downloadRuntime) {
    const runtime = await storedFile(ctx, await resolveRef(ctx, content.runtime.ref, content.runtime.use_latest, content.address), 'runtime');
    cacheKeys.push(DownloadCache.keyOfFile(runtime.hash));
    diskBytes += runtime.size;
    runtimePath = runtime.path;
  }
  return { codeDir, entrypoint, interface: asgi ? 'asgi' : 'executable', volumes, cacheKeys, diskMib: diskMib + Math.ceil(diskBytes / MIB), runtimePath };
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
      const dir = await extractZip(ctx, file, `volume ${i} (only zip volumes are supported by the process executor)`);
      cacheKeys.push(DownloadCache.keyOfDerived(`zip-${file.hash}`));
      diskBytes += file.size * 2;
      volumes.push({ kind: 'immutable', source: dir, mount });
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
