/**
 * Persistent volumes of process workloads are ext4 images, like the microVM backend's: the file's
 * size is the quota (hole 11: a bind-mounted directory had none). A directory `source` keeps its
 * image at `<source>/volume.ext4` (the microVM executor's convention, so both backends read the
 * same volume); a file `source` is the image. The root stage loop-mounts it inside the workload's
 * private mount namespace (sandbox-script.ts); here are the host-side checks around that.
 */
import { lstatSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePersistentImage } from '../host/ext4.ts';
import type { VolumeSpec } from '../executor.ts';

export const IMAGE_NAME = 'volume.ext4';

/** The image path of a persistent volume (pure but for one lstat). */
export function imagePathOf(source: string): string {
  try {
    if (lstatSync(source).isDirectory()) return join(source, IMAGE_NAME);
  } catch {
    // missing: treated as an image path to create
  }
  return source;
}

/**
 * Creates missing images and checks existing ones. Refuses anything but a regular file: a
 * symbolic link left in a volume directory (by a tenant of the older, bind-mounting backend)
 * must not make root loop-mount another file.
 */
export async function prepareImages(volumes: readonly VolumeSpec[]): Promise<(string | undefined)[]> {
  const images: (string | undefined)[] = [];
  for (const v of volumes) {
    if (v.kind !== 'persistent') {
      images.push(undefined);
      continue;
    }
    const image = imagePathOf(v.source);
    let exists = false;
    try {
      const st = lstatSync(image);
      if (!st.isFile()) throw new Error(`${image} is not a regular file`);
      exists = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (!exists) await ensurePersistentImage(image, v.sizeMib);
    images.push(image);
  }
  return images;
}

/** Loop devices (`loop3`) whose backing file is `image`. */
export function loopDevicesOf(image: string): string[] {
  let target: string;
  try {
    target = realpathSync(image);
  } catch {
    return [];
  }
  const out: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync('/sys/block').filter((n) => n.startsWith('loop'));
  } catch {
    return out;
  }
  for (const name of names) {
    try {
      const backing = readFileSync(`/sys/block/${name}/loop/backing_file`, 'utf8').trim();
      if (backing === target || backing === `${target} (deleted)`) out.push(name);
    } catch {
      // not attached
    }
  }
  return out;
}

/**
 * Waits until no loop device holds any of `images` (the previous run's mount namespace is torn
 * down by the kernel shortly after its last process exits). True when all are free.
 */
export async function waitImagesFree(images: readonly (string | undefined)[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const busy = images.some((i) => i !== undefined && loopDevicesOf(i).length > 0);
    if (!busy) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}
