/**
 * The `process` backend: each workload is an OS process tree in a bubblewrap jail (host/jail.ts):
 * its own unprivileged host uid (from its network lease), a user namespace without capabilities
 * over anything of the host, its own pid, mount, IPC, UTS, cgroup and network namespaces, a
 * minimal root filesystem (jail-spec.ts) instead of the host's `/`, a seccomp filter
 * (host/seccomp.ts), a cgroup (memory, CPU, pids), persistent volumes as ext4 images (a quota),
 * and the shared nftables firewall in a table of its own (net/). It needs root, util-linux,
 * iproute2, bubblewrap and nftables.
 *
 * Workloads are started detached (own session, output to files, no pipe to the supervisor), so
 * they outlive a supervisor killed with -9; the adoption record (pid + start time, namespace,
 * cgroup) lets the next supervisor re-attach.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, lstatSync, mkdirSync, openSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import {
  ExecutorError,
  validateSpec,
  type AdoptionRecord,
  type ExecutionHandle,
  type ExecutionSpec,
  type Executor,
  type ExecutorCapacity,
  type ExecutorCapabilities,
  type ExecutorIsolation,
} from '../executor.ts';
import { Cgroup, detectCgroups, type CgroupLayout } from '../host/cgroups.ts';
import { workloadId } from '../host/ids.ts';
import { jailCommand } from '../host/jail.ts';
import { seccompFilter } from '../host/seccomp.ts';
import { isSameProcessAlive, processStartTime, resolveHostTools, type HostTools } from '../host/tools.ts';
import { Firewall } from '../net/firewall.ts';
import { ETC_FILES, etcFiles, hostnameOf, workloadJail } from './jail-spec.ts';
import { createNetwork, destroyNetwork, leasesWithPrefix, listNetns, type NetworkConfig, type NetworkInfo } from './network.ts';
import { BACKEND, ProcessHandle, SANDBOX_VERSION, WORKLOAD_PORT, type ProcessAdoptionData } from './process-handle.ts';
import { sandboxScript, stagedSources } from './sandbox-script.ts';
import { prepareImages, waitImagesFree } from './volumes.ts';
import { releaseLegacy } from './legacy.ts';
import { DEFAULT_DNS_SERVERS } from '../net/egress.ts';


/** Each executor's nftables table is `inet <prefix><scope>`. */
export const PROCESS_FIREWALL_TABLE_PREFIX = 'aleph_process_';

export interface ProcessExecutorOptions {
  /** Directory for per-execution files (script, output); should not be readable by workloads. */
  stateDir: string;
  /**
   * Short tag in the names of this executor's host resources (netns, veth, cgroups, nft table),
   * so that orphan cleanup never touches another supervisor's workloads. Default: from stateDir.
   */
  scope?: string;
  /** Host-wide directory of subnet leases. */
  leaseDir?: string;
  /** First address of the /16 the /30 subnets come from. */
  poolBase?: string;
  /** Fixed directory the root stage mounts its staging tmpfs over (in a private mount namespace). */
  stageDir?: string;
  /** Name servers written to the workloads' /etc/resolv.conf. */
  dnsServers?: string[];
  /** Maximum number of processes per workload. */
  pidsLimit?: number;
  /** Private /tmp size per workload in MiB. */
  tmpSizeMib?: number;
  /** Extra environment every workload gets (e.g. the ALEPH_* guest variables). */
  baseEnvironment?: Record<string, string>;
  /** `nft` (absolute, or a name looked up in the system directories). */
  nftPath?: string;
}

