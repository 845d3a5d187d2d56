/**
 * From an INSTANCE message to what the microvm executor boots (crn-api.md §6.3): the root
 * disk made once from `rootfs.parent` (a STORE of a raw ext4 image, downloaded through the
 * verified, size-capped cache), the owner's SSH keys, the hostname, the volumes, and the host
 * ports forwarded to it (22/tcp always, plus the owner's `port-forwarding` aggregate).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashToHostLabel, isSha256Hex, type InstanceContent, type Volume } from '@aleph-nodes/protocol';
import type { PortForward, VolumeSpec } from '@aleph-nodes/vmm';
import type { CcnClient } from '../ccn/ccn-client.ts';
import type { DesiredPorts, PortForwardTable } from '../db/port-forwards.ts';
import { CRN_ERRORS } from '../errors.ts';
import { DownloadCache } from '../storage/download-cache.ts';
import { ensureRootDisk, instanceDir, rootDiskExists, rootDiskPath } from './instance-disk.ts';
import { prepareVolumes, resolveRef, storedFile, type PrepareContext } from './prepare.ts';

export interface InstancePrepareContext extends PrepareContext {
  instancesDir: string;
  /** Largest parent image downloaded. */
  maxImageBytes: number;
}

export interface PreparedInstance {
  rootDisk: string;
  /** A placeholder for `spec.code` (the executor ignores code for instances). */
  codeDir: string;
  entrypoint: string;
  volumes: VolumeSpec[];
  cacheKeys: string[];
  /** Disk this instance reserves: `rootfs.size_mib` plus its volumes. */
  diskMib: number;
  authorizedKeys: string[];
  hostname: string;
}

/** Guest ports an owner may forward per instance (each takes a host port and DNAT rules). */
const MAX_FORWARDED_PORTS = 64;
const SSH_PORT = 22;

/** One key per line of each entry, blank lines and comments dropped (authorized_keys syntax). */
export function authorizedKeysOf(content: Pick<InstanceContent, 'authorized_keys'>): string[] {
  const keys: string[] = [];
  for (const entry of content.authorized_keys ?? []) {
    for (const line of entry.split(/\r?\n/)) {
      const key = line.trim();
      if (key && !key.startsWith('#') && !key.includes('\0')) keys.push(key);
    }
  }
  return keys;
}

export function instanceHostname(ref: string, executionId: string): string {
  return isSha256Hex(ref) ? hashToHostLabel(ref) : executionId;
}

export async function prepareInstance(ctx: InstancePrepareContext, ref: string, executionId: string, content: InstanceContent): Promise<PreparedInstance> {
  if (content.rootfs.persistence !== 'host') {
    throw CRN_ERRORS.error('UNSUPPORTED_WORKLOAD', `rootfs persistence "${content.rootfs.persistence}" is not supported; this node keeps instance disks on the host ("host")`);
  }
  const dir = instanceDir(ctx.instancesDir, executionId);
  let rootDisk: string;
  if (rootDiskExists(ctx.instancesDir, executionId)) {
    // A restart boots the disk it left: the parent is needed on the first start only.
    rootDisk = rootDiskPath(ctx.instancesDir, executionId);
  } else {
    const parentRef = await resolveRef(ctx, content.rootfs.parent.ref, content.rootfs.parent.use_latest, content.address);
    const parent = await storedFile(ctx, parentRef, 'rootfs parent', ctx.maxImageBytes);
    // Pinned while it is copied, so that another download cannot evict it midway.
    const unpin = ctx.cache.pin([DownloadCache.keyOfFile(parent.hash)]);
    try {
      rootDisk = await ensureRootDisk(ctx.instancesDir, executionId, parent.path, content.rootfs.size_mib);
    } finally {
      unpin();
    }
  }
  const volumes = await prepareVolumes(ctx, executionId, content.volumes as Volume[], content.address);
  const codeDir = join(dir, 'code');
  mkdirSync(codeDir, { recursive: true, mode: 0o755 });
  writeFileSync(join(codeDir, 'init'), '', { mode: 0o755 });
  return {
    rootDisk,
    codeDir,
    entrypoint: 'init',
    volumes: volumes.volumes,
    cacheKeys: volumes.cacheKeys,
    diskMib: content.rootfs.size_mib + volumes.diskMib + Math.ceil(volumes.cacheBytes / (1024 * 1024)),
    authorizedKeys: authorizedKeysOf(content),
    hostname: instanceHostname(ref, executionId),
  };
}

/**
 * The guest ports the owner wants forwarded, from `data["port-forwarding"][<hash>].ports` =
 * `{"<port>": {"tcp": bool, "udp": bool}}` (guest-and-network.md §8.5). Entries that are not a port
 * with at least one protocol are skipped. Undefined when the aggregate cannot be read: the caller
 * then keeps the current mappings.
 */
export async function ownerPortForwards(ccn: CcnClient, owner: string, ref: string): Promise<DesiredPorts | undefined> {
  let aggregate: Record<string, unknown> | undefined;
  try {
    aggregate = await ccn.getAggregate(owner, 'port-forwarding');
  } catch {
    return undefined;
  }
  const desired: DesiredPorts = new Map();
  const ports = (aggregate?.[ref] as { ports?: unknown } | undefined)?.ports;
  if (typeof ports === 'object' && ports !== null) {
    for (const [key, value] of Object.entries(ports)) {
      const port = Number(key);
      if (!/^\d+$/.test(key) || port < 1 || port > 65_535 || typeof value !== 'object' || value === null) continue;
      const tcp = (value as { tcp?: unknown }).tcp === true;
      const udp = (value as { udp?: unknown }).udp === true;
      if (!tcp && !udp) continue;
      if (desired.size >= MAX_FORWARDED_PORTS) break;
      desired.set(port, { tcp, udp });
    }
  }
  return desired;
}

/**
 * The host ports of an instance about to start: the owner's wishes plus 22/tcp (always), stored
 * so a restart keeps them. When the aggregate cannot be read the current mappings stay as they
 * are (only 22/tcp is ensured).
 */
export async function instancePortForwards(ccn: CcnClient, table: PortForwardTable, owner: string, ref: string): Promise<PortForward[]> {
  let desired = await ownerPortForwards(ccn, owner, ref);
  if (!desired) desired = new Map(table.active(ref).map((f) => [f.guestPort, { tcp: f.tcp, udp: f.udp }]));
  const ssh = desired.get(SSH_PORT);
  desired.set(SSH_PORT, { tcp: true, udp: ssh?.udp ?? false });
  return table.assign(ref, desired);
}
