/**
 * Host-side drive images of a microVM: code and immutable directories packed as squashfs (the
 * writable ext4 images are host/ext4.ts, shared with the process backend).
 *
 * The directories are the tenant's (its code, its volumes): mksquashfs reads them jailed
 * (host/tool-jail.ts), as an unprivileged uid that sees only that directory (read-only) and the
 * image it writes, without network, under a memory cap. Its files must be readable by others
 * (the CRN unpacks code as 0644/0755).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { requireTool } from '../host/tools.ts';
import { runJailedTool } from '../host/tool-jail.ts';

/** Limits of one mksquashfs run. */
export interface SquashLimits {
  memoryMib: number;
  timeoutMs: number;
}

export const DEFAULT_SQUASH_LIMITS: SquashLimits = { memoryMib: 512, timeoutMs: 300_000 };

/** True when the file starts with the squashfs magic (`hsqs`). */
export function isSquashfsImage(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const magic = Buffer.alloc(4);
    readSync(fd, magic, 0, 4, 0);
    return magic.toString('latin1') === 'hsqs';
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Packs a directory read-only (owner root, as the guest sees it) into the new file `out`. */
export async function squashDirectory(dir: string, out: string, limits: SquashLimits = DEFAULT_SQUASH_LIMITS): Promise<void> {
  const mksquashfs = requireTool('mksquashfs', 'squashfs-tools');
  // Created here (never overwriting), handed to the jail's uid for the run, then back to root.
  await (await open(out, 'wx', 0o600)).close();
  try {
    const result = await runJailedTool({
      // -mem: its caches stay well inside the cgroup cap (it sizes them from the host's RAM otherwise).
      command: [mksquashfs, '/in', '/out.squashfs', '-noappend', '-no-progress', '-quiet', '-all-root', '-comp', 'zstd', '-mem', `${Math.max(64, Math.floor(limits.memoryMib / 4))}M`],
      inputs: [{ src: dir, dest: '/in' }],
      outputs: [{ src: out, dest: '/out.squashfs' }],
      memoryMib: limits.memoryMib,
      timeoutMs: limits.timeoutMs,
    });
    if (result.code !== 0) {
      const why = result.oomKilled ? `over its ${limits.memoryMib} MiB memory cap` : result.output.trim().split('\n').slice(-3).join(' ') || `exit ${result.code ?? result.signal}`;
      throw new Error(`${mksquashfs}: ${why}`);
    }
  } catch (err) {
    await rm(out, { force: true });
    throw err;
  }
}
