/**
 * Memory, CPU, pid and block IO limits for workloads (process workloads, microVM QEMUs, jailed
 * image tools), on cgroup v2 (production hosts: unified hierarchy at /sys/fs/cgroup) or cgroup
 * v1 (one hierarchy per controller, as on this build machine). The layout is detected once when
 * an executor starts.
 *
 * A process joins its group before it runs anything (execInCgroup: a shell stage made of
 * builtins writes its own pid, then execs the program), so no workload code ever runs outside.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Bandwidth caps on one block device (blk-throttle: works with any IO scheduler). */
export interface CgroupIoLimits {
  /** `major:minor` of a whole block device (blockDeviceOf). */
  device: string;
  readBps?: number | undefined;
  writeBps?: number | undefined;
  readIops?: number | undefined;
  writeIops?: number | undefined;
}

export interface CgroupLimits {
  memoryMib: number;
  vcpus: number;
  pids: number;
  /** Block IO caps; on v1 only when the blkio hierarchy is mounted (buffered writes are not throttled there). */
  io?: CgroupIoLimits | undefined;
}

const CPU_PERIOD_US = 100_000;
const V1_CONTROLLERS = ['memory', 'cpu', 'pids'] as const;
/** Mounted on most v1 hosts; used when present (IO caps), never required. */
const V1_OPTIONAL = ['blkio'] as const;

export interface CgroupLayout {
  version: 1 | 2;
  /** Directories of one group (one per controller on v1). */
  dirsOf(name: string): string[];
  /** Names of this executor's groups. */
  list(): string[];
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** `parent` is the directory under each hierarchy that holds this executor's groups. */
export function detectCgroups(parent: string, root = '/sys/fs/cgroup'): CgroupLayout {
  if (existsSync(join(root, 'cgroup.controllers')) && !existsSync(join(root, 'memory', 'memory.limit_in_bytes'))) {
    const base = join(root, parent);
    return {
      version: 2,
      dirsOf: (name) => [join(base, name)],
      list: () => listDirs(base),
    };
  }
  for (const c of V1_CONTROLLERS) {
    if (!existsSync(join(root, c, 'cgroup.procs'))) {
      throw new Error(`no cgroup v2 at ${root} and no cgroup v1 ${c} hierarchy: the process executor needs one`);
    }
  }
  const controllers = [...V1_CONTROLLERS, ...V1_OPTIONAL.filter((c) => existsSync(join(root, c, 'cgroup.procs')))];
  return {
    version: 1,
    dirsOf: (name) => controllers.map((c) => join(root, c, parent, name)),
    list: () => listDirs(join(root, 'memory', parent)),
  };
}

/**
 * `major:minor` of the whole block device holding `path` (a partition resolves to its disk), or
 * undefined for file systems without one (tmpfs, overlay): IO caps are then not applied.
 */
export function blockDeviceOf(path: string): string | undefined {
  let dev: number;
  try {
    dev = statSync(path).dev;
  } catch {
    return undefined;
  }
  // Linux's dev_t encoding (glibc major()/minor()).
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | (Math.floor(dev / 4096) & ~0xff & 0xfffff);
  if (major === 0) return undefined;
  const id = `${major}:${minor}`;
  if (!existsSync(`/sys/dev/block/${id}`)) return undefined;
  if (existsSync(`/sys/dev/block/${id}/partition`)) {
    const parent = readIfExists(`/sys/dev/block/${id}/../dev`)?.trim();
    return parent && /^\d+:\d+$/.test(parent) ? parent : undefined;
  }
  return id;
}

/** The `io.max` / blkio.throttle values of `io` (pure). */
export function ioMaxLine(io: CgroupIoLimits): string {
  const value = (n: number | undefined) => (n && n > 0 ? String(Math.floor(n)) : 'max');
  return `${io.device} rbps=${value(io.readBps)} wbps=${value(io.writeBps)} riops=${value(io.readIops)} wiops=${value(io.writeIops)}`;
}

/**
 * The command that runs `file args` inside the group: `sh -c` writes its own pid into every
 * `cgroup.procs` (shell builtins only, nothing else runs first), then execs `file` (absolute)
 * in the same process. Exits 125 when joining fails.
 */
export function execInCgroup(sh: string, procsFiles: readonly string[], file: string, args: readonly string[]): { file: string; args: string[] } {
  if (!sh.startsWith('/') || !file.startsWith('/')) throw new Error('execInCgroup needs absolute paths');
  const joins = procsFiles.map((_, i) => `echo $$ > "\${${i + 1}}" || exit 125`);
  const script = [...joins, `shift ${procsFiles.length}`, 'exec "$@"'].join('\n');
  return { file: sh, args: ['-c', script, 'sh', ...procsFiles, file, ...args] };
}

function listDirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}

/** Enables the controllers for children on the v2 path from the root down to `dir`'s parent. */
function enableV2Controllers(dir: string, root: string): void {
  const rel = dir.slice(root.length).split('/').filter(Boolean);
  let current = root;
  const enable = (dir: string) => {
    try {
      // Separately: a host without the io controller must still get the others.
      writeFileSync(join(dir, 'cgroup.subtree_control'), '+io');
    } catch {
      // IO caps are best effort (see CgroupLimits.io)
    }
    try {
      writeFileSync(join(dir, 'cgroup.subtree_control'), '+memory +cpu +pids');
    } catch {
      // Already enabled, or delegated by the service manager: the limit writes below will tell.
    }
  };
  for (const part of rel.slice(0, -1)) {
    enable(current);
    current = join(current, part);
    mkdirSync(current, { recursive: true });
  }
  enable(current);
}

