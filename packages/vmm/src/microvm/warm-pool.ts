/**
 * Warm pools of the microVM executor: per runtime, a few VMs booted up to the agent's hello and
 * waiting for code, so that the start of a never-seen program skips the boot.
 *
 * - A pool VM boots with an empty, sparse code drive of `codeMaxMib` (serial `aleph-code`) and no
 *   program. When a program takes it, the host writes the program's code squashfs at the start of
 *   that drive and sends the configuration over the control channel (hostname, network of the
 *   VM's own tap, entrypoint, variables): the agent mounts the drive as it mounts any code drive.
 *   The guest reads nothing of that drive before (squashfs reads its device with its own bios, and
 *   the boot's partition scan only saw zeros), so what it mounts is what the host wrote.
 * - A pool VM serves exactly ONE program: `take` removes it from the pool for good, and the
 *   executor destroys it when that program stops (its tap, cgroup, directory and code drive go
 *   with it). Nothing ever goes back to a pool: no tenant meets another's VM or files.
 * - Only programs that fit a pool VM as it booted take one: same runtime (the same path, or a
 *   file of the same bytes: the CRN downloads a program's runtime into its cache, so the pool's
 *   image and the program's runtime are two files), vCPUs and memory, no
 *   volumes (drives cannot be added to a booted microvm), code no larger than the drive. Others
 *   boot as before.
 * - `refill()` boots the missing VMs, one at a time; the caller runs it in the background (the
 *   CRN: a ServiceLoop, which backs off and logs when a pool fails to boot). A pool VM that dies
 *   while idle leaves the pool and is refilled.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { PrestartKind } from '@aleph-nodes/guest/protocol';
import type { MicroVm } from './vm.ts';

export interface WarmPoolConfig {
  /** Runtime root filesystem (squashfs) the pool's VMs boot; programs naming this path match. */
  runtime: string;
  /** VMs kept booted and waiting. */
  size: number;
  vcpus: number;
  memoryMib: number;
  /** Size of the (sparse) code drive: larger code boots a VM of its own. */
  codeMaxMib: number;
  /**
   * The language each pool VM starts while it waits (guest launcher.ts), so that the program
   * that takes it is imported instead of starting one: no boot AND no language start.
   */
  prestart?: PrestartKind | undefined;
}

/** One booted pool VM: its scratch directory holds `codeImage`, the drive the code is written to. */
export interface PoolVm {
  vm: MicroVm;
  scratch: string;
  codeImage: string;
  pool: WarmPoolConfig;
}

export interface WarmPoolDeps {
  /** Boots one VM of `pool` up to the agent's hello (it cleans up after itself when it fails). */
  boot(pool: WarmPoolConfig): Promise<PoolVm>;
  /** Removes a VM's scratch directory once the VM is gone. */
  release(vm: PoolVm): Promise<void>;
  /** A pool is short of a VM (one was taken and its program started, or one died): refill. */
  onTaken?: (() => void) | undefined;
  onEvent?: ((line: string) => void) | undefined;
}

/** What a program must look like to take a VM of `pool`. */
export interface PoolRequest {
  runtime: string;
  vcpus: number;
  memoryMib: number;
  volumes: number;
  codeBytes: number;
}

export class WarmPools {
  readonly #idle = new Map<WarmPoolConfig, PoolVm[]>();
  #closed = false;
  /** VMs taken since creation (for metrics and tests). */
  taken = 0;

  constructor(
    readonly pools: readonly WarmPoolConfig[],
    private readonly deps: WarmPoolDeps,
  ) {
    for (const pool of pools) this.#idle.set(pool, []);
  }

