/** Small pure-ish helpers of the microVM executor (microvm-executor.ts): checks, probes, views. */
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { ExecutorError } from '../executor.ts';
import type { Endpoint, ExecutionNetwork, ExecutionSpec } from '../executor.ts';
import { validatePortForwards } from '../net/firewall-rules.ts';
import { validateSeedConfig } from './seed.ts';
import type { TapLease } from './tap.ts';

/** A process's command line ('' when gone or a zombie). */
export function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/** The API's view of a VM's network. */
export function networkOf(tap: TapLease, host: string | null, portForwards: ExecutionNetwork['portForwards']): ExecutionNetwork {
  const subnet = tap.guestIp.split('.').slice(0, 3).join('.');
  return {
    ipv4Network: `${subnet}.0/${tap.prefixLength}`,
    ipv4Ip: tap.guestIp,
    hostIpv4: host,
    ipv6Network: tap.ipv6?.network ?? null,
    ipv6Ip: tap.ipv6?.guestIp ?? null,
    portForwards: portForwards.map((f) => ({ ...f })),
  };
}

/** True when the file has the ext4/ext2 superblock magic (0xEF53 at byte 1080). */
export function isExtImage(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const magic = Buffer.alloc(2);
    readSync(fd, magic, 0, 2, 1080);
    return magic.readUInt16LE(0) === 0xef53;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Checks an instance spec before anything is created; throws ExecutorError. */
export function validateInstance(spec: ExecutionSpec): void {
  const instance = spec.instance!;
  try {
    // Network values are the executor's own: placeholders only to check keys and host name.
    validateSeedConfig({ instanceId: spec.id, hostname: instance.hostname, authorizedKeys: instance.authorizedKeys, mac: '52:54:00:00:00:00', address: '10.0.0.2/24', gateway: '10.0.0.1', dnsServers: [] });
    validatePortForwards(instance.portForwards);
  } catch (err) {
    throw new ExecutorError('INVALID_SPEC', (err as Error).message);
  }
  if (!existsSync(instance.rootDisk) || !statSync(instance.rootDisk).isFile()) throw new ExecutorError('START_FAILED', `instance root disk ${instance.rootDisk} is not a file`);
  if (!isExtImage(instance.rootDisk)) throw new ExecutorError('START_FAILED', `instance root disk ${instance.rootDisk} is not an ext4 image`);
}

export function portOpen(endpoint: Endpoint): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: endpoint.host, port: endpoint.port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
