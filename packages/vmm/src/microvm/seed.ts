/**
 * The seed drive of an instance: a small vfat image labelled CIDATA, generated per start in the
 * VM's directory (removed on stop). It follows cloud-init's NoCloud layout (`user-data` with
 * `#cloud-config` ssh_authorized_keys/hostname, `meta-data`, `network-config` version 2), so a
 * stock cloud image with cloud-init configures itself from it too. The Aleph base image reads two
 * extra plain files instead of parsing YAML in shell (packages/guest/assets/instance/):
 * `aleph-instance.conf` (KEY=value lines, VOLUME lines for the drives to mount) and
 * `aleph-authorized-keys`.
 *
 * Built without mounting anything: `mkfs.vfat -C` creates the image, `mcopy` fills it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isIPv6 } from 'node:net';
import { promisify } from 'node:util';
import { SEED_CONF_FILE, SEED_KEYS_FILE } from '@aleph-nodes/guest/protocol';
import { requireTool } from '../host/tools.ts';

const run = promisify(execFile);

export interface SeedConfig {
  /** cloud-init's instance-id (the execution id). */
  instanceId: string;
  hostname: string;
  authorizedKeys: string[];
  /** The guest NIC's MAC address (how the guest picks the interface). */
  mac: string;
  /** Guest address with its prefix, e.g. `172.16.4.2/24`. */
  address: string;
  gateway: string;
  dnsServers: string[];
  /** The guest's IPv6 address with its prefix (`…::42/124`) and gateway, when the node has an IPv6 range. */
  ipv6?: { address: string; gateway: string } | undefined;
  /** Drives the guest mounts at boot (found by virtio-blk serial). */
  volumes?: SeedVolume[] | undefined;
}

export interface SeedVolume {
  serial: string;
  mount: string;
  fs: 'ext4' | 'squashfs';
  readOnly: boolean;
}

const HOSTNAME_RE = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
/** `type base64 [comment]` on one line; the type from OpenSSH's list of key types. */
const PUBLIC_KEY_RE = /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)(-cert-v01@openssh\.com)? [A-Za-z0-9+/]+={0,3}( [^\r\n\0]*)?$/;
const IPV4_RE = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Throws with a clear message on anything that could break the seed files' formats. */
export function validateSeedConfig(config: SeedConfig): void {
  if (!HOSTNAME_RE.test(config.hostname)) throw new Error(`invalid host name ${JSON.stringify(config.hostname.slice(0, 80))}`);
  if (config.authorizedKeys.length === 0) throw new Error('an instance needs at least one SSH public key');
  for (const key of config.authorizedKeys) {
    if (!PUBLIC_KEY_RE.test(key.trim())) throw new Error(`not an OpenSSH public key: ${JSON.stringify(key.slice(0, 40))}`);
  }
  if (!MAC_RE.test(config.mac)) throw new Error(`invalid MAC address ${config.mac}`);
  const [ip, prefix] = config.address.split('/');
  if (!ip || !IPV4_RE.test(ip) || !/^\d+$/.test(prefix ?? '') || Number(prefix) > 32) throw new Error(`invalid guest address ${config.address}`);
  for (const address of [config.gateway, ...config.dnsServers]) {
    if (!IPV4_RE.test(address)) throw new Error(`invalid IPv4 address ${address}`);
  }
  if (config.ipv6) {
    const [ip6, prefix6] = config.ipv6.address.split('/');
    if (!ip6 || !isIPv6(ip6) || !/^\d+$/.test(prefix6 ?? '') || Number(prefix6) > 128) throw new Error(`invalid guest IPv6 address ${config.ipv6.address}`);
    if (!isIPv6(config.ipv6.gateway)) throw new Error(`invalid IPv6 gateway ${config.ipv6.gateway}`);
  }
  for (const v of config.volumes ?? []) {
    if (!/^[a-z0-9-]{1,20}$/.test(v.serial)) throw new Error(`invalid volume serial ${v.serial}`);
    if (!v.mount.startsWith('/') || v.mount === '/' || /[\0\n\r]/.test(v.mount) || v.mount.split('/').includes('..')) throw new Error(`invalid volume mount point ${JSON.stringify(v.mount)}`);
  }
}

