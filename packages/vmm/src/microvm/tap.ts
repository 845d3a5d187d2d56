/**
 * One tap device and one IPv4 /24 per microVM, as the reference lays them out
 * (guest-and-network.md §8.2): VM number `n` gets tap `<prefix><n>` and subnet `n` of the pool
 * (`172.16.0.0/12` → `172.(16 + ⌊n/256⌋).(n mod 256).0/24`), host `.1` on the tap, guest `.2`.
 *
 * Numbers are leased host-wide with exclusive-create files, so several supervisors (tests, a
 * crashed and a restarted one) never hand out the same tap or subnet. NAT and isolation rules
 * are not installed here yet: the guest only reaches the host's tap address.
 */
import { execFile } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { toolPath } from './tool-paths.ts';
import { ipv6Lease, ipv6SubnetCount, type Ipv6Lease } from '../net/ipv6.ts';

const run = promisify(execFile);

export interface TapPoolConfig {
  /** Host-wide directory of lease files. */
  leaseDir: string;
  /** IPv4 pool in CIDR notation, cut into /24s (reference default `172.16.0.0/12`). */
  pool: string;
  /** Interface name prefix; the reference uses `vmtap`. */
  prefix: string;
  /** Lowest VM number (the reference starts at 4). */
  firstId: number;
  /** `ip`: an absolute path, or a bare name looked up in the system directories (never PATH). */
  ipPath: string;
  /**
   * The node's routed IPv6 range (e.g. a /64); VM number n gets its n-th /124 (net/ipv6.ts).
   * Unset: the VMs have IPv4 only.
   */
  ipv6Range?: string | undefined;
}

export const DEFAULT_TAP_POOL: Omit<TapPoolConfig, 'leaseDir'> = {
  pool: '172.16.0.0/12',
  prefix: 'vmtap',
  firstId: 4,
  ipPath: 'ip',
};

export interface TapLease {
  id: number;
  ifname: string;
  hostIp: string;
  guestIp: string;
  prefixLength: 24;
  mac: string;
  /** The VM's IPv6 /124, when the pool has an IPv6 range. */
  ipv6?: Ipv6Lease | undefined;
}

