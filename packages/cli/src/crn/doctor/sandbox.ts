/**
 * What the workload sandbox needs from this host, found by trying it (a present file proves
 * little: user namespaces can be switched off by sysctl or AppArmor, a controller can be missing
 * from the hierarchy, nft can lack kernel support):
 *
 * - bubblewrap can build a jail as an unprivileged uid (the exact flags the process executor
 *   uses, through setpriv when run as root, so as a workload's uid would);
 * - the memory, cpu and pids cgroup controllers (v2, or v1 hierarchies);
 * - nftables: nft is installed and can create and delete a scratch table.
 *
 * Facts only; checks.ts judges them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectHostLayout, findTool, jailCommand, seccompFilter, workloadId } from '@aleph-nodes/vmm';

export interface SandboxFacts {
  bwrap: string | null;
  /** A jail started as an unprivileged uid ran /usr/bin/true. */
  userns: { usable: boolean; detail: string };
  cgroups: { version: 'v2' | 'v1' | null; missing: string[] };
  nft: { path: string | null; usable: boolean; detail: string };
}

const CONTROLLERS = ['memory', 'cpu', 'pids'] as const;

export function probeUserNamespaces(bwrap: string | null): SandboxFacts['userns'] {
  const setpriv = findTool('setpriv');
  const truePath = findTool('true');
  if (!bwrap) return { usable: false, detail: 'bwrap is not installed' };
  if (!truePath) return { usable: false, detail: 'no true(1) to run' };
  const root = process.getuid?.() === 0;
  if (root && !setpriv) return { usable: false, detail: 'setpriv (util-linux) is not installed' };
  // The last uid of the process workload range: what a workload would run as.
  const uid = workloadId('process', (1 << 20) - 1);
  const host = detectHostLayout();
  const jail = jailCommand(
    {
      uid,
      gid: uid,
      roBinds: [{ src: '/usr', dest: '/usr' }, ...host.unmerged.map((d) => ({ src: d, dest: d }))],
      symlinks: host.mergedUsr,
      proc: true,
      dev: true,
      unshareNet: true,
      disableUserns: true,
      readOnlyRoot: true,
      seccompFd: seccompFilter() ? 3 : undefined,
      command: [truePath],
    },
    { setpriv: setpriv ?? '', bwrap },
  );
  // As root: exactly the executor's command (setpriv drops to the uid). Otherwise: bwrap as this user.
  const [file, args] = root ? [jail.file, jail.args] : [bwrap, jail.args.slice(jail.args.indexOf(bwrap) + 1)];
  // The seccomp filter on descriptor 3, read from a file as the executor hands it over.
  const filter = seccompFilter();
  const dir = mkdtempSync(join(tmpdir(), 'crn-doctor-'));
  let fd: number | undefined;
  let r: ReturnType<typeof spawnSync>;
  try {
    if (filter) {
      writeFileSync(join(dir, 'seccomp.bpf'), filter);
      fd = openSync(join(dir, 'seccomp.bpf'), 'r');
    }
    r = spawnSync(file, args, { encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe', ...(fd === undefined ? [] : [fd])] });
  } finally {
    if (fd !== undefined) closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
  if (r.status === 0) return { usable: true, detail: `bwrap jail started as uid ${root ? uid : process.getuid?.()}` };
  const reason = (String(r.stderr ?? '') || r.error?.message || `exit ${r.status}`).trim().split('\n').slice(-1)[0];
  return { usable: false, detail: `bwrap failed: ${reason}` };
}

export function probeCgroups(root = '/sys/fs/cgroup'): SandboxFacts['cgroups'] {
  if (existsSync(`${root}/cgroup.controllers`) && !existsSync(`${root}/memory/memory.limit_in_bytes`)) {
    let available: string[] = [];
    try {
      available = readFileSync(`${root}/cgroup.controllers`, 'utf8').trim().split(/\s+/);
    } catch {
      // unreadable
    }
    return { version: 'v2', missing: CONTROLLERS.filter((c) => !available.includes(c)) };
  }
  const missing = CONTROLLERS.filter((c) => !existsSync(`${root}/${c}/cgroup.procs`));
  return { version: missing.length === CONTROLLERS.length ? null : 'v1', missing };
}

export function probeNftables(): SandboxFacts['nft'] {
  const path = findTool('nft');
  if (!path) return { path: null, usable: false, detail: 'nft is not installed' };
  if (process.getuid?.() !== 0) return { path, usable: false, detail: 'run crn doctor as root to try nftables' };
  const table = `aleph_doctor_${process.pid}`;
  try {
    execFileSync(path, ['add', 'table', 'inet', table], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
  } catch (err) {
    return { path, usable: false, detail: `cannot create a table: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}` };
  }
  try {
    execFileSync(path, ['delete', 'table', 'inet', table], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
  } catch (err) {
    return { path, usable: false, detail: `created but could not delete table ${table}: ${(err as Error).message}` };
  }
  return { path, usable: true, detail: 'a scratch table was created and deleted' };
}

export function probeSandbox(): SandboxFacts {
  const bwrap = findTool('bwrap') ?? null;
  return { bwrap, userns: probeUserNamespaces(bwrap), cgroups: probeCgroups(), nft: probeNftables() };
}
