/**
 * The host side of one microVM: its directory (sockets, console, QEMU's stderr, an instance's
 * seed), its tap with the firewall joins (NAT for internet access, an instance's port forwards)
 * and an instance's seed drive. Set up before QEMU starts, so the guest address is known early;
 * released on every exit path, each step on its own (a failed step must not leak the others).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { prepareInstanceHost } from './instance-boot.ts';
import { createTap, deleteTap, type TapLease } from './tap.ts';
import type { MicroVmOptions } from './vm-types.ts';

export class VmHost {
  #dir: string | undefined;
  #tap: TapLease | undefined;

  constructor(private readonly options: MicroVmOptions) {}

  get dir(): string | undefined {
    return this.#dir;
  }

  get tap(): TapLease | undefined {
    return this.#tap;
  }

  /** Creates the VM's own directory under `runDir`. */
  async createDir(): Promise<string> {
    this.#dir = await mkdtemp(join(this.options.runDir, 'vm-'));
    return this.#dir;
  }

  /** The tap and its firewall joins, then an instance's seed and port forwards. */
  async setUpNetwork(): Promise<void> {
    const { options } = this;
    if (options.network) {
      await options.firewall?.ensure();
      this.#tap = await createTap(options.network, this.#dir!);
      if (options.internet) {
        if (!options.firewall) throw new Error('internet access needs the firewall (NAT)');
        await options.firewall.allowInternet(this.#tap.ifname, this.#tap.ipv6?.network);
      }
    }
    if (options.instance) await prepareInstanceHost(options, options.instance, this.#dir!, this.#tap);
  }

  /** A VM taken over from an earlier supervisor: its directory and tap exist already. */
  adopt(dir: string, tap: TapLease | undefined): void {
    this.#dir = dir;
    this.#tap = tap;
  }

  /** Port forwards, NAT, tap, directory: whatever exists goes (errors ignored, best effort). */
  async release(): Promise<void> {
    const { options } = this;
    const tap = this.#tap;
    if (tap && options.instance) await options.firewall?.removePortForwards(tap.ifname, tap.guestIp).catch(() => {});
    if (tap) await options.firewall?.revokeInternet(tap.ifname).catch(() => {});
    if (tap && options.network && this.#dir) await deleteTap(options.network, tap, this.#dir).catch(() => {});
    if (this.#dir) await rm(this.#dir, { recursive: true, force: true }).catch(() => {});
  }
}