function shortHash(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** Mount points of one spec must be distinct and never nested: a bind inside another would create its mount point in a tenant volume. */
function checkMountLayout(spec: ExecutionSpec): void {
  const mounts = spec.volumes.map((v) => v.mount);
  for (const [i, a] of mounts.entries()) {
    for (const b of mounts.slice(i + 1)) {
      if (a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`)) {
        throw new ExecutorError('INVALID_SPEC', `volume mount points ${JSON.stringify(a)} and ${JSON.stringify(b)} overlap`);
      }
    }
  }
}

/**
 * The staging directory is where bwrap, as a workload's uid, finds the sources of its binds: the
 * directory and all its ancestors must be traversable by other users (the staging tmpfs mounted
 * over it in the workload's namespace is 0755). A restrictive umask at first creation would make
 * every start fail inside bwrap; this says why up front.
 */
function checkStageDir(stageDir: string): void {
  mkdirSync(stageDir, { recursive: true, mode: 0o755 });
  chmodSync(stageDir, 0o755);
  for (let dir = dirname(stageDir); ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) {
      throw new ExecutorError('UNSUPPORTED', `${dir} must be traversable by other users (chmod o+x): workload uids reach their files through ${stageDir}`);
    }
    if (dir === '/') return;
  }
}

export class ProcessExecutor implements Executor {
  readonly name = BACKEND;
  readonly capabilities: ExecutorCapabilities = { instances: false, runtimeImages: false, codeFormats: ['zip', 'plain'], volumeFormats: ['zip'], asgi: false, ipv6: false };
  readonly isolation: ExecutorIsolation;
  readonly #tools: HostTools;
  readonly #cgroups: CgroupLayout;
  readonly #net: NetworkConfig;
  readonly #scope: string;
  readonly #seccomp: Buffer | undefined;
  readonly #handles = new Set<ProcessHandle>();
  readonly firewall: Firewall;

  constructor(private readonly options: ProcessExecutorOptions) {
    if (process.getuid?.() !== 0) throw new ExecutorError('UNSUPPORTED', 'the process executor must run as root (namespaces, cgroups, veth)');
    this.#tools = resolveHostTools();
    this.#scope = options.scope ?? shortHash(options.stateDir, 4);
    if (!/^[a-z0-9]{4}$/.test(this.#scope)) throw new ExecutorError('INVALID_SPEC', 'scope must be 4 characters [a-z0-9]');
    this.#cgroups = detectCgroups('aleph-vmm');
    // One table per executor scope: tables matching the same interfaces would each need the
    // workload in their `internet` set (every table's forward chain must accept a packet).
    this.firewall = new Firewall({ nftPath: options.nftPath ?? 'nft', table: `${PROCESS_FIREWALL_TABLE_PREFIX}${this.#scope}`, tapPrefix: `aw${this.#scope}`, portForwards: false });
    this.#net = {
      leaseDir: options.leaseDir ?? '/run/aleph-nodes-vmm/leases',
      poolBase: options.poolBase ?? '10.213.0.0',
      ipPath: this.#tools.ip,
      firewall: this.firewall,
    };
    this.#seccomp = seccompFilter();
    // The truth for every workload this executor starts: a jail of its own uid (bwrap, minimal
    // root), the host's kernel (no guest kernel in between), the seccomp filter where there is a
    // table for this architecture, cgroup limits, and the egress policy of net/egress.ts.
    this.isolation = { jailed: true, virtualized: false, seccomp: this.#seccomp !== undefined, cgroups: true, egressFiltered: true };
    mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
    checkStageDir(this.#stageDir);
  }

  get #stageDir(): string {
    return this.options.stageDir ?? '/run/aleph-nodes-vmm/stage';
  }

  capacity(): ExecutorCapacity {
    return { vcpus: cpus().length, memoryMib: Math.floor(totalmem() / (1024 * 1024)) };
  }

  #names(id: string): { netns: string; hostIf: string; cgroup: string; dir: string } {
    const h = shortHash(id, 8);
    return {
      netns: `alv-${this.#scope}-${h}`,
      hostIf: `aw${this.#scope}${h}`,
      cgroup: `${this.#scope}-${id}`,
      dir: join(this.options.stateDir, id),
    };
  }

  async start(spec: ExecutionSpec): Promise<ExecutionHandle> {
    validateSpec(spec);
    // An instance boots its own kernel and OS from a disk image: only the microvm backend can.
    if (spec.instance) throw new ExecutorError('UNSUPPORTED', 'the process backend cannot run instances (use the microvm executor)');
    checkMountLayout(spec);
    const names = this.#names(spec.id);
    if (listNetns(names.netns).length > 0) throw new ExecutorError('START_FAILED', `execution ${spec.id} is already running`);
    const entry = join(spec.code.dir, spec.code.entrypoint);
    try {
      // lstat: an entrypoint that is a symbolic link must not make root chmod its target.
      const st = lstatSync(entry);
      if (!st.isFile()) throw new Error('not a regular file');
      if (!/\.(m|c)?js$/.test(spec.code.entrypoint) && (st.mode & 0o555) !== 0o555) chmodSync(entry, st.mode | 0o555);
    } catch {
      throw new ExecutorError('START_FAILED', `entrypoint ${spec.code.entrypoint} is not a file of the code`);
    }
    let images: (string | undefined)[];
    try {
      images = await prepareImages(spec.volumes);
    } catch (err) {
      throw new ExecutorError('START_FAILED', `could not prepare the persistent volumes: ${(err as Error).message}`);
    }
    // A previous run of this workload may still hold its image for a moment (mount namespace
    // teardown): mounting an ext4 image twice would corrupt it.
    if (!(await waitImagesFree(images, 15_000))) throw new ExecutorError('START_FAILED', 'a persistent volume is still in use by a previous run');

    rmSync(names.dir, { recursive: true, force: true });
    mkdirSync(names.dir, { recursive: true, mode: 0o700 });
    const cgroup = new Cgroup(this.#cgroups, names.cgroup);
    let net: NetworkInfo | undefined;
    try {
      cgroup.create({ memoryMib: spec.resources.memoryMib, vcpus: spec.resources.vcpus, pids: this.options.pidsLimit ?? 512 });
      net = await createNetwork(this.#net, names.netns, names.hostIf, spec.internet);
      const uid = workloadId('process', net.lease);
      const data: Omit<ProcessAdoptionData, 'pid' | 'startTime'> = {
        sandbox: SANDBOX_VERSION,
        net,
        cgroup: names.cgroup,
        dir: names.dir,
        uid,
        images: images.filter((i): i is string => i !== undefined),
      };
      const scriptPath = this.#writeSandbox(spec, names.dir, names.netns, cgroup, uid, images);
      const child = await this.#spawnDetached(scriptPath, names.dir);
      const pid = child.pid as number;
      const full: ProcessAdoptionData = { ...data, pid, startTime: processStartTime(pid) ?? 0 };
      const handle = new ProcessHandle(this, spec, full, cgroup, child, 'starting');
      this.#track(handle);
      return handle;
    } catch (err) {
      await cgroup.destroy().catch(() => undefined);
      if (net) await destroyNetwork(this.#net, net);
      rmSync(names.dir, { recursive: true, force: true });
      if (err instanceof ExecutorError) throw err;
      throw new ExecutorError('START_FAILED', `could not start the workload: ${(err as Error).message}`);
    }
  }

  /** Writes /etc, the seccomp filter and the root stage script into the workload's state dir. */
  #writeSandbox(spec: ExecutionSpec, dir: string, netns: string, cgroup: Cgroup, uid: number, images: (string | undefined)[]): string {
    const etcDir = join(dir, 'etc');
    // Readable by the workload's uid through the staging bind (its parents stay closed).
    mkdirSync(etcDir, { mode: 0o755 });
    chmodSync(etcDir, 0o755);
    const files = etcFiles({ uid, gid: uid, hostname: hostnameOf(spec.id), dnsServers: this.options.dnsServers ?? DEFAULT_DNS_SERVERS });
    for (const name of ETC_FILES) writeFileSync(join(etcDir, name), files[name], { mode: 0o644 });
    let seccompFile: string | undefined;
    if (this.#seccomp) {
      seccompFile = join(dir, 'seccomp.bpf');
      writeFileSync(seccompFile, this.#seccomp, { mode: 0o600 });
    }
    const jail = jailCommand(
      workloadJail({
        spec,
        uid,
        gid: uid,
        staged: stagedSources(this.#stageDir, spec.volumes),
        environment: { ...this.options.baseEnvironment, ...spec.variables },
        tmpSizeMib: this.options.tmpSizeMib ?? 64,
        seccompFd: seccompFile ? 3 : undefined,
      }),
      this.#tools,
    );
    const scriptPath = join(dir, 'sandbox.sh');
    writeFileSync(
      scriptPath,
      sandboxScript({
        tools: this.#tools,
        scriptPath,
        netns,
        cgroupProcsFiles: cgroup.procsFiles,
        stageDir: this.#stageDir,
        codeDir: spec.code.dir,
        etcDir,
        volumes: spec.volumes,
        images,
        uid,
        gid: uid,
        seccompFile,
        jail,
      }),
      { mode: 0o700 },
    );
    return scriptPath;
  }

  async #spawnDetached(scriptPath: string, dir: string): Promise<ChildProcess> {
    const out = openSync(join(dir, 'stdout.log'), 'a', 0o600);
    const err = openSync(join(dir, 'stderr.log'), 'a', 0o600);
    let child: ChildProcess;
    try {
      child = spawn(this.#tools.sh, [scriptPath, 'outer'], { detached: true, stdio: ['ignore', out, err], env: {} });
    } finally {
      closeSync(out);
      closeSync(err);
    }
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    child.unref();
    return child;
  }

  async adopt(record: AdoptionRecord, spec: ExecutionSpec): Promise<ExecutionHandle | undefined> {
    if (record.backend !== BACKEND) throw new ExecutorError('UNSUPPORTED', `cannot adopt a ${record.backend} execution`);
    const data = record.data as unknown as ProcessAdoptionData;
    const cgroup = new Cgroup(this.#cgroups, data.cgroup);
    if (data.sandbox !== SANDBOX_VERSION) {
      // Started by the earlier, unjailed backend: stopped and freed; the supervisor restarts it
      // in the jail, as for a workload that died with its host.
      await releaseLegacy(this.#net, data, cgroup);
      return undefined;
    }
    if (!isSameProcessAlive(data.pid, data.startTime)) {
      await this.release(data, cgroup);
      return undefined;
    }
    const handle = new ProcessHandle(this, spec, data, cgroup, undefined, 'running');
    this.#track(handle);
    return handle;
  }

  #track(handle: ProcessHandle): void {
    this.#handles.add(handle);
    void handle.exited.then(() => this.#handles.delete(handle));
  }

  /** Frees every host resource of one workload (called when it has ended). */
  async release(data: ProcessAdoptionData, cgroup: Cgroup): Promise<void> {
    // Killing the group ends the pid namespace and then the private mount namespace, whose
    // teardown unmounts the volume images and frees their (autoclear) loop devices.
    await cgroup.destroy().catch(() => undefined);
    await destroyNetwork(this.#net, data.net);
    await waitImagesFree(data.images ?? [], 15_000);
    rmSync(data.dir, { recursive: true, force: true });
  }

  async cleanupOrphans(liveIds: ReadonlySet<string>): Promise<void> {
    const live = [...liveIds].map((id) => this.#names(id));
    const liveNetns = new Set(live.map((n) => n.netns));
    const liveCgroups = new Set(live.map((n) => n.cgroup));
    for (const name of this.#cgroups.list()) {
      if (name.startsWith(`${this.#scope}-`) && !liveCgroups.has(name)) {
        await new Cgroup(this.#cgroups, name).destroy().catch(() => undefined);
      }
    }
    const orphan = (netns: string, lease: number): NetworkInfo => {
      const h = netns.slice(`alv-${this.#scope}-`.length);
      return { netns, hostIf: `aw${this.#scope}${h}`, lease, hostIp: '', guestIp: '', internet: true };
    };
    for (const { lease, owner } of leasesWithPrefix(this.#net, `alv-${this.#scope}-`)) {
      if (!liveNetns.has(owner)) await destroyNetwork(this.#net, orphan(owner, lease));
    }
    for (const netns of listNetns(`alv-${this.#scope}-`)) {
      if (!liveNetns.has(netns)) await destroyNetwork(this.#net, orphan(netns, -1));
    }
    let dirs: string[] = [];
    try {
      dirs = readdirSync(this.options.stateDir);
    } catch {
      // nothing yet
    }
    for (const id of dirs) if (!liveIds.has(id)) rmSync(join(this.options.stateDir, id), { recursive: true, force: true });
  }

  /**
   * Detaches from all workloads (does not stop them). The firewall table goes when no workload
   * of this executor is left on the host (a node keeps it while detached workloads run).
   */
  async close(): Promise<void> {
    for (const handle of this.#handles) handle.detach();
    this.#handles.clear();
    if (listNetns(`alv-${this.#scope}-`).length === 0) await this.firewall.remove();
  }

  /** Host resources of this executor (for leak checks in tests): netns, cgroups, leases. */
  hostResources(): { netns: string[]; cgroups: string[]; leases: number[] } {
    return {
      netns: listNetns(`alv-${this.#scope}-`),
      cgroups: this.#cgroups.list().filter((n) => n.startsWith(`${this.#scope}-`)),
      leases: leasesWithPrefix(this.#net, `alv-${this.#scope}-`).map((l) => l.lease),
    };
  }
}
