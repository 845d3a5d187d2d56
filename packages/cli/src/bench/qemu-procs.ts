/**
 * The CRN's QEMU processes seen from outside, through /proc (the bench does not reach into the
 * CRN process):
 * - boot attempts: every microVM keeps one directory (`<stateDir>/vm-*`, in QEMU's `-chardev`
 *   console path) across the boot watchdog's retries, and each retry is a new QEMU process. A
 *   sampler lists the processes every 100 ms; a retried attempt has run at least the watchdog's
 *   stall time (seconds), so none is missed. attempts − VMs = retries.
 * - memory: RSS and PSS of each QEMU (smaps_rollup), and the resident part of its guest RAM
 *   mapping (smaps: the anonymous mapping of the guest's memory size), so that the VMM's own
 *   overhead is RSS − touched guest RAM.
 */
import { KERNEL_ARG } from '@aleph-nodes/guest/protocol';
import { readdirSync, readFileSync } from 'node:fs';

export interface QemuProcess {
  pid: number;
  /** The VM's directory (from the console path): one per VM, shared by its boot attempts. */
  vmDir: string;
}

/**
 * The VM directory of a CRN's QEMU command line (the directory of its console file), or
 * undefined for the accelerator probe guests (`aleph.probe=1`), which are no workload.
 */
export function vmDirOfQemu(argv: readonly string[]): string | undefined {
  if (argv.some((a) => a.includes(KERNEL_ARG.probe))) return undefined;
  const prefix = 'file,id=console,path=';
  const chardev = argv.find((a) => a.startsWith(prefix));
  if (!chardev) return undefined;
  // QEMU escapes a comma in an option value by doubling it.
  return chardev.slice(prefix.length).replace(/,,/g, ',').replace(/\/[^/]*$/, '');
}

/** QEMU processes whose command line mentions `marker` (the CRN's data dir), KVM/TCG probes excluded. */
export function listQemu(marker: string): QemuProcess[] {
  const found: QemuProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone meanwhile
    }
    if (!argv[0]?.includes('qemu-system') || !argv.some((a) => a.includes(marker))) continue;
    const vmDir = vmDirOfQemu(argv);
    if (vmDir !== undefined) found.push({ pid: Number(entry), vmDir });
  }
  return found;
}

/** Samples the QEMU processes of one CRN until stopped: VMs seen and their boot attempts. */
export class QemuSampler {
  readonly #attempts = new Map<string, Set<number>>();
  readonly #timer: NodeJS.Timeout;

  constructor(private readonly marker: string, intervalMs = 100) {
    this.#timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): void {
    for (const p of listQemu(this.marker)) {
      const pids = this.#attempts.get(p.vmDir) ?? new Set<number>();
      pids.add(p.pid);
      this.#attempts.set(p.vmDir, pids);
    }
  }

  /** VMs seen, QEMU processes started for them (boot attempts), and retries. */
  counts(): { vms: number; attempts: number; retries: number } {
    let attempts = 0;
    for (const pids of this.#attempts.values()) attempts += pids.size;
    return { vms: this.#attempts.size, attempts, retries: attempts - this.#attempts.size };
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

export interface QemuMemory {
  pid: number;
  rssKiB: number;
  pssKiB: number;
  /** Resident part of the guest RAM mapping. */
  guestRamRssKiB: number;
  guestRamPssKiB: number;
  /** Resident part of TCG's translated-code cache (0 under KVM): the largest other anonymous rwx mapping. */
  tcgCodeCacheRssKiB: number;
}

function field(block: string, name: string): number {
  return Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(block)?.[1] ?? 0);
}

/**
 * Memory of one QEMU process from its smaps_rollup and smaps texts (pure). The guest RAM is the
 * anonymous read-write mapping whose size is the guest's memory (QEMU may round it up to an
 * alignment, hence the tolerance); TCG's code cache is the largest anonymous rwx mapping.
 */
export function parseQemuMemory(pid: number, rollup: string, smaps: string, guestMemoryMib: number): QemuMemory {
  // Each mapping starts with a header line "start-end perms offset dev inode [path]".
  const blocks = smaps.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/);
  const guestKiB = guestMemoryMib * 1024;
  let guest: string | undefined;
  let code: string | undefined;
  let codeSize = 0;
  for (const block of blocks) {
    const header = block.slice(0, block.indexOf('\n'));
    const parts = header.trim().split(/\s+/);
    const anonymous = parts.length < 6;
    if (!anonymous) continue;
    const size = field(block, 'Size');
    if (!guest && size >= guestKiB && size <= guestKiB + 4096 && parts[1]?.startsWith('rw')) {
      guest = block;
      continue;
    }
    if (parts[1] === 'rwxp' && size > codeSize) {
      code = block;
      codeSize = size;
    }
  }
  return {
    pid,
    rssKiB: field(rollup, 'Rss'),
    pssKiB: field(rollup, 'Pss'),
    guestRamRssKiB: guest ? field(guest, 'Rss') : 0,
    guestRamPssKiB: guest ? field(guest, 'Pss') : 0,
    tcgCodeCacheRssKiB: code ? field(code, 'Rss') : 0,
  };
}

/** Memory of one running QEMU process. */
export function qemuMemory(pid: number, guestMemoryMib: number): QemuMemory {
  return parseQemuMemory(pid, readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), readFileSync(`/proc/${pid}/smaps`, 'utf8'), guestMemoryMib);
}

/** Proportional set size of any process, in KiB. */
export function pssKiB(pid: number): number {
  return field(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), 'Pss');
}

/** MemAvailable of the host, in KiB. */
export function memAvailableKiB(): number {
  return field(readFileSync('/proc/meminfo', 'utf8'), 'MemAvailable');
}
