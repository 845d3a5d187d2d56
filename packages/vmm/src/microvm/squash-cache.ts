/**
 * Content-addressed cache of code squashfs images: the code of a program is packed once per
 * content key (its STORE file's hash and encoding, ExecutionSpec.code.contentKey), not at every
 * start. An on-demand program that idles out and is called again boots without mksquashfs.
 *
 * - Partial writes: an image is built in a temporary file and renamed into place, its sha256
 *   written beside it (`<key>.sha256`); an image without a matching sidecar is rebuilt.
 * - Re-verified: every use hashes the image again before a VM gets it (a disk error or a hand
 *   edit cannot reach a guest as the tenant's code).
 * - Concurrent starts: one build per key in this process; across processes the rename is atomic,
 *   so a reader sees a whole old or a whole new image (a mismatch only costs a rebuild).
 * - A VM never uses the cached path itself: it gets a hard link in its own scratch directory
 *   (same filesystem), so evicting or rebuilding an entry never pulls a drive from under a VM.
 * - Bounded: past `maxBytes`, the least recently used images are removed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, link, mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { squashDirectory, type SquashLimits } from './disks.ts';

export interface SquashCacheConfig {
  /** On the same filesystem as the VMs' scratch directories (hard links). */
  dir: string;
  maxBytes: number;
}

const KEY_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export class SquashCache {
  readonly #building = new Map<string, Promise<void>>();
  /** Builds done by this cache (tests check that a second start reuses the first one's image). */
  builds = 0;

  constructor(
    readonly config: SquashCacheConfig,
    private readonly limits: () => SquashLimits,
  ) {}

  /**
   * Puts the squashfs of `sourceDir` (content `key`) at `target` (a new hard link to the cached
   * image), building it when the cache has no verified image for the key.
   */
  async linkImage(key: string, sourceDir: string, target: string): Promise<void> {
    if (!KEY_RE.test(key)) throw new Error(`invalid code content key ${JSON.stringify(key.slice(0, 40))}`);
    await mkdir(this.config.dir, { recursive: true, mode: 0o700 });
    const image = join(this.config.dir, `${key}.squashfs`);
    for (let attempt = 0; attempt < 3; attempt++) {
      await rm(target, { force: true });
      const linked = await link(image, target).then(
        () => true,
        // A cache directory on another filesystem than the VM's scratch: a copy (then verified too).
        (err: NodeJS.ErrnoException) => (err.code === 'EXDEV' ? copyFile(image, target).then(() => true, () => false) : false),
      );
      if (linked && (await this.#verify(key, target))) {
        const now = new Date();
        await utimes(image, now, now).catch(() => {});
        return;
      }
      await this.#build(key, sourceDir);
    }
    await rm(target, { force: true });
    throw new Error(`the cached code image ${key} could not be verified`);
  }

  async #verify(key: string, path: string): Promise<boolean> {
    const expected = (await readFile(join(this.config.dir, `${key}.sha256`), 'utf8').catch(() => '')).trim();
    return /^[0-9a-f]{64}$/.test(expected) && (await sha256File(path)) === expected;
  }

  #build(key: string, sourceDir: string): Promise<void> {
    const running = this.#building.get(key);
    if (running) return running;
    const build = (async () => {
      const tmp = join(this.config.dir, `.tmp-${key}-${randomBytes(6).toString('hex')}`);
      try {
        await squashDirectory(sourceDir, tmp, this.limits());
        const digest = await sha256File(tmp);
        this.builds++;
        // Image first, then its sidecar: a reader in between sees a mismatch and rebuilds.
        await rename(tmp, join(this.config.dir, `${key}.squashfs`));
        await writeFile(`${join(this.config.dir, key)}.sha256.tmp`, digest);
        await rename(`${join(this.config.dir, key)}.sha256.tmp`, join(this.config.dir, `${key}.sha256`));
      } finally {
        await rm(tmp, { force: true });
      }
      await this.#evict(key);
    })().finally(() => this.#building.delete(key));
    this.#building.set(key, build);
    return build;
  }

  /** Removes the least recently used images (never `keep`) until the cache fits its bound. */
  async #evict(keep: string): Promise<void> {
    const entries: { key: string; size: number; used: number }[] = [];
    for (const name of await readdir(this.config.dir).catch(() => [] as string[])) {
      const st = await stat(join(this.config.dir, name)).catch(() => undefined);
      // A build cut short by a crash: older than any build may take, nobody writes it any more.
      if (name.startsWith('.tmp-') && st && Date.now() - st.mtimeMs > 2 * this.limits().timeoutMs) await rm(join(this.config.dir, name), { force: true });
      if (!name.endsWith('.squashfs') || name.startsWith('.')) continue;
      if (st) entries.push({ key: name.slice(0, -'.squashfs'.length), size: st.size, used: st.mtimeMs });
    }
    let total = entries.reduce((n, e) => n + e.size, 0);
    for (const e of entries.sort((a, b) => a.used - b.used)) {
      if (total <= this.config.maxBytes) break;
      if (e.key === keep) continue;
      await rm(join(this.config.dir, `${e.key}.sha256`), { force: true });
      await rm(join(this.config.dir, `${e.key}.squashfs`), { force: true });
      total -= e.size;
    }
  }
}
