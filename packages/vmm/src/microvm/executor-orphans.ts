/**
 * What a crashed or restarted CRN leaves behind, and how the microVM executor removes it: the
 * leftovers of one VM that could not be adopted, and every QEMU process, tap, port forward,
 * directory and cgroup of this executor's state directory that belongs to no live VM.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Cgroup, type CgroupLayout } from '../host/cgroups.ts';
import { cleanupToolCgroups } from '../host/tool-jail.ts';
import type { Firewall } from '../net/firewall.ts';
import { readCmdline } from './executor-support.ts';
import { cleanupOrphanTaps, deleteTap, type TapPoolConfig } from './tap.ts';
import { sleep } from './timing.ts';
import { cgroupScope, VmJail } from './vm-jail.ts';
import type { MicroVmAttachment } from './vm-types.ts';

/** What the cleanup works on: the executor's state directory, network, firewall and cgroups. */
export interface OrphanScope {
  stateDir: string;
  network: TapPoolConfig;
  firewall: Firewall | undefined;
  cgroups: CgroupLayout;
}

/** Everything of a VM that could not be adopted (its QEMU, if still there, is killed). */
export async function removeLeftovers(scope: OrphanScope, vm: MicroVmAttachment, scratchDir: string): Promise<void> {
  try {
    process.kill(vm.pid, 0);
    // The pid may have been reused by an unrelated process: only kill a QEMU of this VM.
    const cmdline = await readFile(`/proc/${vm.pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(vm.dir)) process.kill(vm.pid, 'SIGKILL');
  } catch {
    // gone
  }
  if (vm.tap) {
    await VmJail.adopt({ runDir: scope.stateDir, dir: vm.dir, tapId: vm.tap.id, cgroups: scope.cgroups }).destroy();
    await scope.firewall?.revokeInternet(vm.tap.ifname);
    await scope.firewall?.removePortForwards(vm.tap.ifname, vm.tap.guestIp).catch(() => {});
    await deleteTap(scope.network, vm.tap, vm.dir).catch(() => {});
  }
  await rm(vm.dir, { recursive: true, force: true }).catch(() => {});
  await rm(scratchDir, { recursive: true, force: true }).catch(() => {});
}

/** QEMU processes whose VM directory is in the state dir but not live: killed, pids returned. */
async function killOrphanQemus(stateDir: string, liveDirs: ReadonlySet<string>): Promise<number[]> {
  const killed: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (!cmdline.startsWith('qemu-system') && !cmdline.includes('/qemu-system')) continue;
    const dir = /(\/[^\0,]*\/vm-[A-Za-z0-9]+)\/qmp\.sock/.exec(cmdline)?.[1];
    if (dir && dir.startsWith(stateDir) && !liveDirs.has(dir)) {
      try {
        process.kill(Number(entry), 'SIGKILL');
        killed.push(Number(entry));
      } catch {
        // gone
      }
    }
  }
  return killed;
}

/** Removes every host resource of the state dir that belongs to none of `liveDirs` (VM and scratch directories). */
export async function cleanupOrphans(scope: OrphanScope, liveDirs: ReadonlySet<string>): Promise<void> {
  const killed = await killOrphanQemus(scope.stateDir, liveDirs);
  // Gone (or a zombie: no command line) before their taps and directories are removed.
  for (let i = 0; i < 50 && killed.some((pid) => readCmdline(pid) !== ''); i++) await sleep(100);
  // Leases of other executors (other CRNs on this host) are theirs to clean up, unless their VM
  // directory is gone (a removed data dir): then nobody will ever release them.
  const ours = (owner: string): boolean => owner.startsWith(`${scope.stateDir}/`);
  const orphanTaps = await cleanupOrphanTaps(scope.network, (owner) => liveDirs.has(owner) || (!ours(owner) && existsSync(owner)));
  for (const ifname of orphanTaps) await scope.firewall?.revokeInternet(ifname);
  // Port forwards of taps that are gone (their VM crashed with its supervisor).
  const existing = new Set(await readdir('/sys/class/net').catch(() => [] as string[]));
  await scope.firewall?.removePortForwardsWhere((e) => e.comment === undefined || orphanTaps.includes(e.comment) || !existing.has(e.comment)).catch(() => {});
  for (const entry of await readdir(scope.stateDir).catch(() => [] as string[])) {
    const path = join(scope.stateDir, entry);
    if ((entry.startsWith('vm-') || entry.startsWith('scratch-')) && !liveDirs.has(path)) await rm(path, { recursive: true, force: true });
  }
  // The cgroups of VMs that are gone (QEMU killed above: the groups are empty or emptied here).
  const prefix = `${cgroupScope(scope.stateDir)}-`;
  for (const name of scope.cgroups.list()) {
    if (!name.startsWith(prefix) || liveDirs.has(join(scope.stateDir, name.slice(prefix.length)))) continue;
    await new Cgroup(scope.cgroups, name).destroy().catch(() => {});
  }
  await cleanupToolCgroups();
}
