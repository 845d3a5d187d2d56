/**
 * Snapshots of a booted runtime VM (Firecracker snapshots, Lambda SnapStart): QEMU's migration
 * stream written to a file, restored later with `-incoming` (snapshot-restore.ts) instead of a
 * boot. The VM is saved after the agent's hello and before its configuration, so a restore is a
 * booted runtime waiting for a program.
 *
 * How the stream leaves a jailed QEMU (chrooted into an empty directory, unprivileged uid, no
 * exec under its seccomp filter): an `exec:` URI would need a shell in the jail, and `getfd` needs
 * a descriptor sent over the QMP socket (SCM_RIGHTS), which Node's sockets cannot send. So the
 * host listens on a Unix socket inside the VM's own jail directory, owned by the VM's uid (the
 * only file QEMU can reach there, for the time of the save), QEMU migrates to `unix:/<name>`
 * (its chroot's root), and the host writes what it receives to the file (0600, fsynced).
 *
 * The VM is paused first (`stop`), so the stream is one pass over memory and the saved state is
 * one instant; after a completed save QEMU stays paused (`postmigrate`) and the caller ends it.
 * Under TCG guest time stands still while paused; a restore sets the guest's clock anyway.
 */
import { chownSync, closeSync, createWriteStream, fsyncSync, openSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { QmpClient } from './qmp.ts';
import type { SnapshotLayout } from './snapshot-types.ts';
import type { MicroVmOptions } from './vm-types.ts';


export interface SnapshotInfo {
  file: string;
  bytes: number;
  /** From the pause to the file's fsync. */
  saveMs: number;
  layout: SnapshotLayout;
}

/** Socket name in the jail directory during a save. */
const SAVE_SOCKET = 'snapshot.sock';

export function snapshotLayout(options: MicroVmOptions): SnapshotLayout {
  return {
    accelerator: options.accelerator,
    vcpus: options.vcpus,
    memoryMib: options.memoryMib,
    kernel: options.kernel,
    initramfs: options.initramfs,
    runtime: options.runtime,
    drives: options.drives.map((d) => ({ serial: d.serial, path: d.path, readOnly: d.readOnly })),
  };
}

/** Why `options` cannot restore a snapshot of `layout` (undefined when they match). */
export function layoutMismatch(layout: SnapshotLayout, options: MicroVmOptions): string | undefined {
  const want = snapshotLayout(options);
  for (const key of ['accelerator', 'vcpus', 'memoryMib', 'kernel', 'initramfs', 'runtime'] as const) {
    if (layout[key] !== want[key]) return `${key} differs from the snapshot's (${String(layout[key])} vs ${String(want[key])})`;
  }
  if (JSON.stringify(layout.drives) !== JSON.stringify(want.drives)) return "the drives differ from the snapshot's";
  if (options.instance) return 'instances are not restored from snapshots';
  return undefined;
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
}

/** Writes the first connection's bytes to `file` (created, 0600), fsynced; resolves with its size. */
function receiveOnce(server: Server, file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('connection', (socket: Socket) => {
      // One stream only: nothing else may connect while it is written.
      server.close();
      const out = createWriteStream(file, { flags: 'wx', mode: 0o600 });
      socket.on('error', reject);
      out.on('error', reject);
      out.on('close', () => {
        try {
          const fd = openSync(file, 'r');
          try {
            fsyncSync(fd);
          } finally {
            closeSync(fd);
          }
          resolve(statSync(file).size);
        } catch (err) {
          reject(err as Error);
        }
      });
      socket.pipe(out);
    });
  });
}

async function waitMigration(qmp: QmpClient, deadline: number): Promise<void> {
  for (;;) {
    const info = (await qmp.execute('query-migrate')) as { status?: string; 'error-desc'?: string };
    if (info.status === 'completed') return;
    if (info.status === 'failed' || info.status === 'cancelled') throw new Error(`the save failed: ${info['error-desc'] ?? info.status}`);
    if (Date.now() > deadline) {
      await qmp.execute('migrate_cancel').catch(() => {});
      throw new Error('the save did not complete in time');
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Saves the paused VM behind `qmp` to `file` (which must not exist). `jail` is the VM's chroot
 * directory and uid. Removes a partial file on failure.
 */
export async function saveSnapshot(input: { qmp: QmpClient; jail: { chrootDir: string; uid: number }; file: string; layout: SnapshotLayout; timeoutMs?: number }): Promise<SnapshotInfo> {
  const { qmp, file } = input;
  const socketPath = join(input.jail.chrootDir, SAVE_SOCKET);
  const server = createServer();
  const started = performance.now();
  const deadline = Date.now() + (input.timeoutMs ?? 120_000);
  try {
    await listen(server, socketPath);
    // QEMU connects as the VM's uid: the socket is its, and only its.
    chownSync(socketPath, input.jail.uid, input.jail.uid);
    const received = receiveOnce(server, file);
    received.catch(() => {});
    await qmp.execute('stop');
    // A local file: the default 128 MiB/s bandwidth cap would only slow the save down.
    await qmp.execute('migrate-set-parameters', { 'max-bandwidth': 64 * 1024 ** 3 });
    await qmp.execute('migrate', { uri: `unix:/${SAVE_SOCKET}` });
    await waitMigration(qmp, deadline);
    const bytes = await received;
    return { file, bytes, saveMs: performance.now() - started, layout: input.layout };
  } catch (err) {
    rmSync(file, { force: true });
    throw err;
  } finally {
    server.close();
    rmSync(socketPath, { force: true });
  }
}
