/**
 * Facts about the host, read from /proc, /sys and the OS, with no judgement: `checks.ts` turns
 * them into pass/fail against the operator requirements. Every reader tolerates a missing file
 * (containers and VMs hide many) and says "unknown" rather than guessing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, statfsSync, statSync } from 'node:fs';
import { arch, cpus, networkInterfaces, totalmem } from 'node:os';
import { basename } from 'node:path';
import { probeSandbox, type SandboxFacts } from './sandbox.ts';

export interface HostFacts {
  arch: string;
  virtualization: { virtual: boolean; kind: string | null };
  cpu: { model: string; cores: number; threads: number; maxMhz: number | null };
  memoryBytes: number;
  storage: { path: string; totalBytes: number; device: string | null; nvme: boolean | null; rotational: boolean | null };
  network: { ipv4: string[]; ipv6: string[] };
  kernel: { tun: boolean; cgroups: 'v2' | 'v1' | null; nftables: boolean; kvmDevice: boolean };
  commands: Record<string, boolean>;
  /** The sandbox probes (bwrap jail, cgroup controllers, nft); absent when not probed. */
  sandbox?: SandboxFacts;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function commandExists(name: string): boolean {
  const dirs = (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat(['/usr/sbin', '/sbin']);
  return dirs.some((d) => existsSync(`${d}/${name}`));
}

export function detectVirtualization(): HostFacts['virtualization'] {
  try {
    const out = execFileSync('systemd-detect-virt', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (out && out !== 'none') return { virtual: true, kind: out };
    if (out === 'none') return { virtual: false, kind: null };
  } catch (err) {
    // systemd-detect-virt exits 1 and prints "none" on bare metal.
    const out = String((err as { stdout?: string }).stdout ?? '').trim();
    if (out === 'none') return { virtual: false, kind: null };
  }
  const vendor = `${readText('/sys/class/dmi/id/sys_vendor') ?? ''} ${readText('/sys/class/dmi/id/product_name') ?? ''}`;
  const known = /(QEMU|KVM|VMware|VirtualBox|Xen|Amazon EC2|Google Compute Engine|Microsoft Corporation|OpenStack|Hetzner vServer|DigitalOcean)/i.exec(vendor);
  if (known) return { virtual: true, kind: (known[1] as string).toLowerCase() };
  // The CPU tells a guest that it runs under a hypervisor.
  if (/^flags\s*:.*\bhypervisor\b/m.test(readText('/proc/cpuinfo') ?? '')) return { virtual: true, kind: 'hypervisor' };
  return { virtual: false, kind: null };
}

export function readCpu(): HostFacts['cpu'] {
  const info = readText('/proc/cpuinfo') ?? '';
  const threads = cpus().length;
  const physical = new Set<string>();
  let currentPhysical = '0';
  for (const line of info.split('\n')) {
    const [key, value] = line.split(':').map((s) => s.trim());
    if (key === 'physical id') currentPhysical = value ?? '0';
    if (key === 'core id') physical.add(`${currentPhysical}:${value}`);
  }
  const perSocketCores = Number(/^cpu cores\s*:\s*(\d+)/m.exec(info)?.[1] ?? NaN);
  const sockets = new Set([...info.matchAll(/^physical id\s*:\s*(\d+)/gm)].map((m) => m[1])).size || 1;
  const cores = physical.size > 0 ? physical.size : Number.isFinite(perSocketCores) ? perSocketCores * sockets : threads;
  const maxKhz = Number(readText('/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq')?.trim() ?? NaN);
  const mhzFromInfo = Math.max(0, ...[...info.matchAll(/^cpu MHz\s*:\s*([\d.]+)/gm)].map((m) => Number(m[1])));
  const maxMhz = Number.isFinite(maxKhz) ? Math.round(maxKhz / 1000) : mhzFromInfo > 0 ? Math.round(mhzFromInfo) : null;
  return { model: cpus()[0]?.model ?? 'unknown', cores, threads, maxMhz };
}

/** The block device holding `path`, and whether it is NVMe / rotational. */
export function readStorage(path: string): HostFacts['storage'] {
  const fs = statfsSync(path);
  const totalBytes = fs.blocks * fs.bsize;
  let device: string | null = null;
  let nvme: boolean | null = null;
  let rotational: boolean | null = null;
  try {
    const dev = statSync(path).dev;
    const major = Math.floor(dev / 256) & 0xfff;
    const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
    const link = readlinkSync(`/sys/dev/block/${major}:${minor}`);
    // .../block/nvme0n1/nvme0n1p2 → the disk is the parent of a partition.
    const parts = link.split('/');
    const blockIdx = parts.lastIndexOf('block');
    const disk = blockIdx >= 0 ? (parts[blockIdx + 1] ?? basename(link)) : basename(link);
    device = disk;
    nvme = disk.startsWith('nvme');
    const rot = readText(`/sys/block/${disk}/queue/rotational`);
    rotational = rot === null ? null : rot.trim() === '1';
  } catch {
    // overlay and network filesystems have no block device of their own
  }
  return { path, totalBytes, device, nvme, rotational };
}

export function readNetwork(): HostFacts['network'] {
  const ipv4: string[] = [];
  const ipv6: string[] = [];
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.internal) continue;
      if (a.family === 'IPv4') ipv4.push(a.address);
      // Only global unicast (2000::/3) counts: link-local and ULA are not reachable from the network.
      else if (/^[23][0-9a-f]{3}:/i.test(a.address)) ipv6.push(a.address);
    }
  }
  return { ipv4, ipv6 };
}

export function readKernel(): HostFacts['kernel'] {
  const cgroups = existsSync('/sys/fs/cgroup/cgroup.controllers')
    ? 'v2'
    : existsSync('/sys/fs/cgroup/memory') && existsSync('/sys/fs/cgroup/pids')
      ? 'v1'
      : null;
  const nftables = existsSync('/sys/module/nf_tables') || commandExists('nft');
  return { tun: existsSync('/dev/net/tun'), cgroups, nftables, kvmDevice: existsSync('/dev/kvm') };
}

export const REQUIRED_COMMANDS = ['qemu-system-x86_64', 'ip', 'unshare', 'setpriv', 'nsenter', 'bwrap', 'nft', 'mksquashfs'] as const;

export function gatherFacts(dataDir: string): HostFacts {
  return {
    arch: arch() === 'x64' ? 'x86_64' : arch(),
    virtualization: detectVirtualization(),
    cpu: readCpu(),
    memoryBytes: totalmem(),
    // The command refuses a data dir that does not exist: checking another filesystem would mislead.
    storage: readStorage(dataDir),
    network: readNetwork(),
    kernel: readKernel(),
    commands: Object.fromEntries(REQUIRED_COMMANDS.map((c) => [c, commandExists(c)])),
    sandbox: probeSandbox(),
  };
}
