/**
 * One declarative jail for everything that touches tenant bytes on the host: process workloads,
 * and the image tools (e2fsck, resize2fs) run on tenant disk images. It is bubblewrap (`bwrap`,
 * Debian's `bubblewrap`), started through `setpriv` as an unprivileged per-workload uid:
 *
 * - a user namespace owned by that uid, so nothing in the jail holds a capability over any host
 *   resource (bwrap also drops every capability and sets no_new_privs);
 * - new mount, pid, IPC, UTS and cgroup namespaces; the network namespace is the caller's
 *   (joined before, e.g. with nsenter) or a new empty one;
 * - a root filesystem that is a fresh tmpfs holding only what the spec binds (pivot_root by
 *   bwrap), never the host's `/`;
 * - an optional seccomp filter (compiled BPF handed over on a file descriptor).
 *
 * The pure part (the command line) is here and unit-tested; running it is the caller's.
 * Tools are absolute paths resolved from fixed system directories (tools.ts), never `PATH`.
 */

export interface JailBind {
  /** Host path (must exist). */
  src: string;
  /** Path inside the jail. */
  dest: string;
}

export interface JailTmpfs {
  dest: string;
  sizeMib: number;
  /** Octal permission bits of the mount's root, default 0o1777 for scratch space. */
  mode?: number;
}

export interface JailSpec {
  /** Host uid/gid the jail runs as: unprivileged, one per workload so tenants never share one. */
  uid: number;
  gid: number;
  /** uid/gid the jailed program sees (default: the host ones). */
  insideUid?: number;
  insideGid?: number;
  roBinds?: JailBind[];
  binds?: JailBind[];
  /** Device nodes bound read-write (e.g. a loop device), besides bwrap's minimal /dev. */
  devBinds?: JailBind[];
  tmpfs?: JailTmpfs[];
  /** Symlinks created in the jail's root (`/bin` → `usr/bin` on a merged-/usr host). */
  symlinks?: { target: string; dest: string }[];
  /** Empty directories created in the jail. */
  dirs?: string[];
  /** Mount a /proc of the jail's own pid namespace. */
  proc?: boolean;
  /** A minimal /dev (null, zero, full, random, urandom, tty, shm, pts). */
  dev?: boolean;
  hostname?: string;
  chdir?: string;
  /** The whole environment of the jailed program (nothing is inherited). */
  env?: Record<string, string>;
  /** A new, empty network namespace; otherwise the caller's network namespace is kept. */
  unshareNet?: boolean;
  /** File descriptor (in the spawned process) from which bwrap reads a compiled seccomp filter. */
  seccompFd?: number;
  /**
   * Make the jail's root read-only once everything is mounted (the tmpfs root would otherwise be
   * writable, unbounded but for the cgroup's memory limit).
   */
  readOnlyRoot?: boolean;
  /**
   * Kill the jail when the process that started bwrap dies (default true: image tools die with
   * the supervisor). Detached workloads set false: they must outlive a supervisor killed with -9,
   * and their cgroup is what kills every process of the jail at stop.
   */
  dieWithParent?: boolean;
  /** Forbid user namespaces inside the jail (bwrap --disable-userns; seccomp also denies them). */
  disableUserns?: boolean;
  command: string[];
}

export interface JailTools {
  setpriv: string;
  bwrap: string;
}

export interface JailCommand {
  file: string;
  args: string[];
}

const ID_MAX = 2 ** 31 - 2;

function checkId(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 1 || value > ID_MAX) throw new Error(`jail ${what} must be an unprivileged id (1..${ID_MAX}), got ${value}`);
}

function checkJailPath(path: string, what: string): void {
  if (!path.startsWith('/') || path.split('/').includes('..') || /[\0\n]/.test(path)) throw new Error(`jail ${what} ${JSON.stringify(path)} must be absolute, without '..'`);
}

/** The command line that runs `spec.command` jailed (pure). */
export function jailCommand(spec: JailSpec, tools: JailTools): JailCommand {
  checkId(spec.uid, 'uid');
  checkId(spec.gid, 'gid');
  if (spec.command.length === 0) throw new Error('jail command is empty');
  const bw: string[] = [
    '--unshare-user',
    '--unshare-ipc',
    '--unshare-pid',
    '--unshare-uts',
    '--unshare-cgroup-try',
    ...(spec.unshareNet ? ['--unshare-net'] : []),
    ...(spec.dieWithParent === false ? [] : ['--die-with-parent']),
    // A new session: the jailed program cannot push input into a terminal of ours (TIOCSTI).
    '--new-session',
    '--cap-drop', 'ALL',
    '--clearenv',
    ...(spec.disableUserns ? ['--disable-userns'] : []),
  ];
  if (spec.insideUid !== undefined) bw.push('--uid', String(spec.insideUid));
  if (spec.insideGid !== undefined) bw.push('--gid', String(spec.insideGid));
  if (spec.hostname) bw.push('--hostname', spec.hostname);
  for (const [key, value] of Object.entries(spec.env ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new Error(`jail environment name ${JSON.stringify(key.slice(0, 64))} is invalid`);
    bw.push('--setenv', key, value);
  }
  for (const b of spec.roBinds ?? []) {
    checkJailPath(b.dest, 'mount point');
    bw.push('--ro-bind', b.src, b.dest);
  }
  for (const l of spec.symlinks ?? []) {
    checkJailPath(l.dest, 'symlink');
    bw.push('--symlink', l.target, l.dest);
  }
  for (const d of spec.dirs ?? []) {
    checkJailPath(d, 'directory');
    bw.push('--dir', d);
  }
  if (spec.proc) bw.push('--proc', '/proc');
  if (spec.dev) bw.push('--dev', '/dev');
  for (const b of spec.devBinds ?? []) {
    checkJailPath(b.dest, 'device');
    bw.push('--dev-bind', b.src, b.dest);
  }
  for (const t of spec.tmpfs ?? []) {
    checkJailPath(t.dest, 'tmpfs');
    if (!Number.isInteger(t.sizeMib) || t.sizeMib < 1) throw new Error(`jail tmpfs ${t.dest} needs a size in MiB`);
    bw.push('--perms', (t.mode ?? 0o1777).toString(8).padStart(4, '0'), '--size', String(t.sizeMib * 1024 * 1024), '--tmpfs', t.dest);
  }
  // Read-write binds last: a volume may sit below a tmpfs or a directory created above.
  for (const b of spec.binds ?? []) {
    checkJailPath(b.dest, 'mount point');
    bw.push('--bind', b.src, b.dest);
  }
  if (spec.readOnlyRoot) bw.push('--remount-ro', '/');
  if (spec.chdir) bw.push('--chdir', spec.chdir);
  if (spec.seccompFd !== undefined) bw.push('--seccomp', String(spec.seccompFd));
  return {
    file: tools.setpriv,
    args: [
      `--reuid=${spec.uid}`,
      `--regid=${spec.gid}`,
      '--clear-groups',
      '--no-new-privs',
      '--',
      tools.bwrap,
      ...bw,
      '--',
      ...spec.command,
    ],
  };
}
