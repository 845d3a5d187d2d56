/**
 * The minimal root filesystem of a process workload, as a bubblewrap jail spec (pure). bwrap
 * builds it on a fresh tmpfs and pivot_roots into it; nothing of the host is visible but:
 *
 * - /usr read-only (the distribution's programs and libraries; on a merged-/usr host /bin, /lib,
 *   /lib64 and /sbin are symlinks into it, otherwise they are bound read-only too), and Node.js's
 *   install prefix when it lives outside /usr;
 * - a generated /etc: passwd/group naming the workload user, hosts, resolv.conf (the executor's
 *   DNS servers), nsswitch.conf; plus the CA certificates and /etc/alternatives (Debian's /usr/bin
 *   symlinks point there) read-only;
 * - its own /proc (its pid namespace only), a minimal /dev, sized tmpfs for /tmp, /var/tmp,
 *   /dev/shm and /run;
 * - the code read-only at /opt/code, and the volumes: immutable ones read-only, ephemeral ones as
 *   sized tmpfs, persistent ones (loop-mounted ext4 images, see sandbox-script.ts) read-write.
 *
 * Sources of the code, /etc and volume binds are paths in the staging area the root stage
 * prepared (sandbox-script.ts), because the jail's unprivileged uid cannot traverse the CRN's
 * data directory to reach the originals.
 */
import { existsSync, lstatSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import type { JailBind, JailSpec, JailTmpfs } from '../host/jail.ts';
import type { ExecutionSpec } from '../executor.ts';

export const CODE_MOUNT = '/opt/code';
export const WORKLOAD_HOME = '/tmp';

/** What the root stage staged: where each source is visible to the jail's uid. */
export interface StagedSources {
  code: string;
  etc: string;
  /** One entry per volume of the spec (ephemeral volumes have none). */
  volumes: (string | undefined)[];
}

export interface WorkloadJailInput {
  spec: ExecutionSpec;
  uid: number;
  gid: number;
  staged: StagedSources;
  /** Environment of the workload (variables plus what the backend adds); PATH and HOME are set here. */
  environment: Record<string, string>;
  tmpSizeMib: number;
  seccompFd?: number | undefined;
  /** The host's layout (tests pass their own). */
  host?: HostLayout;
}

export interface HostLayout {
  /** Top-level directories that are symlinks into /usr on a merged-/usr host (`/bin` → `usr/bin`). */
  mergedUsr: { dest: string; target: string }[];
  /** Top-level directories that exist as real directories (not merged): bound read-only. */
  unmerged: string[];
  /** Node.js's install prefix when it is outside /usr (bound read-only), else undefined. */
  nodePrefix: string | undefined;
  /** Optional /etc directories present on this host. */
  etcDirs: string[];
}

const TOP_DIRS = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];
const ETC_DIRS = ['/etc/ssl/certs', '/etc/ca-certificates', '/etc/alternatives'];
export const ETC_FILES = ['passwd', 'group', 'hosts', 'resolv.conf', 'nsswitch.conf'] as const;

export function detectHostLayout(): HostLayout {
  const mergedUsr: HostLayout['mergedUsr'] = [];
  const unmerged: string[] = [];
  for (const dir of TOP_DIRS) {
    try {
      const st = lstatSync(dir);
      if (st.isSymbolicLink()) {
        const target = realpathSync(dir);
        if (target.startsWith('/usr/')) mergedUsr.push({ dest: dir, target: target.slice(1) });
      } else if (st.isDirectory()) {
        unmerged.push(dir);
      }
    } catch {
      // absent on this host
    }
  }
  const node = realpathSync(process.execPath);
  const prefix = dirname(dirname(node));
  return {
    mergedUsr,
    unmerged,
    nodePrefix: prefix === '/usr' || prefix.startsWith('/usr/') ? undefined : prefix,
    etcDirs: ETC_DIRS.filter((d) => existsSync(d)),
  };
}

/** The command line of the workload: Node.js for .js/.mjs/.cjs, else the file itself. */
export function workloadCommand(entrypoint: string, nodePath = process.execPath): string[] {
  const entry = `${CODE_MOUNT}/${entrypoint}`;
  // The host is the runtime of the process backend: the supervisor's own Node.js runs scripts.
  return /\.(m|c)?js$/.test(entrypoint) ? [nodePath, entry] : [entry];
}

/** The generated /etc files (pure). */
export function etcFiles(input: { uid: number; gid: number; hostname: string; dnsServers: readonly string[] }): Record<(typeof ETC_FILES)[number], string> {
  return {
    passwd: `root:x:0:0:root:/root:/usr/sbin/nologin\nworkload:x:${input.uid}:${input.gid}:Aleph workload:${WORKLOAD_HOME}:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`,
    group: `root:x:0:\nworkload:x:${input.gid}:\nnogroup:x:65534:\n`,
    hosts: `127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n127.0.1.1 ${input.hostname}\n`,
    'resolv.conf': `${input.dnsServers.map((s) => `nameserver ${s}`).join('\n')}\noptions timeout:2 attempts:2\n`,
    'nsswitch.conf': 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n',
  };
}

export function hostnameOf(id: string): string {
  return id.slice(0, 63);
}

/** The jail of one workload (pure given the host layout). */
export function workloadJail(input: WorkloadJailInput): JailSpec {
  const { spec, staged } = input;
  const host = input.host ?? detectHostLayout();
  const roBinds: JailBind[] = [{ src: '/usr', dest: '/usr' }];
  for (const dir of host.unmerged) roBinds.push({ src: dir, dest: dir });
  if (host.nodePrefix) roBinds.push({ src: host.nodePrefix, dest: host.nodePrefix });
  for (const f of ETC_FILES) roBinds.push({ src: `${staged.etc}/${f}`, dest: `/etc/${f}` });
  for (const d of host.etcDirs) roBinds.push({ src: d, dest: d });
  roBinds.push({ src: staged.code, dest: CODE_MOUNT });
  const binds: JailBind[] = [];
  const tmpfs: JailTmpfs[] = [
    { dest: '/tmp', sizeMib: input.tmpSizeMib },
    { dest: '/var/tmp', sizeMib: 16 },
    { dest: '/dev/shm', sizeMib: 16 },
    { dest: '/run', sizeMib: 4, mode: 0o755 },
  ];
  spec.volumes.forEach((v, i) => {
    const src = staged.volumes[i];
    if (v.kind === 'ephemeral') tmpfs.push({ dest: v.mount, sizeMib: v.sizeMib, mode: 0o755 });
    else if (!src) throw new Error(`volume ${i} (${v.mount}) was not staged`);
    else if (v.kind === 'immutable') roBinds.push({ src, dest: v.mount });
    else binds.push({ src, dest: v.mount });
  });
  const path = [...(host.nodePrefix ? [`${host.nodePrefix}/bin`] : []), '/usr/local/bin', '/usr/bin', '/bin'].join(':');
  return {
    uid: input.uid,
    gid: input.gid,
    roBinds,
    symlinks: host.mergedUsr.map((l) => ({ target: l.target, dest: l.dest })),
    proc: true,
    dev: true,
    tmpfs,
    binds,
    hostname: hostnameOf(spec.id),
    chdir: CODE_MOUNT,
    env: { PATH: path, HOME: WORKLOAD_HOME, ...input.environment },
    seccompFd: input.seccompFd,
    readOnlyRoot: true,
    disableUserns: true,
    // Detached: the workload outlives a supervisor killed with -9 (its cgroup kills it at stop).
    dieWithParent: false,
    command: workloadCommand(spec.code.entrypoint),
  };
}
