/**
 * Decides KVM or TCG by really booting a tiny guest. A `/dev/kvm` that opens is not proof: on
 * our nested build machines it answers its version query, yet every KVM guest aborts
 * (`-cpu host`: MSR 0x10a), fails emulation (default CPU) or hangs. The probe boots the guest
 * initramfs alone with `aleph.probe=1`; its /init prints `ALEPH-PROBE-OK` once the virtio
 * modules are loaded, then powers off. Seen within the timeout → KVM; otherwise TCG.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { KERNEL_ARG, PROBE_MARKER } from '@aleph-nodes/guest/protocol';
import { buildQemuArgs } from './qemu-args.ts';
import type { Accelerator } from './qemu-args.ts';
import { toolPath } from './tool-paths.ts';


export interface ProbeResult {
  accelerator: Accelerator;
  /** Why: shown by the CRN's logs and `crn doctor`. */
  reason: string;
  /** How long the KVM boot attempt took, when one was made. */
  kvmProbeMs?: number | undefined;
}

export interface ProbeOptions {
  qemuPath: string;
  kernel: string;
  initramfs: string;
  kvmCpu: string;
  /** For TCG boots of the probe guest (host-tsc.ts). */
  tscKhz?: number | undefined;
  /** Parent of the probe's temporary directory. */
  runDir: string;
  /** A working KVM guest reaches the marker in well under a second; TCG here takes ~1.5 s. */
  timeoutMs?: number | undefined;
  kvmDevice?: string | undefined;
}

/** Boots the probe guest once with `accelerator`; true when it reached its init. */
export async function bootProbeGuest(options: ProbeOptions, accelerator: Accelerator): Promise<{ ok: boolean; detail: string; ms: number }> {
  const dir = await mkdtemp(join(options.runDir, 'probe-'));
  const started = Date.now();
  try {
    const consolePath = join(dir, 'console.log');
    const args = buildQemuArgs({
      accelerator,
      kvmCpu: options.kvmCpu,
      tscKhz: options.tscKhz,
      vcpus: 1,
      memoryMib: 128,
      kernel: options.kernel,
      initramfs: options.initramfs,
      consolePath,
      qmpSocket: join(dir, 'qmp.sock'),
      drives: [],
      extraKernelArgs: [KERNEL_ARG.probe, 'quiet'],
      sandbox: true,
    });
    // Our own probe guest only (no tenant input): run unjailed, but never found through PATH.
    const child = spawn(toolPath(options.qemuPath, 'qemu-system-x86'), args, { stdio: ['ignore', 'ignore', 'pipe'], env: {} });
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-2000);
    });
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });
    const deadline = started + (options.timeoutMs ?? 10_000);
    let ok = false;
    let done = false;
    void exited.then(() => {
      done = true;
    });
    while (!done && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      const text = await readFile(consolePath, 'utf8').catch(() => '');
      if (text.includes(PROBE_MARKER)) {
        ok = true;
        break;
      }
    }
    if (!ok) ok = (await readFile(consolePath, 'utf8').catch(() => '')).includes(PROBE_MARKER);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    const ms = Date.now() - started;
    const detail = ok ? `guest init reached in ${ms} ms` : stderr.trim().split('\n').pop() || `no sign of life within ${options.timeoutMs ?? 10_000} ms`;
    return { ok, detail, ms };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** KVM when a probe guest boots under it, else TCG. Run once per supervisor start. */
export async function probeAccelerator(options: ProbeOptions): Promise<ProbeResult> {
  const device = options.kvmDevice ?? '/dev/kvm';
  try {
    accessSync(device, constants.R_OK | constants.W_OK);
  } catch {
    return { accelerator: 'tcg', reason: `${device} is not usable: software emulation (TCG)` };
  }
  const kvm = await bootProbeGuest(options, 'kvm');
  if (kvm.ok) return { accelerator: 'kvm', reason: `a probe guest booted under KVM (${kvm.detail})`, kvmProbeMs: kvm.ms };
  return { accelerator: 'tcg', reason: `${device} exists but a probe guest did not boot under KVM (${kvm.detail}): software emulation (TCG)`, kvmProbeMs: kvm.ms };
}