  /** Idle VMs of the pool of `runtime` (all pools when omitted). */
  idle(runtime?: string): readonly PoolVm[] {
    return [...this.#idle.entries()].filter(([pool]) => runtime === undefined || pool.runtime === runtime).flatMap(([, vms]) => vms);
  }

  /** Memory the pools hold when full: the capacity they take from programs. */
  reservedMemoryMib(): number {
    return this.pools.reduce((sum, pool) => sum + pool.size * pool.memoryMib, 0);
  }

  /** Boots what the pools miss, one VM at a time; throws (after booting what it could) when one fails. */
  async refill(): Promise<void> {
    let failure: unknown;
    for (const pool of this.pools) {
      while (!this.#closed && (this.#idle.get(pool)?.length ?? 0) < pool.size) {
        let entry: PoolVm;
        try {
          entry = await this.deps.boot(pool);
        } catch (err) {
          this.deps.onEvent?.(`warm pool of ${pool.runtime}: a VM failed to boot: ${(err as Error).message}`);
          failure ??= err;
          break;
        }
        if (this.#closed) {
          await this.#destroy(entry);
          break;
        }
        this.#idle.get(pool)!.push(entry);
        // An idle VM that dies (QEMU crash) leaves the pool; the next round boots another.
        void entry.vm.exited.then(() => {
          const list = this.#idle.get(pool)!;
          const index = list.indexOf(entry);
          if (index >= 0) {
            list.splice(index, 1);
            this.deps.onEvent?.(`warm pool of ${pool.runtime}: an idle VM ended on its own`);
            void this.deps.release(entry);
            this.deps.onTaken?.();
          }
        });
      }
    }
    if (failure !== undefined) throw failure;
  }

  /** Takes an idle VM the request fits, out of its pool for good; undefined when none. */
  take(request: PoolRequest): PoolVm | undefined {
    if (this.#closed || request.volumes > 0) return undefined;
    for (const [pool, list] of this.#idle) {
      if (pool.runtime !== request.runtime || pool.vcpus !== request.vcpus || pool.memoryMib !== request.memoryMib) continue;
      if (request.codeBytes > pool.codeMaxMib * 1024 * 1024) continue;
      const index = list.findIndex((entry) => entry.vm.state === 'waiting');
      if (index < 0) continue;
      const [entry] = list.splice(index, 1);
      this.taken += 1;
      // No onTaken here: the executor calls `refillDue` once the program started, so that the
      // refill's boot does not compete for the CPU with the start it is meant to speed up.
      return entry;
    }
    return undefined;
  }

  /** A taken VM's program started (or failed to): the caller's refill may run now. */
  refillDue(): void {
    if (!this.#closed) this.deps.onTaken?.();
  }

  /** Stops every idle VM; no refill boots after it. */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#idle.values()].flat();
    for (const list of this.#idle.values()) list.length = 0;
    await Promise.all(all.map((entry) => this.#destroy(entry)));
  }

  async #destroy(entry: PoolVm): Promise<void> {
    await entry.vm.stop(5000).catch(() => {});
    await this.deps.release(entry);
  }
}

/**
 * Writes a code squashfs into a pool VM's code drive, in place (QEMU holds the file open; the
 * drive keeps its size, the bytes past the image stay zeros the squashfs never reads).
 */
export async function writeCodeImage(source: string, target: string): Promise<void> {
  const input = await open(source, 'r');
  const output = await open(target, 'r+');
  try {
    const buffer = Buffer.allocUnsafe(1024 * 1024);
    let position = 0;
    for (;;) {
      const { bytesRead } = await input.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      await output.write(buffer, 0, bytesRead, position);
      position += bytesRead;
    }
  } finally {
    await input.close();
    await output.close();
  }
}

/** How many runtime digests an executor remembers (one per runtime file it met). */
const MAX_DIGESTS = 64;

/**
 * SHA-256 of runtime files, remembered by path, size, inode and mtime: a runtime is hashed once
 * (the first program naming it), not at every start.
 */
export class RuntimeDigests {
  readonly #digests = new Map<string, { key: string; digest: Promise<string> }>();

  async of(path: string): Promise<string> {
    const st = await stat(path);
    const key = `${st.size}:${st.ino}:${st.mtimeMs}`;
    const known = this.#digests.get(path);
    if (known?.key === key) return known.digest;
    const digest = new Promise<string>((resolve, reject) => {
      const hash = createHash('sha256');
      createReadStream(path, { highWaterMark: 1024 * 1024 }).on('data', (chunk) => hash.update(chunk)).on('error', reject).on('end', () => resolve(hash.digest('hex')));
    });
    digest.catch(() => this.#digests.delete(path));
    this.#digests.delete(path);
    this.#digests.set(path, { key, digest });
    if (this.#digests.size > MAX_DIGESTS) this.#digests.delete(this.#digests.keys().next().value as string);
    return digest;
  }

  /** The pool runtime `runtime` is (same path, or same size and bytes), or undefined. */
  async poolRuntimeOf(pools: readonly WarmPoolConfig[], runtime: string): Promise<string | undefined> {
    const direct = pools.find((pool) => pool.runtime === runtime);
    if (direct) return direct.runtime;
    const size = (await stat(runtime)).size;
    for (const pool of pools) {
      const poolSize = await stat(pool.runtime).then((st) => st.size, () => -1);
      if (poolSize === size && (await this.of(pool.runtime)) === (await this.of(runtime))) return pool.runtime;
    }
    return undefined;
  }
}
