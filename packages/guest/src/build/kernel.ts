/**
 * The guest kernel: Debian's `linux-image-cloud-amd64` (a metapackage; its dependency is the
 * versioned image), fetched with `apt-get download` and unpacked with `dpkg -x`. The artifact
 * keeps the kernel image and the few modules the initramfs loads, in load order.
 */
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cachedArtifact, hashFile, hashParts } from './cache.ts';
import { runCommand } from './exec.ts';
import { moduleLoadOrder } from './modules.ts';

/** Bump when the way the kernel artifact is produced changes. */
const BUILDER_VERSION = 'kernel-1';

/**
 * virtio transport and devices (block, net, serial console), the runtime's filesystem and the
 * overlay put over it. ext4 and tmpfs are built into this kernel.
 */
export const GUEST_MODULES = ['virtio_mmio', 'virtio_blk', 'virtio_net', 'virtio_console', 'squashfs', 'overlay'] as const;

export interface KernelPackage {
  name: string;
  version: string;
  sha256: string;
}

export interface KernelArtifact {
  dir: string;
  key: string;
  cached: boolean;
  vmlinuz: string;
  /** `uname -r` of the guest. */
  release: string;
  modulesDir: string;
  moduleOrder: string[];
  package: KernelPackage;
}

/** Finds the versioned kernel package behind the metapackage, from the local apt lists (no download). */
export async function resolveKernelPackage(meta = 'linux-image-cloud-amd64'): Promise<KernelPackage> {
  const depends = await runCommand('apt-cache', ['depends', meta]);
  const name = /Depends:\s*(linux-image-[^\s]+)/.exec(depends)?.[1];
  if (!name) throw new Error(`cannot resolve ${meta} (run apt-get update?)`);
  const show = await runCommand('apt-cache', ['show', '--no-all-versions', name]);
  const version = /^Version:\s*(\S+)/m.exec(show)?.[1];
  const sha256 = /^SHA256:\s*([0-9a-f]{64})/m.exec(show)?.[1];
  if (!version || !sha256) throw new Error(`apt-cache show ${name} gave no version/SHA256`);
  return { name, version, sha256 };
}

/**
 * Downloads the kernel package into `work` (checked against the archive's SHA256) and unpacks
 * it there; returns the unpacked tree and its kernel release. Also used by the instance image,
 * which ships the full module tree.
 */
export async function unpackKernelPackage(pkg: KernelPackage, work: string, log: (line: string) => void): Promise<{ root: string; release: string }> {
  log(`downloading ${pkg.name} ${pkg.version}`);
  await mkdir(work, { recursive: true });
  await runCommand('apt-get', ['download', '-q', `${pkg.name}=${pkg.version}`], { cwd: work });
  const deb = (await readdir(work)).find((f) => f.endsWith('.deb'));
  if (!deb) throw new Error('apt-get download produced no .deb');
  const actual = await hashFile(join(work, deb));
  if (actual !== pkg.sha256) throw new Error(`${deb}: SHA256 ${actual} does not match the archive's ${pkg.sha256}`);
  log('unpacking');
  const root = join(work, 'root');
  await runCommand('dpkg', ['-x', join(work, deb), root]);
  const releases = await readdir(join(root, 'lib/modules'));
  if (releases.length !== 1 || !releases[0]) throw new Error(`expected one kernel release in ${deb}, found ${releases.join(', ')}`);
  return { root, release: releases[0] };
}

export async function buildKernel(imagesDir: string, log: (line: string) => void): Promise<KernelArtifact> {
  const pkg = await resolveKernelPackage();
  const key = hashParts([BUILDER_VERSION, pkg.name, pkg.version, pkg.sha256, GUEST_MODULES.join(',')]);
  const artifact = await cachedArtifact(imagesDir, 'kernel', key, async (tmp) => {
    const work = join(tmp, 'work');
    const { root, release } = await unpackKernelPackage(pkg, work, log);
    await copyFile(join(root, 'boot', `vmlinuz-${release}`), join(tmp, 'vmlinuz'));
    const { order, files } = await moduleLoadOrder(join(root, 'lib/modules', release), GUEST_MODULES);
    log(`modules in load order: ${order.join(' ')}`);
    await mkdir(join(tmp, 'modules'));
    for (const name of order) await copyFile(files.get(name)!, join(tmp, 'modules', `${name}.ko`));
    await writeFile(join(tmp, 'modules', 'order'), order.join('\n') + '\n');
    await writeFile(join(tmp, 'manifest.json'), JSON.stringify({ package: pkg, release, moduleOrder: order }, null, 2) + '\n');
    await rm(work, { recursive: true, force: true });
  });
  const manifest = JSON.parse(await readFile(join(artifact.dir, 'manifest.json'), 'utf8')) as { release: string; moduleOrder: string[] };
  return {
    ...artifact,
    vmlinuz: join(artifact.dir, 'vmlinuz'),
    release: manifest.release,
    modulesDir: join(artifact.dir, 'modules'),
    moduleOrder: manifest.moduleOrder,
    package: pkg,
  };
}
