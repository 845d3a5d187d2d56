/**
 * The shapes a microVM is driven with: its options, states, exit report, errors and the
 * attachment record that lets a later supervisor take it over. Kept apart from vm.ts so the
 * helpers (watchdog, agent channel, QEMU process, instance parts) can share them without
 * importing the MicroVm class.
 */
import type { GuestConfig, PrestartKind } from '@aleph-nodes/guest/protocol';
import type { PortForward } from '../executor.ts';
import type { SeedVolume } from './seed.ts';
import type { Accelerator, DriveArg } from './qemu-args.ts';
import type { Firewall } from '../net/firewall.ts';
import type { TapLease, TapPoolConfig } from './tap.ts';
import type { BootPolicy } from './boot-policy.ts';
import type { GuestOutputLimits } from './guest-output.ts';
import type { VmJailSettings } from './vm-jail.ts';
import type { SnapshotRestore } from './snapshot-types.ts';

export type MicroVmState = 'created' | 'booting' | 'waiting' | 'configuring' | 'running' | 'stopping' | 'stopped' | 'failed';

/** What an instance VM needs besides the common options (the seed's network part comes from the tap). */
export interface MicroVmInstance {
  hostname: string;
  authorizedKeys: string[];
  portForwards: PortForward[];
  /** Volume drives (in `drives`) the guest mounts at boot. */
  volumes: SeedVolume[];
}

export interface MicroVmOptions {
  /** Execution id (`[a-z0-9-]`), the guest's hostname. */
  id: string;
  qemuPath: string;
  accelerator: Accelerator;
  kvmCpu: string;
  /** TCG: translation cache in MiB (default DEFAULT_TCG_TB_MIB, qemu-args.ts). */
  tcgTbMib?: number | undefined;
  /** TCG: the host TSC frequency (hostTscKhz()). */
  tscKhz?: number | undefined;
  kernel: string;
  initramfs: string;
  /** Runtime root filesystem (squashfs); for an instance, its root disk (ext4, opened read-write). */
  runtime: string;
  /** Boots an instance (systemd from `runtime`) instead of the agent and a program. */
  instance?: MicroVmInstance | undefined;
  vcpus: number;
  memoryMib: number;
  /** Drives besides the root (code squashfs, volumes), referenced by serial in `guest`. */
  drives: DriveArg[];
  /** What the agent applies; the network part is filled in from the tap. */
  guest: Omit<GuestConfig, 'network' | 'id'>;
  /** Without a pool the VM has no network card (and no endpoint). */
  network?: TapPoolConfig | undefined;
  /** Isolation/NAT rules; the VM's tap joins them before QEMU starts. */
  firewall?: Firewall | undefined;
  /** Outbound access through NAT (needs `firewall`). */
  internet?: boolean | undefined;
  dnsServers?: string[] | undefined;
  /** Parent directory of the VM's own directory (sockets, console); keep the path short (Unix sockets ≤ 107 bytes). */
  runDir: string;
  boot?: Partial<BootPolicy> | undefined;
  sandbox?: boolean | undefined;
  /**
   * QEMU's confinement (vm-jail.ts: per-VM uid, chroot, cgroup). Always applied; these are its
   * settings (defaults: the accelerator's VMM overhead, DEFAULT_VM_PIDS, detected cgroups).
   */
  jail?: Partial<VmJailSettings> | undefined;
  /** Start from this snapshot (snapshot-restore.ts) instead of booting; the layout must match. */
  restore?: SnapshotRestore | undefined;
  /**
   * A warm pool VM: the language its program will be imported into, started by the agent while
   * it waits (guest launcher.ts). Refused for a VM that is snapshotted.
   */
  prestart?: PrestartKind | undefined;
  /** Bounds on what the guest's output may take on the host (guest-output.ts). */
  output?: Partial<GuestOutputLimits> | undefined;
  /** Called with human-readable lifecycle lines (the executor logs them). */
  onEvent?: ((line: string) => void) | undefined;
}

export interface MicroVmExit {
  /** QEMU's exit code, or null when killed by a signal. */
  qemuCode: number | null;
  qemuSignal: string | null;
  /** The program's exit as the guest reported it, when it did. */
  program: { code: number | null; signal: string | null } | undefined;
  requested: boolean;
  /** Why the host ended the VM on its own (a misbehaving guest), when it did. */
  reason?: string | undefined;
  /** Peak memory of the VM's cgroup (guest and QEMU), in MiB. */
  memoryPeakMib?: number | undefined;
}

export class MicroVmError extends Error {
  override readonly name = 'MicroVmError';
  constructor(
    readonly code: 'BOOT_FAILED' | 'BOOT_TIMEOUT' | 'CONFIGURE_FAILED' | 'EXITED' | 'NOT_READY',
    message: string,
    readonly consoleTail: string[] = [],
  ) {
    super(message);
  }
}

/** What a warm pool's VM learns when it is given its one program (replaces the placeholders it booted with). */
export type MicroVmAssignment = Pick<MicroVmOptions, 'id' | 'guest' | 'dnsServers'>;

/** What `MicroVm.attach` needs to take over a running VM (kept by the executor's adoption record). */
export interface MicroVmAttachment {
  dir: string;
  pid: number;
  tap?: TapLease | undefined;
}
