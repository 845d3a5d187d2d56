/**
 * The doctor's KVM check: the same probe the microVM executor runs at start, which really boots
 * a tiny guest (a present /dev/kvm is not proof: on nested machines it opens and every guest
 * hangs or aborts). It needs the guest kernel and initramfs; they are built (or found in the
 * cache) first, with progress on stderr.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImages } from '@aleph-nodes/guest/build';
import { probeAccelerator } from '@aleph-nodes/vmm';
import type { KvmProbeResult } from './checks.ts';

const QEMU = '/usr/bin/qemu-system-x86_64';

export async function probeKvm(): Promise<KvmProbeResult> {
  if (!existsSync('/dev/kvm')) return { usable: false, detail: '/dev/kvm is missing (no hardware virtualization, or the kvm module is not loaded)' };
  if (!existsSync(QEMU)) return { usable: false, detail: `${QEMU} is not installed: cannot boot a probe guest` };
  let images: Awaited<ReturnType<typeof buildImages>>;
  try {
    images = await buildImages({ progress: (line: string) => process.stderr.write(`doctor: ${line}\n`) });
  } catch (err) {
    return { usable: false, detail: `guest images unavailable, cannot probe: ${(err as Error).message}` };
  }
  const runDir = await mkdtemp(join(tmpdir(), 'crn-doctor-'));
  try {
    const result = await probeAccelerator({ qemuPath: QEMU, kernel: images.kernel, initramfs: images.initramfs, kvmCpu: 'host', runDir });
    return { usable: result.accelerator === 'kvm', detail: result.reason };
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }
}