export class Cgroup {
  constructor(
    readonly layout: CgroupLayout,
    readonly name: string,
    private readonly root = '/sys/fs/cgroup',
  ) {}

  get dirs(): string[] {
    return this.layout.dirsOf(this.name);
  }

  /** Files a process writes its pid into to join the group (all controllers). */
  get procsFiles(): string[] {
    return this.dirs.map((d) => join(d, 'cgroup.procs'));
  }

  create(limits: CgroupLimits): void {
    const bytes = String(limits.memoryMib * 1024 * 1024);
    const quota = String(Math.round(limits.vcpus * CPU_PERIOD_US));
    if (this.layout.version === 2) {
      const [dir] = this.dirs as [string];
      enableV2Controllers(dir, this.root);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'memory.max'), bytes);
      if (existsSync(join(dir, 'memory.swap.max'))) writeFileSync(join(dir, 'memory.swap.max'), '0');
      writeFileSync(join(dir, 'cpu.max'), `${quota} ${CPU_PERIOD_US}`);
      writeFileSync(join(dir, 'pids.max'), String(limits.pids));
      if (limits.io && existsSync(join(dir, 'io.max'))) writeFileSync(join(dir, 'io.max'), ioMaxLine(limits.io));
      return;
    }
    const [memory, cpu, pids, blkio] = this.dirs as [string, string, string, string | undefined];
    for (const d of this.dirs) mkdirSync(d, { recursive: true });
    writeFileSync(join(memory, 'memory.limit_in_bytes'), bytes);
    // Without a swap limit a v1 group would page out instead of hitting its limit.
    if (existsSync(join(memory, 'memory.memsw.limit_in_bytes'))) writeFileSync(join(memory, 'memory.memsw.limit_in_bytes'), bytes);
    writeFileSync(join(cpu, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
    writeFileSync(join(cpu, 'cpu.cfs_quota_us'), quota);
    writeFileSync(join(pids, 'pids.max'), String(limits.pids));
    if (limits.io && blkio) {
      const io = limits.io;
      const caps = [
        ['blkio.throttle.read_bps_device', io.readBps],
        ['blkio.throttle.write_bps_device', io.writeBps],
        ['blkio.throttle.read_iops_device', io.readIops],
        ['blkio.throttle.write_iops_device', io.writeIops],
      ] as const;
      for (const [file, value] of caps) {
        if (value && value > 0 && existsSync(join(blkio, file))) writeFileSync(join(blkio, file), `${io.device} ${Math.floor(value)}`);
      }
    }
  }

  /** The memory limit in force, in bytes (read back from the kernel). */
  memoryLimitBytes(): number | undefined {
    const dir = this.dirs[0] as string;
    const text = readIfExists(join(dir, this.layout.version === 2 ? 'memory.max' : 'memory.limit_in_bytes'))?.trim();
    const value = Number(text);
    return text !== undefined && text !== 'max' && Number.isFinite(value) ? value : undefined;
  }

  exists(): boolean {
    return this.dirs.every((d) => existsSync(d));
  }

  /** Every process in the group (read from the first hierarchy; all hold the same processes). */
  pids(): number[] {
    const seen = new Set<number>();
    for (const d of this.dirs) {
      const text = readIfExists(join(d, 'cgroup.procs')) ?? '';
      for (const line of text.split('\n')) if (line.trim()) seen.add(Number(line));
    }
    return [...seen];
  }

  /** Highest memory use of the group so far, in bytes (v1 max_usage_in_bytes, v2 memory.peak). */
  memoryPeakBytes(): number | undefined {
    const dir = this.dirs[0] as string;
    const text = readIfExists(join(dir, this.layout.version === 2 ? 'memory.peak' : 'memory.max_usage_in_bytes'));
    const value = Number(text?.trim());
    return text !== undefined && Number.isFinite(value) ? value : undefined;
  }

  /** True when the kernel's OOM killer acted in this group. */
  oomKilled(): boolean {
    const dir = this.dirs[0] as string;
    if (this.layout.version === 2) return /\boom_kill [1-9]/.test(readIfExists(join(dir, 'memory.events')) ?? '');
    return /\boom_kill [1-9]/.test(readIfExists(join(dir, 'memory.oom_control')) ?? '');
  }

  signalAll(signal: NodeJS.Signals, except: ReadonlySet<number> = new Set()): void {
    for (const pid of this.pids()) {
      if (except.has(pid)) continue;
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
  }

  /** Kills what is left and removes the directories (a group can only be removed when empty). */
  async destroy(): Promise<void> {
    for (let attempt = 0; attempt < 50; attempt++) {
      this.signalAll('SIGKILL');
      let allGone = true;
      for (const d of this.dirs) {
        if (!existsSync(d)) continue;
        try {
          rmdirSync(d);
        } catch {
          allGone = false;
        }
      }
      if (allGone) return;
      await new Promise((r) => setTimeout(r, 20 + attempt * 10));
    }
    throw new Error(`cgroup ${this.name} could not be removed`);
  }
}
