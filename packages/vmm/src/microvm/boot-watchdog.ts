/**
 * Boot watchdog and retry policy. Under TCG a boot can hang silently in early timer set-up.
 * While booting, the serial console must keep growing (or the agent say hello) at least every
 * `stallMs`, and the hello must come within `timeoutMs`; otherwise QEMU is killed and the boot
 * retried, up to `attempts` times. A QEMU that exits during boot (kernel panic, a runtime that is
 * not a squashfs image, bad arguments) is not retried: the console says why and that goes into
 * the error.
 *
 * Instances have no agent: their hello is the guest's SSH port accepting TCP. After the kernel
 * phase a systemd boot is only killed after `instanceSilenceMs` without console output or
 * `instanceTimeoutMs` in all, so a slow but progressing boot under TCG is left alone.
 *
 * The watchdog only decides; the VM (through `BootTarget`) owns QEMU and the agent channel.
 */
import { truncate } from 'node:fs/promises';
import { INITRAMFS_LOG_PREFIX } from '@aleph-nodes/guest/protocol';
import { diagnoseConsole, fileSize, tailLines } from './console-log.ts';
import { tcpOpen } from '../tcp-open.ts';
import { type BootPolicy } from './boot-policy.ts';
import { INSTANCE_SSH_PORT } from './instance-boot.ts';
import type { QemuExit } from './qemu-process.ts';
import { sleep } from './timing.ts';
import { MicroVmError } from './vm-types.ts';

/** What the watchdog drives: the VM being booted. */
export interface BootTarget {
  policy: BootPolicy;
  consolePath: string;
  /** For the attempt lines only. */
  accelerator: string;
  /** Instances: their hello is SSH answering at `sshHost` (none: only the timeouts end the wait). */
  instance: { sshHost: string | undefined } | undefined;
  /** Records attempt `attempt` (1-based) and returns the promise of this attempt's agent hello. */
  beginAttempt(attempt: number): Promise<unknown>;
  /** Starts QEMU for the current attempt. */
  spawn(): { pid: number | undefined; exit: Promise<QemuExit> };
  /** QMP quit, then SIGKILL; resolves once QEMU is gone. */
  killQemu(): Promise<void>;
  /** The end of QEMU's own stderr ('' when it said nothing). */
  qemuStderr(): string;
  event(line: string): void;
}

type Outcome = 'hello' | 'exited' | 'stalled' | 'timeout';

/** Boots until a hello (returns) or a final failure (throws a MicroVmError). */
export async function bootWithWatchdog(target: BootTarget): Promise<void> {
  const { policy, consolePath } = target;
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    const hello = target.beginAttempt(attempt);
    await truncate(consolePath, 0).catch(() => {});
    const started = Date.now();
    const qemu = target.spawn();
    target.event(`boot attempt ${attempt} (pid ${qemu.pid}, ${target.accelerator})`);
    let outcome: Outcome | undefined;
    let exitInfo: QemuExit | undefined;
    void qemu.exit.then((info) => {
      exitInfo = info;
      outcome ??= 'exited';
    });
    void hello.then(() => {
      outcome ??= 'hello';
    });
    // An instance says hello by accepting TCP on port 22 (checked about twice a second).
    let lastPortCheck = 0;
    let lastSize = 0;
    let lastProgress = started;
    let kernelPhase = true;
    while (!outcome) {
      await sleep(100);
      const size = fileSize(consolePath);
      if (size !== lastSize) {
        lastSize = size;
        lastProgress = Date.now();
        // The initramfs's first line ends the kernel phase (the console is small: read it all).
        if (kernelPhase && tailLines(consolePath, 2000).some((l) => l.startsWith(INITRAMFS_LOG_PREFIX))) kernelPhase = false;
      }
      if (outcome) break;
      if (target.instance) {
        const sshHost = target.instance.sshHost;
        if (!kernelPhase && sshHost && Date.now() - lastPortCheck >= 500) {
          lastPortCheck = Date.now();
          if (await tcpOpen(sshHost, INSTANCE_SSH_PORT, 1000)) outcome ??= 'hello';
          if (outcome) break;
        }
        const silence = Date.now() - lastProgress;
        if (kernelPhase && silence > policy.stallMs) outcome = 'stalled';
        else if (!kernelPhase && silence > policy.instanceSilenceMs) outcome = 'stalled';
        else if (Date.now() - started > policy.instanceTimeoutMs) outcome = 'timeout';
        continue;
      }
      if (kernelPhase && Date.now() - lastProgress > policy.stallMs) outcome = 'stalled';
      else if (Date.now() - started > policy.timeoutMs) outcome = 'timeout';
    }
    if (outcome === 'hello') {
      target.event(target.instance ? `SSH port open after ${Date.now() - started} ms` : `agent hello after ${Date.now() - started} ms`);
      return;
    }
    const tail = tailLines(consolePath, 40);
    if (outcome === 'exited') {
      const reason = diagnoseConsole(tail) ?? (target.qemuStderr() || `QEMU exited with ${exitInfo?.code ?? exitInfo?.signal}`);
      throw new MicroVmError('BOOT_FAILED', `the VM stopped during boot: ${reason}`, tail);
    }
    target.event(`boot attempt ${attempt} ${outcome === 'stalled' ? 'showed no progress on the console' : 'timed out'}: killing QEMU`);
    await target.killQemu();
    if (attempt === policy.attempts) {
      throw new MicroVmError('BOOT_TIMEOUT', `the VM did not boot after ${attempt} attempts (last: ${outcome})`, tail);
    }
  }
}
