/**
 * What the devnet checks before it starts CRNs with the microvm executor: the host commands the
 * executor needs (a missing one is named, and the devnet exits non-zero before spawning anything),
 * the guest images (built with progress when missing), and the accelerator. The KVM probe boots a
 * guest and takes up to ~10 s when KVM does not work; it runs once here and its answer is written
 * into every CRN's configuration instead of each CRN probing on its own.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImages, type GuestImages } from '@aleph-nodes/guest/build';
import { probeAccelerator, type Accelerator } from '@aleph-nodes/vmm';
import type { Logger } from '@aleph-nodes/service';

/** Commands the microvm executor runs, with the Debian package that provides each. */
const NEEDED = [
  ['qemu-system-x86_64', 'qemu-system-x86'],
  ['nft', 'nftables'],
  ['ip', 'iproute2'],
  ['mksquashfs', 'squashfs-tools'],
  ['mke2fs', 'e2fsprogs'],
] as const;

function onPath(name: string): string | undefined {
  // sbin directories are often missing from a user's PATH although the tools there run fine.
  const dirs = (process.env.PATH ?? '').split(':').filter(Boolean).concat(['/usr/sbin', '/sbin']);
  return dirs.map((d) => join(d, name)).find((p) => existsSync(p));
}

export interface MicroVmPreflight {
  images: GuestImages;
  accelerator: Accelerator;
  reason: string;
}

export async function microVmPreflight(kvmCpu: string, logger: Logger): Promise<MicroVmPreflight> {
  const missing = NEEDED.filter(([cmd]) => !onPath(cmd));
  if (missing.length > 0) {
    const list = missing.map(([cmd, pkg]) => `${cmd} (Debian package ${pkg})`).join(', ');
    throw new Error(`the microvm executor needs ${list}: run \`bash scripts/setup-debian.sh\` or use --executor process`);
  }
  const images = await buildImages({ progress: (line) => logger.info({ component: 'images' }, line) });
  const runDir = await mkdtemp(join(tmpdir(), 'devnet-kvm-probe-'));
  try {
    logger.info('probing KVM with a tiny guest (falls back to software emulation when it does not boot)');
    const probe = await probeAccelerator({ qemuPath: onPath('qemu-system-x86_64') as string, kernel: images.kernel, initramfs: images.initramfs, kvmCpu, runDir });
    logger.info({ accelerator: probe.accelerator }, probe.reason);
    return { images, accelerator: probe.accelerator, reason: probe.reason };
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }
}
