/**
 * The QEMU command line of one microVM (pure: unit-tested without QEMU).
 *
 * Machine `-M microvm,x-option-roms=off,isa-serial=on,rtc=on` and the kernel arguments
 * `no_timer_check tsc=reliable lpj=5000000`, as the issue measured (32/32 TCG boots; `rtc=off`
 * without the arguments hung half the time; adding `pit=on,pic=on,clocksource=tsc` brought
 * hangs back, 3 of 16, so they are not used).
 *
 * That was not enough on a loaded host: with other test suites sharing the 2 cores, the guest's
 * TSC calibration against the emulated PIT failed ("tsc: Unable to calibrate against PIT", then
 * "Marking TSC unstable") and the boot hung in timer set-up: 1 of 6 probe boots, and 2 of the
 * first 4 runtime boots of the integration test. Under TCG we therefore also pass
 * `tsc_early_khz=<host TSC kHz>` (host-tsc.ts), which skips that calibration. Measured with it
 * on the build machine (TCG, loaded by other helpers' tests): 50/50 probe boots
 * (test/guest/boot-loop.ts, median 2.3 s QEMU start to init, max 5.7 s), 12/12 manual probe
 * boots, and every runtime boot of the test/guest suites on their first attempt (see the report
 * of the microVM work). The watchdog in vm.ts still kills and retries a boot that stalls.
 */
import { CONTROL_PORT_NAME, KERNEL_ARG, ROOT_DRIVE_SERIAL } from '@aleph-nodes/guest/protocol';

export type Accelerator = 'kvm' | 'tcg';

export interface DriveArg {
  id: string;
  path: string;
  /** virtio-blk serial: how the guest finds the drive (device letters are not stable on microvm). */
  serial: string;
  readOnly: boolean;
}

export interface QemuArgsInput {
  accelerator: Accelerator;
  /** CPU model under KVM (`-cpu host` aborts on some nested hosts; configurable). */
  kvmCpu: string;
  vcpus: number;
  memoryMib: number;
  kernel: string;
  initramfs: string;
  /** Serial console output file. */
  consolePath: string;
  qmpSocket: string;
  /**
   * Unix socket of the control channel. QEMU listens on it and the host connects (and connects
   * again after a supervisor restart): a chrooted QEMU could not reach a host path to reconnect.
   */
  controlSocket?: string | undefined;
  /**
   * QEMU drops to this unprivileged uid/gid and chroots into `chrootDir` (an empty directory)
   * once it has opened everything it needs (kernel, drives, tap, sockets, console).
   */
  jail?: { uid: number; gid: number; chrootDir: string } | undefined;
  /** The runtime root filesystem (virtio-blk serial `aleph-root`) and further drives. */
  drives: DriveArg[];
  tap?: { ifname: string; mac: string } | undefined;
  /** TCG only: the host TSC frequency, so the guest skips its PIT calibration (host-tsc.ts). */
  tscKhz?: number | undefined;
  /** TCG only: the translation cache in MiB (default DEFAULT_TCG_TB_MIB; ignored under KVM). */
  tcgTbMib?: number | undefined;
  /** Extra kernel arguments (the KVM probe adds `aleph.probe=1`). */
  extraKernelArgs?: string[] | undefined;
  sandbox: boolean;
  /** A snapshot restore: QEMU waits for QMP `migrate-incoming` instead of booting (snapshot-restore.ts). */
  incomingDefer?: boolean | undefined;
}

/**
 * TCG translation cache (MiB) unless configured; counted in the TCG VMM overhead. QEMU 7.2's
 * default is 1 GiB (it only grows); every MiB of it is resident per VM once the guest ran enough
 * code, and an idle program VM is most of what a node holds. At 32 MiB a full cache is flushed
 * and re-translated, which costs CPU only while the guest runs new code (boot, first requests);
 * the density figures of the bench (crn.density.*) measure the memory side.
 */
export const DEFAULT_TCG_TB_MIB = 32;

/** microvm has eight virtio-mmio transports: control serial + network + drives must fit. */
export const MAX_VIRTIO_DEVICES = 8;

export const BASE_KERNEL_ARGS = [
  'console=ttyS0',
  'reboot=k',
  'panic=1',
  'no_timer_check',
  'tsc=reliable',
  'lpj=5000000',
  'random.trust_cpu=on',
  'i8042.noaux',
  'i8042.nomux',
  'i8042.dumbkbd',
] as const;

export function kernelCommandLine(extra: readonly string[] = []): string {
  return [...BASE_KERNEL_ARGS, `${KERNEL_ARG.rootSerial}${ROOT_DRIVE_SERIAL}`, ...extra].join(' ');
}

