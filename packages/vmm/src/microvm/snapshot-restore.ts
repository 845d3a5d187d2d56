/**
 * Restores a snapshot (snapshot.ts) into a new VM: QEMU starts with the VM's own directory,
 * jail, tap and MAC on its command line and `-incoming defer`; the snapshot file is opened here
 * and inherited as QEMU's fd 3 (no path into the jail, no fd passing over QMP), then
 * `migrate-incoming fd:3` loads it and the guest runs on from where it was saved.
 *
 * Every VM restored from one snapshot would otherwise share the kernel's random state, the MAC
 * and a clock stuck at the save, so before anything else the host sends the agent a refresh
 * (fresh host randomness, the host's time, the VM's own MAC; agent/identity.ts in the guest).
 * QEMU 7.2 takes the MAC from the migrated virtio-net state, not from `mac=` on the restore's
 * command line; the guest driver sets the new one through the device, and the host checks with
 * QMP `query-rx-filter` that QEMU forwards for that MAC before the VM is configured.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { AgentChannel } from './agent-channel.ts';
import { killQemu, qemuStderrTail, spawnQemu, type QemuProcess } from './qemu-process.ts';
import { QmpClient } from './qmp.ts';
import { layoutMismatch } from './snapshot.ts';
import type { SnapshotRestore } from './snapshot-types.ts';
import type { TapLease } from './tap.ts';
import type { VmJail } from './vm-jail.ts';
import { MicroVmError, type MicroVmOptions } from './vm-types.ts';

/** The fd QEMU reads the snapshot from (after stdin, stdout, stderr). */
const INCOMING_FD = 3;

/** Bytes of host randomness the guest mixes in (the kernel's pool is 256 bits). */
export const REFRESH_SEED_BYTES = 64;

export interface RestoreTimings {
  /** QEMU start to the guest running again. */
  loadMs: number;
  /** The identity refresh, sent to answered. */
  refreshMs: number;
}

async function waitRunning(qmp: QmpClient, child: QemuProcess, deadline: number, dir: string): Promise<void> {
  for (;;) {
    if (!child.alive()) throw new MicroVmError('BOOT_FAILED', `QEMU exited during the restore: ${qemuStderrTail(dir)}`);
    const status = (await qmp.execute('query-status')) as { status?: string };
    if (status.status === 'running') return;
    const migration = (await qmp.execute('query-migrate')) as { status?: string; 'error-desc'?: string };
    // The save paused the source (snapshot.ts), and the stream carries that run state: QEMU
    // loads it paused, and the guest continues on our word.
    if (migration.status === 'completed' && status.status === 'paused') {
      await qmp.execute('cont');
      continue;
    }
    if (migration.status === 'failed') throw new MicroVmError('BOOT_FAILED', `the snapshot did not load: ${migration['error-desc'] ?? 'failed'}`);
    if (Date.now() > deadline) throw new MicroVmError('BOOT_TIMEOUT', `the snapshot did not load in time (VM ${status.status}, migration ${migration.status}; ${qemuStderrTail(dir)})`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The MACs QEMU's NICs filter for (`main-mac` of each). */
export async function nicMacs(qmp: QmpClient): Promise<string[]> {
  const filters = (await qmp.execute('query-rx-filter')) as Array<{ 'main-mac'?: string }>;
  return filters.map((f) => (f['main-mac'] ?? '').toLowerCase());
}

/**
 * Starts QEMU from the snapshot and refreshes the guest's identity. `onSpawn` gets the process
 * at once (the VM's teardown kills it); on failure QEMU is killed here too.
 */
export async function restoreQemu(input: {
  options: MicroVmOptions;
  restore: SnapshotRestore;
  dir: string;
  agent: AgentChannel;
  tap: TapLease;
  jail: VmJail;
  timeoutMs: number;
  onSpawn: (child: QemuProcess) => void;
}): Promise<{ child: QemuProcess; qmp: QmpClient; timings: RestoreTimings }> {
  const { options, dir, tap } = input;
  const mismatch = layoutMismatch(input.restore.layout, options);
  if (mismatch) throw new MicroVmError('BOOT_FAILED', `cannot restore the snapshot: ${mismatch}`);
  const started = performance.now();
  const deadline = Date.now() + input.timeoutMs;
  const fd = openSync(input.restore.file, 'r');
  let child: QemuProcess;
  try {
    child = spawnQemu(options, dir, input.agent.path, tap, input.jail, fd);
  } finally {
    // QEMU holds its own copy.
    closeSync(fd);
  }
  input.onSpawn(child);
  let qmp: QmpClient | undefined;
  try {
    qmp = await QmpClient.connect(join(dir, 'qmp.sock'), Math.max(1000, deadline - Date.now()));
    await qmp.execute('migrate-incoming', { uri: `fd:${INCOMING_FD}` });
    await waitRunning(qmp, child, deadline, dir);
    const loadMs = performance.now() - started;
    await input.agent.refresh({ type: 'refresh', seed: randomBytes(REFRESH_SEED_BYTES).toString('base64'), timeMs: Date.now(), mac: tap.mac }, Math.max(1000, deadline - Date.now()), child.exit);
    const macs = await nicMacs(qmp);
    if (macs.length !== 1 || macs[0] !== tap.mac.toLowerCase()) throw new MicroVmError('CONFIGURE_FAILED', `the restored VM's NIC filters for ${macs.join(', ')}, not its own MAC ${tap.mac}`);
    return { child, qmp, timings: { loadMs, refreshMs: performance.now() - started - loadMs } };
  } catch (err) {
    await killQemu(child, qmp);
    qmp?.close();
    throw err;
  }
}
