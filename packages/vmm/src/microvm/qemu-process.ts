/**
 * The QEMU process of a microVM: spawned by us (a detached child whose stderr goes to
 * `qemu.log` in the VM directory, so the VM does not depend on a pipe to this process) or,
 * after a supervisor restart, a pid we re-attached to and watch by polling. Both look the same
 * to the VM (`QemuProcess`).
 */
import { spawn, type StdioOptions } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KERNEL_ARG, ROOT_DRIVE_SERIAL } from '@aleph-nodes/guest/protocol';
import { instanceKernelArgs, seedDrive } from './instance-boot.ts';
import { buildQemuArgs } from './qemu-args.ts';
import type { QmpClient } from './qmp.ts';
import type { TapLease } from './tap.ts';
import { settlesWithin } from './timing.ts';
import { toolPath } from './tool-paths.ts';
import type { VmJail } from './vm-jail.ts';
import type { MicroVmOptions } from './vm-types.ts';

export interface QemuExit {
  code: number | null;
  signal: string | null;
}

/** The QEMU process: a child of ours, or (after a supervisor restart) a pid we re-attached to. */
export interface QemuProcess {
  pid: number | undefined;
  exit: Promise<QemuExit>;
  alive(): boolean;
  kill(signal: NodeJS.Signals): void;
  /** Stops keeping this process's event loop alive for the QEMU process. */
  unref(): void;
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Wraps a pid that is not our child: its end is seen by polling. */
export function attachedProcess(pid: number): QemuProcess {
  let timer: NodeJS.Timeout | undefined;
  const exit = new Promise<QemuExit>((resolve) => {
    timer = setInterval(() => {
      if (!pidAlive(pid)) {
        clearInterval(timer);
        resolve({ code: null, signal: null });
      }
    }, 250);
  });
  return {
    pid,
    exit,
    alive: () => pidAlive(pid),
    kill: (signal) => {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    },
    unref: () => timer?.unref(),
  };
}

/**
 * Starts QEMU for the VM in `dir` (console, QMP socket and stderr log live there), inside its
 * jail: in the VM's cgroup from its first instruction, dropping to the VM's uid in an empty
 * chroot once its files are open (vm-jail.ts).
 */
export function spawnQemu(options: MicroVmOptions, dir: string, controlSocket: string | undefined, tap: TapLease | undefined, jail: VmJail, incomingFd?: number): QemuProcess {
  const args = buildQemuArgs({
    accelerator: options.accelerator,
    kvmCpu: options.kvmCpu,
    tscKhz: options.tscKhz,
    tcgTbMib: options.tcgTbMib,
    vcpus: options.vcpus,
    memoryMib: options.memoryMib,
    kernel: options.kernel,
    initramfs: options.initramfs,
    consolePath: join(dir, 'console.log'),
    qmpSocket: join(dir, 'qmp.sock'),
    controlSocket,
    drives: [
      { id: 'root', path: options.runtime, serial: ROOT_DRIVE_SERIAL, readOnly: !options.instance },
      ...(options.instance ? [seedDrive(dir)] : []),
      ...options.drives,
    ],
    extraKernelArgs: options.instance ? instanceKernelArgs() : options.prestart ? [`${KERNEL_ARG.prestart}${options.prestart}`] : undefined,
    tap: tap ? { ifname: tap.ifname, mac: tap.mac } : undefined,
    sandbox: options.sandbox ?? true,
    jail: jail.qemuJail,
    // A restore reads the snapshot from `incomingFd`, QEMU's fd 3 (snapshot-restore.ts).
    incomingDefer: incomingFd !== undefined,
  });
  const command = jail.command(toolPath(options.qemuPath, 'qemu-system-x86'), args);
  // QEMU's own stderr (argument errors, failed drive opens) goes to a file: the VM does not
  // depend on a pipe to this process.
  const stderrFd = openSync(join(dir, 'qemu.log'), 'a');
  try {
    // Nothing of our environment goes to QEMU (it needs none).
    const stdio: StdioOptions = incomingFd === undefined ? ['ignore', 'ignore', stderrFd] : ['ignore', 'ignore', stderrFd, incomingFd];
    const child = spawn(command.file, command.args, { stdio, detached: true, env: {} });
    const exit = new Promise<QemuExit>((resolve) => {
      child.once('error', () => resolve({ code: null, signal: null }));
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    return {
      pid: child.pid,
      exit,
      alive: () => child.exitCode === null && child.signalCode === null,
      kill: (signal) => child.kill(signal),
      unref: () => child.unref(),
    };
  } finally {
    closeSync(stderrFd);
  }
}

/** The last lines QEMU wrote to its stderr in `dir` ('' when none). */
export function qemuStderrTail(dir: string): string {
  try {
    return readFileSync(join(dir, 'qemu.log'), 'utf8').trim().split('\n').slice(-5).join('\n');
  } catch {
    return '';
  }
}

/** QMP quit, then SIGKILL; waits for the process to be gone. */
export async function killQemu(child: QemuProcess | undefined, qmp: QmpClient | undefined): Promise<void> {
  if (!child) return;
  if (child.alive()) {
    await qmp?.execute('quit').catch(() => {});
    await settlesWithin(child.exit, 1000);
    if (child.alive()) child.kill('SIGKILL');
  }
  await child.exit;
}
