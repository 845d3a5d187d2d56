/**
 * The default Node.js runtime: Debian bookworm (debootstrap, minbase) with nodejs and what the
 * guest agent uses (iproute2 for the network, unzip for zip code, tini as PID 1), plus the agent
 * in /opt/aleph, packed as a zstd squashfs. The initramfs mounts it read-only under a tmpfs
 * overlay and runs /opt/aleph/init.
 */
import { chmod, copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cachedArtifact, hashParts } from './cache.ts';
import { runCommand } from './exec.ts';
import { staticBusybox } from './busybox.ts';
import { bundleAgent } from './agent-bundle.ts';
import { ASSETS_DIR } from './paths.ts';

const BUILDER_VERSION = 'runtime-node-1';

export interface RuntimeOptions {
  suite: string;
  mirror: string;
  packages: readonly string[];
}

export const NODE_RUNTIME: RuntimeOptions = {
  suite: 'bookworm',
  mirror: 'http://deb.debian.org/debian',
  packages: ['nodejs', 'iproute2', 'unzip', 'tini'],
};

/** What is not needed at run time and only makes the image bigger. */
export const PRUNED = ['var/cache/apt/archives', 'var/lib/apt/lists', 'usr/share/doc', 'usr/share/man', 'usr/share/info', 'usr/share/locale', 'var/log'];

export interface RuntimeArtifact {
  dir: string;
  key: string;
  cached: boolean;
  path: string;
  sizeBytes: number;
}

/** Verbs debootstrap prints once per package: shown as a running count instead. */
const PER_PACKAGE = new Set(['Retrieving', 'Validating', 'Extracting', 'Unpacking', 'Configuring']);

/** Collapses debootstrap's per-package lines into one count per phase (every 40 packages). */
export function debootstrapFilter(log: (line: string) => void): (line: string) => void {
  const counts = new Map<string, number>();
  return (line) => {
    const match = /^([IWE]): (\S+)/.exec(line);
    if (!match) return;
    const verb = match[2] ?? '';
    if (match[1] !== 'I' || !PER_PACKAGE.has(verb)) {
      log(line);
      return;
    }
    const count = (counts.get(verb) ?? 0) + 1;
    counts.set(verb, count);
    if (count === 1 || count % 40 === 0) log(`${verb} packages: ${count}`);
  };
}

export async function buildNodeRuntime(imagesDir: string, log: (line: string) => void, options: RuntimeOptions = NODE_RUNTIME): Promise<RuntimeArtifact> {
  const agent = await bundleAgent();
  const init = await readFile(join(ASSETS_DIR, 'runtime-init.sh'));
  const busybox = await staticBusybox();
  const key = hashParts([BUILDER_VERSION, options.suite, options.mirror, options.packages.join(','), agent, init, busybox.sha256, ...PRUNED]);
  const artifact = await cachedArtifact(imagesDir, 'runtime-node', key, async (tmp) => {
    const root = join(tmp, 'rootfs');
    log(`debootstrap --variant=minbase ${options.suite} (+ ${options.packages.join(', ')})`);
    await runCommand('debootstrap', ['--variant=minbase', `--include=${options.packages.join(',')}`, options.suite, root, options.mirror], {
      onLine: debootstrapFilter(log),
    });
    await installAgent(root, agent, busybox.path, log);
    await finishRuntime(root, tmp, { ...options }, log);
  });
  const path = join(artifact.dir, 'runtime.squashfs');
  return { ...artifact, path, sizeBytes: (await stat(path)).size };
}

/** The guest agent, its init script and busybox in `<root>/opt/aleph` (every runtime has them). */
export async function installAgent(root: string, agent: Buffer, busyboxPath: string, log: (line: string) => void): Promise<void> {
  log('installing the guest agent');
  const aleph = join(root, 'opt/aleph');
  await mkdir(join(aleph, 'bin'), { recursive: true });
  await writeFile(join(aleph, 'agent.mjs'), agent);
  await copyFile(join(ASSETS_DIR, 'runtime-init.sh'), join(aleph, 'init'));
  await chmod(join(aleph, 'init'), 0o755);
  await copyFile(busyboxPath, join(aleph, 'bin/busybox'));
  await chmod(join(aleph, 'bin/busybox'), 0o755);
}

/** Prunes the root file system and packs it as `<tmp>/runtime.squashfs` with its manifest. */
export async function finishRuntime(root: string, tmp: string, manifest: Record<string, unknown>, log: (line: string) => void): Promise<void> {
  for (const dir of PRUNED) {
    await rm(join(root, dir), { recursive: true, force: true });
    await mkdir(join(root, dir), { recursive: true });
  }
  // The agent writes the network's resolvers; the host's must not leak into the image.
  await writeFile(join(root, 'etc/resolv.conf'), '');
  await writeFile(join(root, 'etc/hostname'), 'aleph\n');
  await mkdir(join(root, 'opt/code'), { recursive: true });
  log('packing squashfs (zstd)');
  const out = join(tmp, 'runtime.squashfs');
  await runCommand('mksquashfs', [root, out, '-comp', 'zstd', '-noappend', '-no-progress', '-quiet', '-all-root']);
  await rm(root, { recursive: true, force: true });
  const size = (await stat(out)).size;
  await writeFile(join(tmp, 'manifest.json'), JSON.stringify({ ...manifest, sizeBytes: size }, null, 2) + '\n');
  log(`runtime.squashfs: ${(size / 1048576).toFixed(1)} MiB`);
}
