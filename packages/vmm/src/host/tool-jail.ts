/**
 * Host tools run on tenant bytes (mksquashfs on a tenant's code or volume directory, e2fsck and
 * resize2fs on a tenant's disk image) run jailed, never as root:
 *
 * - as an unprivileged uid of their own (a host-wide lease, id-lease.ts, in the microVM id range
 *   above any tap number), through jailCommand (setpriv + bubblewrap): a user namespace without
 *   host capabilities, new pid/IPC/UTS namespaces, a new EMPTY network namespace, a root
 *   filesystem holding only /usr (read-only), a small /dev and /proc, and the files of this run;
 * - in a cgroup of their own with a memory cap, one CPU and a pid cap, joined before the tool
 *   runs (execInCgroup);
 * - with only their input bound read-only and their output bound read-write.
 *
 * The inputs live in root-only directories (the CRN data directory is 0700) that the jail's uid
 * cannot walk, and bubblewrap resolves bind sources as that uid. So the sources are first bound,
 * as root, onto a small tmpfs in a private mount namespace of this run only (unshare --mount):
 * nothing is mounted on the host and nothing is left behind when the run ends, whatever way it
 * ends. Read-write outputs must be regular files; they are handed to the jail's uid for the run
 * and given back to root afterwards.
 */
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Cgroup, detectCgroups, execInCgroup } from './cgroups.ts';
import { workloadId } from './ids.ts';
import { takeIdLease } from './id-lease.ts';
import { jailCommand, type JailSpec } from './jail.ts';
import { requireTool } from './tools.ts';

/** Tool jails take microVM ids from here up (tap numbers stay far below: a /8 pool has 65536). */
export const TOOL_ID_OFFSET = 1 << 19;
const TOOL_ID_COUNT = 1 << 16;
const RUN_DIR = '/run/aleph-nodes-vmm';
const CGROUP_PARENT = 'aleph-tools';

export interface ToolBind {
  /** Host path (a directory or a regular file). */
  src: string;
  /** Path inside the jail. */
  dest: string;
}

export interface JailedToolOptions {
  /** Absolute tool path inside the jail (the jail's /usr is the host's) and its arguments. */
  command: string[];
  /** Inputs, bound read-only. */
  inputs?: ToolBind[];
  /** Outputs: regular files, bound read-write, owned by the jail's uid for the run only. */
  outputs?: ToolBind[];
  /** Memory cap of the run's cgroup (the tool and its page cache). */
  memoryMib: number;
  timeoutMs: number;
  pids?: number;
  /** Where leases and the staging mount point live (tests use their own). */
  runDir?: string;
}

export interface JailedToolResult {
  code: number | null;
  signal: string | null;
  /** stdout and stderr, the last 64 KiB. */
  output: string;
  /** The host uid the tool ran as. */
  uid: number;
  /** The cgroup's OOM killer acted. */
  oomKilled: boolean;
}

interface Tools {
  sh: string;
  unshare: string;
  mount: string;
  mkdir: string;
  setpriv: string;
  bwrap: string;
}

function hostTools(): Tools {
  return {
    sh: requireTool('sh', 'dash'),
    unshare: requireTool('unshare', 'util-linux'),
    mount: requireTool('mount', 'mount'),
    mkdir: requireTool('mkdir', 'coreutils'),
    setpriv: requireTool('setpriv', 'util-linux'),
    bwrap: requireTool('bwrap', 'bubblewrap'),
  };
}

/** The host's top-level links and directories the tool's libraries need (merged /usr or not). */
function systemLayout(): Pick<JailSpec, 'roBinds' | 'symlinks'> {
  const roBinds = [{ src: '/usr', dest: '/usr' }];
  const symlinks: { target: string; dest: string }[] = [];
  for (const name of ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32']) {
    try {
      const st = lstatSync(`/${name}`);
      if (st.isSymbolicLink()) symlinks.push({ target: `usr/${name}`, dest: `/${name}` });
      else if (st.isDirectory()) roBinds.push({ src: `/${name}`, dest: `/${name}` });
    } catch {
      // absent on this host
    }
  }
  return { roBinds, symlinks };
}

/**
 * The root stage inside the private mount namespace (pure): a tmpfs on `$1`, one mount point
 * per bind (directory or empty file), each source bound on it (read-only ones remounted so),
 * then exec of the jail. Paths arrive as positional parameters, never inside the script text.
 */
