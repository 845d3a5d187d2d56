/**
 * The instance-specific parts of a microVM (`options.instance`). The root drive is the
 * instance's own writable disk, the initramfs starts its systemd (`aleph.mode=instance`), a seed
 * drive generated in the VM directory carries keys, host name and network (seed.ts), host ports
 * are DNATed to it (net/firewall.ts). There is no agent: the VM is ready when the guest's port 22
 * accepts TCP, and the serial console is the instance's log. Kept here so vm.ts reads as the
 * common lifecycle.
 */
import { tcpOpen } from '../tcp-open.ts';
import { join } from 'node:path';
import { KERNEL_ARG, SEED_DRIVE_SERIAL } from '@aleph-nodes/guest/protocol';
import { createSeedImage } from './seed.ts';
import type { DriveArg } from './qemu-args.ts';
import type { TapLease } from './tap.ts';
import { sleep } from './timing.ts';
import type { MicroVmInstance, MicroVmOptions } from './vm-types.ts';

/** The port whose answer makes an instance ready. */
export const INSTANCE_SSH_PORT = 22;

/** Kernel arguments that make the initramfs boot the instance's systemd with `eth0` naming. */
export function instanceKernelArgs(): string[] {
  return [KERNEL_ARG.instanceMode, 'net.ifnames=0'];
}

/** The seed drive `prepareInstanceHost` writes into the VM directory (read-only for the guest). */
export function seedDrive(dir: string): DriveArg {
  return { id: 'seed', path: join(dir, 'seed.img'), serial: SEED_DRIVE_SERIAL, readOnly: true };
}

/** The seed drive (in the VM directory) and the port forwards of an instance. */
export async function prepareInstanceHost(options: MicroVmOptions, instance: MicroVmInstance, dir: string, tap: TapLease | undefined): Promise<void> {
  if (!tap) throw new Error('an instance needs a network (tap pool)');
  await createSeedImage(join(dir, 'seed.img'), {
    instanceId: options.id,
    hostname: instance.hostname,
    authorizedKeys: instance.authorizedKeys,
    mac: tap.mac,
    address: `${tap.guestIp}/${tap.prefixLength}`,
    gateway: tap.hostIp,
    ipv6: tap.ipv6 ? { address: `${tap.ipv6.guestIp}/${tap.ipv6.prefixLength}`, gateway: tap.ipv6.hostIp } : undefined,
    dnsServers: options.dnsServers ?? [],
    volumes: instance.volumes,
  });
  if (instance.portForwards.length > 0) {
    if (!options.firewall) throw new Error('port forwards need the firewall (DNAT)');
    await options.firewall.addPortForwards(tap.ifname, tap.guestIp, instance.portForwards);
  }
}

/**
 * An adopted instance that was not ready yet: polls its SSH port while `keepPolling()` holds,
 * calling `onOpen` when it answers (the caller's `keepPolling` turns false then).
 */
export async function pollSsh(host: string, keepPolling: () => boolean, onOpen: () => void): Promise<void> {
  while (keepPolling()) {
    if (await tcpOpen(host, INSTANCE_SSH_PORT, 1000)) onOpen();
    else await sleep(1000);
  }
}

