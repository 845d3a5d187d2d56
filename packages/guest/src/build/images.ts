/** Builds (or finds cached) every guest image: kernel, initramfs, the Node.js runtime, the instance base image. */
import { resolve } from 'node:path';
import { prepareImagesDir, pruneArtifacts } from './cache.ts';
import { buildInitramfs } from './initramfs.ts';
import { buildInstanceImage } from './instance.ts';
import { buildKernel } from './kernel.ts';
import { Progress } from './progress.ts';
import type { ProgressSink } from './progress.ts';
import { buildNodeRuntime } from './runtime.ts';
import { buildPythonRuntime } from './runtime-python.ts';
import { DEFAULT_IMAGES_DIR } from './paths.ts';

export interface GuestImages {
  dir: string;
  kernel: string;
  /** `uname -r` inside the guest. */
  kernelRelease: string;
  initramfs: string;
  /** Runtime root filesystems (squashfs); `python` is absent when built with `python: false`. */
  runtimes: { node: string; python?: string | undefined };
  /**
   * Instance base images (raw ext4 root filesystems, booted with `kernel` + `initramfs` in
   * instance mode); absent when built with `instance: false`. Copy before booting: a booted disk
   * is the instance's own.
   */
  instances?: { debian: string } | undefined;
}

export interface BuildImagesOptions {
  /** Build directory; default `ALEPH_IMAGES_DIR` or `<repo>/.images`. */
  dir?: string | undefined;
  progress?: ProgressSink | undefined;
  /** Remove artifacts of older inputs. */
  prune?: boolean | undefined;
  /** Also build the instance base image (default true; false skips it for program-only uses). */
  instance?: boolean | undefined;
  /** Also build the Python runtime (default true; its first build adds a few minutes of pip). */
  python?: boolean | undefined;
}

export function imagesDir(dir?: string): string {
  return resolve(dir ?? process.env.ALEPH_IMAGES_DIR ?? DEFAULT_IMAGES_DIR);
}

export async function buildImages(options: BuildImagesOptions = {}): Promise<GuestImages> {
  const dir = imagesDir(options.dir);
  const progress = new Progress(options.progress ?? (() => {}));
  await prepareImagesDir(dir);
  progress.info(`guest images in ${dir}`);
  const kernel = await progress.step('kernel', async (log) => {
    const k = await buildKernel(dir, log);
    log(`${k.cached ? 'cached' : 'built'}: ${k.package.name} ${k.package.version} (${k.release})`);
    return k;
  });
  const initramfs = await progress.step('initramfs', async (log) => {
    const i = await buildInitramfs(dir, kernel, log);
    log(`${i.cached ? 'cached' : 'built'}: ${i.path}`);
    return i;
  });
  const runtime = await progress.step('runtime-node', async (log) => {
    const r = await buildNodeRuntime(dir, log);
    log(`${r.cached ? 'cached' : 'built'}: ${r.path} (${(r.sizeBytes / 1048576).toFixed(1)} MiB)`);
    return r;
  });
  const python = options.python === false ? undefined : await progress.step('runtime-python', async (log) => {
    const r = await buildPythonRuntime(dir, log);
    log(`${r.cached ? 'cached' : 'built'}: ${r.path} (${(r.sizeBytes / 1048576).toFixed(1)} MiB)`);
    return r;
  });
  const instance = options.instance === false ? undefined : await progress.step('instance-debian', async (log) => {
    const i = await buildInstanceImage(dir, kernel, log);
    log(`${i.cached ? 'cached' : 'built'}: ${i.path} (${(i.sizeBytes / 1048576).toFixed(0)} MiB)`);
    return i;
  });
  if (options.prune) {
    const artifacts: Array<[string, string]> = [['kernel', kernel.dir], ['initramfs', initramfs.dir], ['runtime-node', runtime.dir]];
    if (python) artifacts.push(['runtime-python', python.dir]);
    if (instance) artifacts.push(['instance-debian', instance.dir]);
    for (const [name, keep] of artifacts) {
      for (const removed of await pruneArtifacts(dir, name, keep)) progress.info(`pruned ${removed}`);
    }
  }
  return {
    dir,
    kernel: kernel.vmlinuz,
    kernelRelease: kernel.release,
    initramfs: initramfs.path,
    runtimes: { node: runtime.path, ...(python ? { python: python.path } : {}) },
    ...(instance ? { instances: { debian: instance.path } } : {}),
  };
}