export function stagingScript(mount: string, mkdir: string, binds: readonly { kind: 'dir' | 'file'; readOnly: boolean }[]): string {
  const lines = [`${mount} -t tmpfs -o size=64k,mode=0755,nosuid,nodev aleph-jail-stage "$1" || exit 125`];
  binds.forEach((bind, i) => {
    const point = `"$1/b${i}"`;
    const source = `"\${${i + 2}}"`;
    lines.push(bind.kind === 'dir' ? `${mkdir} ${point} || exit 125` : `: > ${point} || exit 125`);
    lines.push(`${mount} --bind ${source} ${point} || exit 125`);
    if (bind.readOnly) lines.push(`${mount} -o remount,bind,ro ${point} || exit 125`);
  });
  lines.push(`shift ${binds.length + 1}`, 'exec "$@"');
  return lines.join('\n');
}

/** Runs one tool jailed; resolves with its exit (a non-zero exit is not an error). */
export async function runJailedTool(options: JailedToolOptions): Promise<JailedToolResult> {
  const tools = hostTools();
  const runDir = options.runDir ?? RUN_DIR;
  const stage = join(runDir, 'jail-stage');
  mkdirSync(stage, { recursive: true });
  // The jail's uid walks this path to reach the staged binds.
  chmodSync(runDir, 0o755);
  chmodSync(stage, 0o755);
  const lease = takeIdLease(join(runDir, 'tool-ids'), TOOL_ID_COUNT);
  const uid = workloadId('microvm', TOOL_ID_OFFSET + lease.index);
  const layout = detectCgroups(CGROUP_PARENT);
  const cgroup = new Cgroup(layout, `t${lease.index}-${randomBytes(4).toString('hex')}`);
  const inputs = options.inputs ?? [];
  const outputs = options.outputs ?? [];
  for (const out of outputs) {
    if (!statSync(out.src).isFile()) throw new Error(`jailed tool output ${out.src} must be a regular file`);
  }
  try {
    cgroup.create({ memoryMib: options.memoryMib, vcpus: 1, pids: options.pids ?? 64 });
    for (const out of outputs) chownSync(out.src, uid, uid);
    const binds = [
      ...inputs.map((b) => ({ ...b, kind: statSync(b.src).isDirectory() ? ('dir' as const) : ('file' as const), readOnly: true })),
      ...outputs.map((b) => ({ ...b, kind: 'file' as const, readOnly: false })),
    ];
    const layoutBinds = systemLayout();
    const jail = jailCommand(
      {
        uid,
        gid: uid,
        roBinds: [...(layoutBinds.roBinds ?? []), ...binds.flatMap((b, i) => (b.readOnly ? [{ src: join(stage, `b${i}`), dest: b.dest }] : []))],
        symlinks: layoutBinds.symlinks,
        binds: binds.flatMap((b, i) => (b.readOnly ? [] : [{ src: join(stage, `b${i}`), dest: b.dest }])),
        tmpfs: [{ dest: '/tmp', sizeMib: 16 }],
        proc: true,
        dev: true,
        unshareNet: true,
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' },
        chdir: '/',
        command: options.command,
      },
      tools,
    );
    const staged = [tools.sh, '-c', stagingScript(tools.mount, tools.mkdir, binds), 'sh', stage, ...binds.map((b) => b.src), jail.file, ...jail.args];
    const cmd = execInCgroup(tools.sh, cgroup.procsFiles, tools.unshare, ['--mount', '--propagation', 'private', '--', ...staged]);
    const result = await runCapture(cmd.file, cmd.args, options.timeoutMs);
    if (result.code === 125) throw new Error(`the jail for ${options.command[0]} could not be set up: ${result.output.trim().split('\n').slice(-2).join(' ')}`);
    return { ...result, uid, oomKilled: cgroup.oomKilled() };
  } finally {
    for (const out of outputs) {
      try {
        chownSync(out.src, 0, 0);
      } catch {
        // removed by the caller meanwhile
      }
    }
    await cgroup.destroy().catch(() => {});
    lease.release();
  }
}

function runCapture(file: string, args: string[], timeoutMs: number): Promise<{ code: number | null; signal: string | null; output: string }> {
  return new Promise((resolve, reject) => {
    // Nothing from our environment reaches the root stage (PATH least of all).
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: {}, detached: true });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-65536);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // gone
      }
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output });
    });
  });
}

/** Cgroups of tool runs whose supervisor died mid-run (their processes died with it). */
export async function cleanupToolCgroups(runDir = RUN_DIR): Promise<void> {
  let layout;
  try {
    layout = detectCgroups(CGROUP_PARENT);
  } catch {
    return;
  }
  const leases = new Set<string>();
  try {
    for (const entry of readdirSync(join(runDir, 'tool-ids'))) leases.add(entry);
  } catch {
    // no lease directory yet
  }
  for (const name of layout.list()) {
    const index = /^t(\d+)-/.exec(name)?.[1];
    // A live lease may be running right now: only groups whose lease is gone are removed.
    if (index !== undefined && !leases.has(index)) await new Cgroup(layout, name).destroy().catch(() => {});
  }
}
