/**
 * Per-workload networking for the process backend: a network namespace joined to the host by a
 * veth pair on a private /30 (host .1, workload .2 on the namespace's `eth0`). The supervisor
 * reaches the workload at `<.2>:8080`, exactly as it reaches a microVM at its guest address.
 *
 * Filtering is the shared nftables firewall (net/firewall.ts) in this executor's own table,
 * matching its veths by name prefix: the workload cannot open connections to the host (its
 * gateway included) nor to other workloads; with `internet` it gets a default route, and its
 * veth joins the table's `internet` set (NAT to public unicast destinations only). The namespace
 * belongs to the host's user namespace, so the jailed workload (in a user namespace of its own,
 * without capabilities) can change neither its addresses, nor its routes, nor any rule.
 *
 * /30 subnets are leased host-wide with exclusive-create files, so several supervisors on one
 * host (tests, a crashed and a restarted one) never hand out the same subnet; the lease number
 * also gives the workload its host uid (host/ids.ts).
 */
import { execFile } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Firewall } from '../net/firewall.ts';

const run = promisify(execFile);

export interface NetworkConfig {
  /** Directory of the host-wide lease files. */
  leaseDir: string;
  /** First address of the pool, a /16: `10.213.0.0`. */
  poolBase: string;
  /** Resolved path of `ip`. */
  ipPath: string;
  firewall: Firewall;
}

export interface NetworkInfo {
  netns: string;
  hostIf: string;
  lease: number;
  hostIp: string;
  guestIp: string;
  internet: boolean;
}

const POOL_SIZE = 16384; // /30 subnets in a /16
/** The workload's side of the veth, inside its namespace. */
export const GUEST_IF = 'eth0';

function addressOf(base: string, offset: number): string {
  const parts = base.split('.').map(Number);
  const value = (((parts[0] ?? 0) << 24) | ((parts[1] ?? 0) << 16) | ((parts[2] ?? 0) << 8) | (parts[3] ?? 0)) + offset;
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

async function ip(cfg: NetworkConfig, ...args: string[]): Promise<void> {
  await run(cfg.ipPath, args, { timeout: 10_000 });
}

export function netnsExists(name: string): boolean {
  return existsSync(join('/run/netns', name));
}

/** Takes a free /30 lease, recording `owner` (the netns name) in the file. */
function takeLease(cfg: NetworkConfig, owner: string): number {
  mkdirSync(cfg.leaseDir, { recursive: true });
  const start = Math.floor(Math.random() * POOL_SIZE);
  for (let i = 0; i < POOL_SIZE; i++) {
    const lease = (start + i) % POOL_SIZE;
    const path = join(cfg.leaseDir, String(lease));
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, owner);
      closeSync(fd);
      return lease;
    } catch (err) {
      // Taken by another execution (of any supervisor on this host): try the next one.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new Error('no free /30 subnet left in the workload address pool');
}

function releaseLease(cfg: NetworkConfig, lease: number, owner: string): void {
  const path = join(cfg.leaseDir, String(lease));
  try {
    if (readFileSync(path, 'utf8') === owner) rmSync(path, { force: true });
  } catch {
    // already released
  }
}

/** Leases held by namespaces whose names start with `prefix` (for orphan cleanup). */
export function leasesWithPrefix(cfg: Pick<NetworkConfig, 'leaseDir'>, prefix: string): { lease: number; owner: string }[] {
  const out: { lease: number; owner: string }[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(cfg.leaseDir);
  } catch {
    return out;
  }
  for (const name of names) {
    try {
      const owner = readFileSync(join(cfg.leaseDir, name), 'utf8');
      if (owner.startsWith(prefix)) out.push({ lease: Number(name), owner });
    } catch {
      // raced with a release
    }
  }
  return out;
}

export async function createNetwork(cfg: NetworkConfig, netns: string, hostIf: string, internet: boolean): Promise<NetworkInfo> {
  const lease = takeLease(cfg, netns);
  const hostIp = addressOf(cfg.poolBase, lease * 4 + 1);
  const guestIp = addressOf(cfg.poolBase, lease * 4 + 2);
  const info: NetworkInfo = { netns, hostIf, lease, hostIp, guestIp, internet };
  try {
    // The table's input-drop rules must exist before the workload has an interface.
    await cfg.firewall.ensure();
    await ip(cfg, 'netns', 'add', netns);
    await ip(cfg, 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', GUEST_IF, 'netns', netns);
    await ip(cfg, 'addr', 'add', `${hostIp}/30`, 'dev', hostIf);
    await ip(cfg, 'link', 'set', hostIf, 'up');
    await ip(cfg, '-n', netns, 'link', 'set', 'lo', 'up');
    await ip(cfg, '-n', netns, 'addr', 'add', `${guestIp}/30`, 'dev', GUEST_IF);
    await ip(cfg, '-n', netns, 'link', 'set', GUEST_IF, 'up');
    if (internet) {
      await ip(cfg, '-n', netns, 'route', 'add', 'default', 'via', hostIp);
      await cfg.firewall.allowInternet(hostIf);
    }
    return info;
  } catch (err) {
    await destroyNetwork(cfg, info);
    throw err;
  }
}

/** Removes the firewall element, the veth pair, the namespace and the lease; tolerates partial state. */
export async function destroyNetwork(cfg: NetworkConfig, info: NetworkInfo): Promise<void> {
  await cfg.firewall.revokeInternet(info.hostIf).catch(() => undefined);
  await ip(cfg, 'link', 'del', info.hostIf).catch(() => undefined);
  await ip(cfg, 'netns', 'del', info.netns).catch(() => undefined);
  if (info.lease >= 0) releaseLease(cfg, info.lease, info.netns);
}

/** Names of network namespaces starting with `prefix`. */
export function listNetns(prefix: string): string[] {
  try {
    return readdirSync('/run/netns').filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
}
