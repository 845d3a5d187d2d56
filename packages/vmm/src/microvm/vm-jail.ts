/**
 * QEMU's confinement, like Firecracker's jailer:
 *
 * - its own unprivileged host uid/gid, `workloadId('microvm', tap number)`: unique host-wide
 *   while the VM holds its tap lease, so two VMs never share an identity;
 * - `-chroot` into `<vm dir>/jail`, an empty root-owned directory: after start-up QEMU sees no
 *   host file at all. It opens everything it needs (kernel, initrd, drives, tap, console, QMP and
 *   control sockets) as root first, then chroots and drops to the uid (`-runas`) for good. So
 *   nothing needs to change owner: drives, the console and the instance's disk stay root-owned
 *   (0600 where we create them), reachable only through the descriptors QEMU already holds; a
 *   compromised QEMU cannot open any other file, another VM's disks included;
 * - its own cgroup (memory = guest memory + a VMM overhead, CPU quota = vCPUs, pids, IO caps),
 *   joined by a builtin-only shell stage before QEMU is exec'd (execInCgroup), so no guest code
 *   ever runs outside it;
 * - its seccomp filter (`-sandbox on`, qemu-args.ts).
 *
 * The cgroup is removed when the VM ends; a restarted supervisor re-attaches it by name (kept in
 * the attachment record), and orphan cleanup removes groups whose VM directory is gone.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Cgroup, detectCgroups, execInCgroup, type CgroupIoLimits, type CgroupLayout } from '../host/cgroups.ts';
import { workloadId } from '../host/ids.ts';
import { requireTool } from '../host/tools.ts';
import type { Accelerator } from './qemu-args.ts';

/** Parent of the VMs' groups under each cgroup hierarchy. */
export const VM_CGROUP_PARENT = 'aleph-microvm';

/**
 * QEMU's own memory besides the guest's, in the VM's cgroup. Measured on the build machine (TCG,
 * 512 MiB guest running Node.js, then filling its memory until the guest's OOM killer acted):
 * peak group use (memory.max_usage_in_bytes, QEMU's page cache included) was guest + ~190 MiB
 * with the translation cache capped at 128 MiB (qemu-args.ts; uncapped it was guest + ~280 MiB
 * and still growing). KVM has no translation cache; its figure is an estimate (not measurable
 * here: KVM guests do not boot on the nested build machines).
 */
export const DEFAULT_VMM_OVERHEAD_MIB: Record<Accelerator, number> = { tcg: 256, kvm: 160 };

export interface VmJailSettings {
  /** Memory (MiB) QEMU may use on top of the guest's memory. */
  overheadMib: number;
  /** CPU time (in CPUs) QEMU's own threads (device emulation, I/O) may use on top of the vCPUs. */
  cpuOverhead: number;
  /** Most tasks (QEMU threads) in the VM's cgroup. */
  pids: number;
  /** Block IO caps on the device holding the VM directory (DEFAULT_VM_IO unless set). */
  io?: Omit<CgroupIoLimits, 'device'> | undefined;
  /** The host's cgroup hierarchy (detected when unset). */
  cgroups?: CgroupLayout | undefined;
}

export const DEFAULT_VM_PIDS = 256;

/**
 * CPU time for QEMU's own threads (device emulation, the console, disk I/O) on top of the vCPUs.
 * Under TCG the vCPU thread alone takes a whole CPU while the main loop serves the disks: with a
 * quota of exactly the vCPUs, boots on the loaded build machine took 14-36 s (1 vCPU, 3 runs)
 * against 14-26 s with half a CPU more and 17-21 s with a whole one. KVM guests leave most
 * device work to the host kernel: a quarter CPU.
 */
export const DEFAULT_VMM_CPU_OVERHEAD: Record<Accelerator, number> = { tcg: 0.5, kvm: 0.25 };

/**
 * Default ceiling of one VM's disk traffic (on the device of its directory), so one guest cannot
 * take a host disk from the others. Generous for one VM; a host with faster or slower disks sets
 * its own. On cgroup v1 only direct IO is throttled for writes (buffered writes escape blkio).
 */
export const DEFAULT_VM_IO: NonNullable<VmJailSettings['io']> = {
  readBps: 256 * 1024 * 1024,
  writeBps: 128 * 1024 * 1024,
  readIops: 8000,
  writeIops: 4000,
};

/** The group name of the VM whose directory is `dir` under `runDir` (unique per host). */
export function vmCgroupName(runDir: string, dir: string): string {
  return `${cgroupScope(runDir)}-${basename(dir)}`;
}

/** Prefix of the groups of VMs under `runDir` (one executor's state directory). */
export function cgroupScope(runDir: string): string {
  return createHash('sha256').update(runDir).digest('hex').slice(0, 8);
}

export class VmJail {
  private constructor(
    readonly uid: number,
    readonly chrootDir: string,
    readonly cgroup: Cgroup,
  ) {}

  /** Creates the empty chroot directory and the VM's cgroup with its limits. */
  static create(input: {
    runDir: string;
    dir: string;
    tapId: number;
    memoryMib: number;
    vcpus: number;
    settings: VmJailSettings;
    ioDevice: string | undefined;
  }): VmJail {
    const { settings } = input;
    const chrootDir = join(input.dir, 'jail');
    mkdirSync(chrootDir, { mode: 0o555 });
    const layout = settings.cgroups ?? detectCgroups(VM_CGROUP_PARENT);
    const cgroup = new Cgroup(layout, vmCgroupName(input.runDir, input.dir));
    try {
      cgroup.create({
        memoryMib: input.memoryMib + settings.overheadMib,
        vcpus: input.vcpus + settings.cpuOverhead,
        pids: settings.pids,
        io: settings.io && input.ioDevice ? { ...settings.io, device: input.ioDevice } : undefined,
      });
    } catch (err) {
      // A half-made group (one hierarchy of several) must not stay behind.
      void cgroup.destroy().catch(() => {});
      throw new Error(`cannot create the VM's cgroup: ${(err as Error).message}`);
    }
    return new VmJail(workloadId('microvm', input.tapId), chrootDir, cgroup);
  }

  /** The jail of a VM started by an earlier supervisor (its group exists already). */
  static adopt(input: { runDir: string; dir: string; tapId: number; cgroups?: CgroupLayout | undefined }): VmJail {
    const layout = input.cgroups ?? detectCgroups(VM_CGROUP_PARENT);
    return new VmJail(workloadId('microvm', input.tapId), join(input.dir, 'jail'), new Cgroup(layout, vmCgroupName(input.runDir, input.dir)));
  }

  /** QEMU's jail arguments (qemu-args.ts). */
  get qemuJail(): { uid: number; gid: number; chrootDir: string } {
    return { uid: this.uid, gid: this.uid, chrootDir: this.chrootDir };
  }

  /** The command that starts `qemuPath args` inside the VM's cgroup. */
  command(qemuPath: string, args: string[]): { file: string; args: string[] } {
    return execInCgroup(requireTool('sh', 'dash'), this.cgroup.procsFiles, qemuPath, args);
  }

  /** Peak memory of the VM's group in MiB, when the kernel tells. */
  memoryPeakMib(): number | undefined {
    const bytes = this.cgroup.memoryPeakBytes();
    return bytes === undefined ? undefined : Math.round(bytes / 1048576);
  }

  /** Kills what is left in the group and removes it. */
  async destroy(): Promise<void> {
    await this.cgroup.destroy().catch(() => {});
  }
}