function escapeOption(value: string): string {
  // QEMU option values escape a comma by doubling it.
  return value.replace(/,/g, ',,');
}

function tcgTbMib(value: number | undefined): number {
  const mib = value ?? DEFAULT_TCG_TB_MIB;
  // QEMU refuses 0 and wraps absurd sizes; below 8 MiB a booting guest thrashes the cache.
  if (!Number.isInteger(mib) || mib < 8 || mib > 4096) throw new Error(`the TCG translation cache must be 8-4096 MiB (got ${mib})`);
  return mib;
}

export function buildQemuArgs(input: QemuArgsInput): string[] {
  const devices = input.drives.length + (input.tap ? 1 : 0) + (input.controlSocket ? 1 : 0);
  if (devices > MAX_VIRTIO_DEVICES) throw new Error(`a microVM takes at most ${MAX_VIRTIO_DEVICES} virtio devices (asked for ${devices})`);
  const args = [
    // mem-merge=on marks guest RAM mergeable (MADV_MERGEABLE): where the host runs KSM (the
    // operator's choice, host/ksm.ts), identical pages of VMs booted from the same kernel and
    // runtime are shared. QEMU's default is on; said here so the density relies on nothing implicit.
    '-M', 'microvm,x-option-roms=off,isa-serial=on,rtc=on,mem-merge=on',
    // TCG's translated-code cache is 1 GiB by default and only grows: capped, so QEMU's memory
    // fits the VM's cgroup (vm-jail.ts) and the cache is flushed when full instead. KVM has none.
    '-accel', input.accelerator === 'tcg' ? `tcg,tb-size=${tcgTbMib(input.tcgTbMib)}` : 'kvm',
    ...(input.accelerator === 'kvm' ? ['-cpu', input.kvmCpu] : []),
    '-smp', String(input.vcpus),
    '-m', `${input.memoryMib}M`,
    '-nodefaults', '-no-user-config', '-display', 'none',
    // A guest reboot (or a panic with panic=1) ends the process instead of booting again.
    '-no-reboot',
    '-kernel', input.kernel,
    '-initrd', input.initramfs,
    '-append', kernelCommandLine([
      ...(input.accelerator === 'tcg' && input.tscKhz ? [`tsc_early_khz=${input.tscKhz}`] : []),
      ...(input.extraKernelArgs ?? []),
    ]),
    // append=on: the host rotates the file by copy-truncate; QEMU's next write lands at the new end.
    '-chardev', `file,id=console,path=${escapeOption(input.consolePath)},append=on`,
    '-serial', 'chardev:console',
    '-qmp', `unix:${escapeOption(input.qmpSocket)},server=on,wait=off`,
  ];
  if (input.controlSocket) {
    // QEMU is the server (one client at a time; it listens again when the host goes away), so a
    // restarted supervisor connects to the VM it adopts.
    args.push(
      '-chardev', `socket,id=control,path=${escapeOption(input.controlSocket)},server=on,wait=off`,
      '-device', 'virtio-serial-device',
      '-device', `virtserialport,chardev=control,name=${CONTROL_PORT_NAME}`,
    );
  }
  for (const drive of input.drives) {
    args.push(
      '-drive', `id=${drive.id},file=${escapeOption(drive.path)},format=raw,if=none,readonly=${drive.readOnly ? 'on' : 'off'}`,
      '-device', `virtio-blk-device,drive=${drive.id},serial=${drive.serial}`,
    );
  }
  if (input.tap) {
    args.push(
      '-netdev', `tap,id=net0,ifname=${input.tap.ifname},script=no,downscript=no`,
      '-device', `virtio-net-device,netdev=net0,mac=${input.tap.mac}`,
    );
  }
  if (input.incomingDefer) args.push('-incoming', 'defer');
  if (input.jail) {
    const { uid, gid, chrootDir } = input.jail;
    if (!Number.isInteger(uid) || uid < 1 || !Number.isInteger(gid) || gid < 1) throw new Error('the QEMU jail needs an unprivileged uid and gid');
    args.push('-runas', `${uid}:${gid}`, '-chroot', chrootDir);
  }
  if (input.sandbox) {
    // -runas calls setgid/setuid after the seccomp filter is installed, so a jailed QEMU needs
    // elevateprivileges=allow (with deny it dies of "Bad system call"). That is safe: the drop is
    // for good (real, effective and saved ids all change), and spawn=deny forbids exec, so the
    // filter leaves no way to run a setuid binary and regain privileges.
    const elevate = input.jail ? 'allow' : 'deny';
    args.push('-sandbox', `on,obsolete=deny,elevateprivileges=${elevate},spawn=deny,resourcecontrol=deny`);
  }
  return args;
}