/** The seed's files by name (pure: unit-tested). YAML strings are written as JSON strings, which YAML accepts. */
export function renderSeedFiles(config: SeedConfig): Record<string, string> {
  validateSeedConfig(config);
  const keys = config.authorizedKeys.map((k) => k.trim());
  const volumes = config.volumes ?? [];
  const q = (value: string) => JSON.stringify(value);
  const userData = [
    '#cloud-config',
    `hostname: ${q(config.hostname)}`,
    'ssh_pwauth: false',
    'disable_root: false',
    'ssh_authorized_keys:',
    ...keys.map((k) => `  - ${q(k)}`),
    // cloud-init names drives by udev's by-id links (virtio-<serial>).
    ...(volumes.length > 0 ? ['mounts:', ...volumes.map((v) => `  - [${[`/dev/disk/by-id/virtio-${v.serial}`, v.mount, v.fs, v.readOnly ? 'ro,nofail' : 'defaults,nofail', '0', '0'].map(q).join(', ')}]`)] : []),
    '',
  ].join('\n');
  const metaData = `instance-id: ${q(config.instanceId)}\nlocal-hostname: ${q(config.hostname)}\n`;
  const networkConfig = [
    'version: 2',
    'ethernets:',
    '  aleph0:',
    '    match:',
    `      macaddress: ${q(config.mac)}`,
    `    addresses: [${[config.address, ...(config.ipv6 ? [config.ipv6.address] : [])].map(q).join(', ')}]`,
    '    routes:',
    `      - to: "0.0.0.0/0"`,
    `        via: ${q(config.gateway)}`,
    ...(config.ipv6 ? ['      - to: "::/0"', `        via: ${q(config.ipv6.gateway)}`] : []),
    ...(config.dnsServers.length > 0 ? ['    nameservers:', `      addresses: [${config.dnsServers.map(q).join(', ')}]`] : []),
    '',
  ].join('\n');
  const conf = [
    `HOSTNAME=${config.hostname}`,
    `MAC=${config.mac}`,
    `ADDRESS=${config.address}`,
    `GATEWAY=${config.gateway}`,
    `DNS=${config.dnsServers.join(' ')}`,
    ...(config.ipv6 ? [`ADDRESS6=${config.ipv6.address}`, `GATEWAY6=${config.ipv6.gateway}`] : []),
    // `VOLUME=<serial> <fs> <ro|rw> <mount point>`: the mount point last, it may contain spaces.
    ...volumes.map((v) => `VOLUME=${v.serial} ${v.fs} ${v.readOnly ? 'ro' : 'rw'} ${v.mount}`),
    '',
  ].join('\n');
  return {
    'user-data': userData,
    'meta-data': metaData,
    'network-config': networkConfig,
    [SEED_CONF_FILE]: conf,
    [SEED_KEYS_FILE]: keys.join('\n') + '\n',
  };
}

/** Runs a tool by its absolute path, with only the environment given (never ours: no PATH). */
async function tool(file: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<void> {
  try {
    await run(file, args, { timeout: 30_000, env });
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    throw new Error(`${file}: ${(e.stderr || e.message).trim().split('\n').slice(-3).join(' ')}`);
  }
}

/** Writes the seed image at `path` (a 1 MiB vfat filesystem labelled CIDATA). */
export async function createSeedImage(path: string, config: SeedConfig): Promise<void> {
  const files = renderSeedFiles(config);
  const staging = await mkdtemp(join(dirname(path), '.seed-'));
  try {
    const names = Object.keys(files);
    for (const name of names) await writeFile(join(staging, name), files[name]!);
    await rm(path, { force: true });
    await tool(requireTool('mkfs.vfat', 'dosfstools'), ['-C', '-n', 'CIDATA', path, '1024']);
    await tool(requireTool('mcopy', 'mtools'), ['-i', path, ...names.map((n) => join(staging, n)), '::/'], { MTOOLS_SKIP_CHECK: '1' });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