function parseIpv4(text: string): number {
  const parts = text.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`invalid IPv4 address ${text}`);
  return (((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!) >>> 0;
}

function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

/** Number of /24 subnets in the pool and its first address. */
export function poolRange(pool: string): { base: number; subnets: number } {
  const [address, lengthText] = pool.split('/');
  const length = Number(lengthText);
  if (!address || !Number.isInteger(length) || length < 8 || length > 24) throw new Error(`IPv4 pool ${pool} must be a CIDR between /8 and /24`);
  const mask = length === 0 ? 0 : (~0 << (32 - length)) >>> 0;
  const base = (parseIpv4(address) & mask) >>> 0;
  return { base, subnets: 2 ** (24 - length) };
}

/** Addresses and names of VM number `id` (pure). */
export function tapAddresses(config: Pick<TapPoolConfig, 'pool' | 'prefix' | 'ipv6Range'>, id: number): TapLease {
  const { base, subnets } = poolRange(config.pool);
  if (!Number.isInteger(id) || id < 0 || id >= subnets) throw new Error(`VM number ${id} is outside the pool ${config.pool}`);
  const subnet = base + id * 256;
  return {
    id,
    ifname: `${config.prefix}${id}`,
    hostIp: formatIpv4(subnet + 1),
    guestIp: formatIpv4(subnet + 2),
    prefixLength: 24,
    // Locally administered, unique per VM number.
    mac: `52:54:00:${((id >> 16) & 255).toString(16).padStart(2, '0')}:${((id >> 8) & 255).toString(16).padStart(2, '0')}:${(id & 255).toString(16).padStart(2, '0')}`,
    ...(config.ipv6Range ? { ipv6: ipv6Lease(config.ipv6Range, id) } : {}),
  };
}

async function ip(config: TapPoolConfig, args: string[]): Promise<void> {
  try {
    await run(toolPath(config.ipPath, 'iproute2'), args, { timeout: 10_000, env: {} });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')}: ${(e.stderr || e.message).trim()}`);
  }
}

/**
 * IPv4 addresses configured on any interface of the host. A subnet in use there is skipped even
 * when no lease of ours names it: another tool, or a pool shared under another prefix or lease
 * directory, would otherwise get the same /24 on a second interface, and the host would route
 * that subnet's traffic to whichever VM it finds first.
 */
async function hostSubnets(config: TapPoolConfig): Promise<Set<string>> {
  try {
    const { stdout } = await run(toolPath(config.ipPath, 'iproute2'), ['-o', '-4', 'addr', 'show'], { timeout: 10_000, env: {} });
    // Kept as /24 prefixes (`172.16.4`): any address inside a VM subnet makes it unusable.
    return new Set([...stdout.matchAll(/\binet (\d+\.\d+\.\d+)\.\d+\//g)].map((m) => m[1] as string));
  } catch {
    return new Set();
  }
}

function takeLease(config: TapPoolConfig, owner: string, inUse: ReadonlySet<string>): number {
  mkdirSync(config.leaseDir, { recursive: true });
  const { subnets: v4Subnets } = poolRange(config.pool);
  // With an IPv6 range, a number needs a /124 in it as well as a /24 in the IPv4 pool.
  const subnets = config.ipv6Range ? Math.min(v4Subnets, ipv6SubnetCount(config.ipv6Range)) : v4Subnets;
  for (let id = config.firstId; id < subnets; id++) {
    // An interface of that name made by someone else (another tool): leave it alone.
    if (existsSync(`/sys/class/net/${config.prefix}${id}`)) continue;
    if (inUse.has(tapAddresses(config, id).hostIp.replace(/\.\d+$/, ''))) continue;
    try {
      const fd = openSync(join(config.leaseDir, String(id)), 'wx');
      writeSync(fd, owner);
      closeSync(fd);
      return id;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new Error(`no free /24 left in the VM address pool ${config.pool}${config.ipv6Range ? ` (or /124 in ${config.ipv6Range})` : ''}`);
}

function releaseLease(config: TapPoolConfig, id: number, owner: string): void {
  const path = join(config.leaseDir, String(id));
  try {
    if (readFileSync(path, 'utf8') === owner) rmSync(path, { force: true });
  } catch {
    // already released
  }
}

/** Creates the tap of a new VM; `owner` identifies the VM in the lease file. */
export async function createTap(config: TapPoolConfig, owner: string): Promise<TapLease> {
  const id = takeLease(config, owner, await hostSubnets(config));
  const lease = tapAddresses(config, id);
  try {
    await ip(config, ['tuntap', 'add', 'dev', lease.ifname, 'mode', 'tap']);
    await ip(config, ['addr', 'add', `${lease.hostIp}/${lease.prefixLength}`, 'dev', lease.ifname]);
    if (lease.ipv6) {
      // `nodad`: the address is ours alone (the /124 is leased), usable before the guest is up.
      await ip(config, ['-6', 'addr', 'add', `${lease.ipv6.hostIp}/${lease.ipv6.prefixLength}`, 'dev', lease.ifname, 'nodad']);
    }
    await ip(config, ['link', 'set', lease.ifname, 'up']);
  } catch (err) {
    await ip(config, ['link', 'del', lease.ifname]).catch(() => {});
    releaseLease(config, id, owner);
    throw err;
  }
  return lease;
}

export async function deleteTap(config: TapPoolConfig, lease: Pick<TapLease, 'id' | 'ifname'>, owner: string): Promise<void> {
  if (existsSync(`/sys/class/net/${lease.ifname}`)) await ip(config, ['link', 'del', lease.ifname]).catch(() => {});
  releaseLease(config, lease.id, owner);
}

/** Leases whose owner is not in `liveOwners`: their taps are deleted and the leases freed. */
export async function cleanupOrphanTaps(config: TapPoolConfig, isLive: (owner: string) => boolean): Promise<string[]> {
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(config.leaseDir);
  } catch {
    return removed;
  }
  for (const entry of entries) {
    const id = Number(entry);
    if (!Number.isInteger(id)) continue;
    let owner: string;
    try {
      owner = readFileSync(join(config.leaseDir, entry), 'utf8');
    } catch {
      continue;
    }
    if (isLive(owner)) continue;
    // Only its name matters here (a lease of another CRN may lie outside our IPv6 range).
    const lease = tapAddresses({ ...config, ipv6Range: undefined }, id);
    await deleteTap(config, lease, owner);
    removed.push(lease.ifname);
  }
  return removed;
}
