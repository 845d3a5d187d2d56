/** Applies a GuestConfig inside the VM: drives, code, network. Runs as root in the guest. */
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { GuestConfig, GuestMount, GuestNetwork } from '../protocol.ts';

const run = promisify(execFile);

export const CODE_DIR = '/opt/code';

async function sh(file: string, args: string[]): Promise<void> {
  try {
    await run(file, args, { timeout: 60_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${file} ${args.join(' ')}: ${(e.stderr || e.message).trim()}`);
  }
}

/** /dev path of the virtio-blk disk with this serial. */
export async function deviceBySerial(serial: string, timeoutMs = 5000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const name of await readdir('/sys/block')) {
      if (!name.startsWith('vd')) continue;
      const value = (await readFile(`/sys/block/${name}/serial`, 'utf8').catch(() => '')).trim();
      if (value === serial) return `/dev/${name}`;
    }
    if (Date.now() > deadline) throw new Error(`no disk with serial ${serial}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function mountDrive(drive: GuestMount): Promise<void> {
  const device = await deviceBySerial(drive.serial);
  await mkdir(drive.mount, { recursive: true });
  const options = drive.readOnly ? 'ro' : 'rw';
  await sh('mount', ['-t', drive.fs, '-o', options, device, drive.mount]);
}

async function setupCode(config: GuestConfig): Promise<void> {
  await mkdir(CODE_DIR, { recursive: true });
  if (config.code.encoding === 'squashfs') {
    await mountDrive({ serial: config.code.serial, mount: CODE_DIR, fs: 'squashfs', readOnly: true });
    return;
  }
  const archive = '/opt/archive.zip';
  await writeFile(archive, Buffer.from(config.code.zipBase64, 'base64'));
  await sh('unzip', ['-q', '-o', archive, '-d', CODE_DIR]);
  await rm(archive, { force: true });
}

async function setupNetwork(net: GuestNetwork | undefined): Promise<void> {
  await sh('ip', ['link', 'set', 'lo', 'up']);
  if (!net) return;
  await sh('ip', ['addr', 'add', `${net.ip}/${net.prefixLength}`, 'dev', 'eth0']);
  await sh('ip', ['link', 'set', 'eth0', 'up']);
  await sh('ip', ['route', 'add', 'default', 'via', net.gateway]);
  if (net.ipv6) {
    // `nodad`: the /124 is this VM's alone, and the program may connect out as soon as it starts.
    await sh('ip', ['-6', 'addr', 'add', `${net.ipv6.ip}/${net.ipv6.prefixLength}`, 'dev', 'eth0', 'nodad']);
    await sh('ip', ['-6', 'route', 'add', 'default', 'via', net.ipv6.gateway, 'dev', 'eth0']);
  }
  if (net.dnsServers.length > 0) {
    await writeFile('/etc/resolv.conf', net.dnsServers.map((s) => `nameserver ${s}\n`).join(''));
  }
}

export async function applyConfig(config: GuestConfig): Promise<void> {
  await writeFile('/proc/sys/kernel/hostname', config.id).catch(() => {});
  await setupNetwork(config.network);
  await setupCode(config);
  for (const volume of config.volumes) await mountDrive(volume);
}

/** Unmounts volumes (writable ones first matter most: they must be flushed before power-off). */
export async function unmountAll(config: GuestConfig | undefined): Promise<void> {
  await sh('sync', []).catch(() => {});
  if (!config) return;
  for (const volume of [...config.volumes].reverse()) {
    await sh('umount', [volume.mount]).catch(() => {});
  }
}
