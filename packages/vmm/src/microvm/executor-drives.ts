/**
 * The drives of one microVM start, built in its scratch directory: the code (a squashfs from the
 * content-addressed cache, or the STORE's own squashfs image) and one drive per volume, of every
 * kind a message can name: immutable (a directory packed as squashfs, or a squashfs or ext4
 * image mounted read-only as it is), ephemeral (a fresh ext4 of its size) and persistent (an
 * ext4 image kept in its directory).
 */
import { existsSync, statSync } from 'node:fs';
import { copyFile, link } from 'node:fs/promises';
import { join } from 'node:path';
import type { GuestMount } from '@aleph-nodes/guest/protocol';
import { ExecutorError, type ExecutionSpec } from '../executor.ts';
import { createExt4Image, ensurePersistentImage } from '../host/ext4.ts';
import { isSquashfsImage, squashDirectory, type SquashLimits } from './disks.ts';
import { isExtImage } from './executor-support.ts';
import type { DriveArg } from './qemu-args.ts';
import type { SquashCache } from './squash-cache.ts';

export interface DriveSet {
  drives: DriveArg[];
  mounts: GuestMount[];
}

/** The code drive: never repacked when the cache has it, never packed at all for a squashfs STORE. */
async function codeDrive(spec: ExecutionSpec, scratch: string, squash: SquashLimits, cache: SquashCache | undefined): Promise<DriveArg> {
  const path = join(scratch, 'code.squashfs');
  if (spec.code.image !== undefined) {
    if (!isSquashfsImage(spec.code.image)) throw new ExecutorError('START_FAILED', 'the code image is not a squashfs image');
    // A link, so the VM keeps its drive whatever happens to the CRN's cache entry.
    await link(spec.code.image, path).catch(async (err: NodeJS.ErrnoException) => {
      // The download cache on another filesystem than the VMs' state: a copy, then.
      if (err.code !== 'EXDEV') throw err;
      await copyFile(spec.code.image!, path);
    });
  } else if (cache && spec.code.contentKey) {
    await cache.linkImage(spec.code.contentKey, spec.code.dir, path);
  } else {
    await squashDirectory(spec.code.dir, path, squash);
  }
  return { id: 'code', path, serial: 'aleph-code', readOnly: true };
}

export async function prepareDrives(spec: ExecutionSpec, scratch: string, squash: SquashLimits, cache: SquashCache | undefined): Promise<DriveSet> {
  const drives: DriveArg[] = [];
  const mounts: GuestMount[] = [];
  if (!spec.instance) drives.push(await codeDrive(spec, scratch, squash, cache));
  for (const [index, volume] of spec.volumes.entries()) {
    const serial = `aleph-vol-${index}`;
    let path: string;
    let fs: GuestMount['fs'] = 'ext4';
    let readOnly = false;
    if (volume.kind === 'immutable') {
      readOnly = true;
      if (statSync(volume.source).isDirectory()) {
        fs = 'squashfs';
        path = join(scratch, `vol-${index}.squashfs`);
        await squashDirectory(volume.source, path, squash);
      } else if (isSquashfsImage(volume.source)) {
        fs = 'squashfs';
        path = volume.source;
      } else if (isExtImage(volume.source)) {
        // Attached read-only: the guest's kernel mounts it `ro` and QEMU refuses writes anyway.
        path = volume.source;
      } else {
        throw new ExecutorError('START_FAILED', `immutable volume ${index} is neither a directory nor a squashfs or ext4 image`);
      }
    } else if (volume.kind === 'ephemeral') {
      path = join(scratch, `vol-${index}.ext4`);
      await createExt4Image(path, volume.sizeMib);
    } else {
      // A directory source keeps its image inside it; a file source is the image.
      path = existsSync(volume.source) && statSync(volume.source).isDirectory() ? join(volume.source, 'volume.ext4') : volume.source;
      await ensurePersistentImage(path, volume.sizeMib);
    }
    // An instance mounts them itself at boot, from the seed (aleph-instance-init).
    drives.push({ id: `vol${index}`, path, serial, readOnly });
    mounts.push({ serial, mount: volume.mount, fs, readOnly });
  }
  return { drives, mounts };
}
