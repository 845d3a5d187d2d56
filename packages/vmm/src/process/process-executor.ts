/**
 * The `process` backend: each workload is an OS process tree in its own pid, mount and network
 * namespaces, in its own cgroup (memory, CPU, pids), running as an unprivileged uid with the
 * code mounted read-only. It needs root, util-linux (nsenter, unshare, setpriv) and iproute2.
 *
 * Workloads are started detached (own session, output to files, no pipe to the supervisor), so
 * they outlive a supervisor killed with -9; the adoption record (pid + start time, namespace,
 * cgroup) lets the next supervisor re-attach.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, closeSync, mkdirSync, openSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tcpOpen } from '../tcp-open.ts';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import {
  ExecutorError,
  validateSpec,
  type AdoptionRecord,
  type Endpoint,
  type ExecutionHandle,
  type ExecutionSpec,
  type ExecutionState,
  type Executor,
  type ExecutorCapacity,
  type ExecutorIsolation,
  type ExitInfo,
  type LogLine,
} from '../executor.ts';
import { LogBuffer } from '../log-buffer.ts';
import { Cgroup, detectCgroups, type CgroupLayout } from '../host/cgroups.ts';
import { isSameProcessAlive, processStartTime, resolveHostTools, type HostTools } from '../host/tools.ts';
import { LogTail } from './log-tail.ts';
import { createNetwork, destroyNetwork, leasesWithPrefix, listNetns, type NetworkConfig, type NetworkInfo } from './network.ts';
import { sandboxScript } from './sandbox-script.ts';

export const WORKLOAD_PORT = 8080;
const BACKEND = 'process';

export interface ProcessExecutorOptions {
  /** Directory for per-execution files (script, output); should not be readable by workloads. */
  stateDir: string;
  /**
   * Short tag in the names of this executor's host resources (netns, veth, cgroups), so that
   * orphan cleanup never touches another supervisor's workloads. Default: derived from stateDir.
   */
  scope?: string;
  /** Host-wide directory of subnet leases. */
  leaseDir?: string;
  /** First address of the /16 the /30 subnets come from. */
  poolBase?: string;
  /** Unprivileged identity of workloads (default nobody/nogroup). */
  uid?: number;
  gid?: number;
  /** Maximum number of processes per workload. */
  pidsLimit?: number;
  /** Private /tmp size per workload in MiB. */
  tmpSizeMib?: number;
  /** Extra environment every workload gets (e.g. the ALEPH_* guest variables). */
  baseEnvironment?: Record<string, string>;
}

interface ProcessAdoptionData {
  pid: number;
  startTime: number;
  net: NetworkInfo;
  cgroup: string;
  dir: string;
}

function shortHash(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}


class ProcessHandle implements ExecutionHandle {
  #state: ExecutionState;
  readonly #logs = new LogBuffer();
  readonly #tails: LogTail[];
  #exitWatch: NodeJS.Timeout | undefined;
  #stopRequested = false;
  #detached = false;
  #finished = false;
  #resolveExited!: (info: ExitInfo) => void;
  readonly exited: Promise<ExitInfo>;
  readonly endpoint: Endpoint;

  constructor(
    private readonly executor: ProcessExecutor,
    readonly spec: ExecutionSpec,
    private readonly data: ProcessAdoptionData,
    private readonly cgroup: Cgroup,
    child: ChildProcess | undefined,
    initialState: ExecutionState,
  ) {
    this.#state = initialState;
    this.endpoint = { host: data.net.guestIp, port: WORKLOAD_PORT };
    this.exited = new Promise((resolve) => {
      this.#resolveExited = resolve;
    });
    this.#tails = (['stdout', 'stderr'] as const).map(
      (stream) => new LogTail(join(data.dir, `${stream}.log`), (chunk) => this.#logs.write(stream, chunk)),
    );
    for (const tail of this.#tails) tail.start();
    if (child) {
      child.once('exit', (code, signal) => void this.#finish(code, signal));
    } else {
      // Adopted: not our child, so watch /proc for its end.
      this.#exitWatch = setInterval(() => {
        if (!isSameProcessAlive(data.pid, data.startTime)) void this.#finish(null, null);
      }, 250);
      this.#exitWatch.unref();
    }
  }

  get id(): string {
    return this.spec.id;
  }

  get state(): ExecutionState {
    return this.#state;
  }

  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.#finished) {
        throw new ExecutorError('EXITED', 'the workload exited before listening on its port', this.#logs.recent(50));
      }
      if (await tcpOpen(this.endpoint.host, this.endpoint.port, 1000)) {
        if (this.#state === 'starting') this.#state = 'running';
        return;
      }
      await sleep(50);
    }
    throw new ExecutorError('NOT_READY', `the workload did not listen on port ${WORKLOAD_PORT} within ${timeoutMs} ms`, this.#logs.recent(50));
  }

  recentLogs(limit?: number): LogLine[] {
    for (const tail of this.#tails) tail.poll();
    return this.#logs.recent(limit);
  }

  subscribeLogs(listener: (line: LogLine) => void): () => void {
    return this.#logs.subscribe(listener);
  }

  async stop(timeoutMs = 5000): Promise<void> {
    if (this.#detached) throw new ExecutorError('EXITED', 'this handle was detached');
    if (!this.#finished) {
      this.#stopRequested = true;
      this.#state = 'stopping';
      // SIGTERM to the workload's processes, not to the namespace holder (whose death kills all).
      this.cgroup.signalAll('SIGTERM', new Set([this.data.pid]));
      const graceful = await Promise.race([this.exited.then(() => true), sleep(timeoutMs).then(() => false)]);
      if (!graceful) {
        try {
          process.kill(this.data.pid, 'SIGKILL');
        } catch {
          // gone already
        }
        this.cgroup.signalAll('SIGKILL');
      }
    }
    await this.exited;
  }

  detach(): void {
    this.#detached = true;
    this.#stopTimers();
  }

  adoptionRecord(): AdoptionRecord {
    return { backend: BACKEND, id: this.spec.id, data: { ...this.data } };
  }

  #stopTimers(): void {
    for (const tail of this.#tails) tail.stop();
    if (this.#exitWatch) clearInterval(this.#exitWatch);
  }

  async #finish(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    if (this.#finished || this.#detached) return;
    this.#finished = true;
    if (this.#exitWatch) clearInterval(this.#exitWatch);
    for (const tail of this.#tails) tail.poll();
    const oom = this.cgroup.oomKilled();
    const peak = this.cgroup.memoryPeakBytes();
    this.#stopTimers();
    this.#logs.flush();
    if (oom) this.#logs.push({ stream: 'stderr', time: Date.now(), text: `[process executor] killed: out of memory (limit ${this.spec.resources.memoryMib} MiB)` });
    await this.executor.release(this.data, this.cgroup);
    this.#state = this.#stopRequested ? 'stopped' : 'failed';
    this.#resolveExited({ code, signal, requested: this.#stopRequested, memoryPeakMib: peak === undefined ? undefined : Math.ceil(peak / 1048576) });
  }
}

export class ProcessExecutor implements Executor {
  readonly name = BACKEND;
  // Namespaces and a cgroup, but the host's root file system and a shared IPC namespace so far.
  readonly isolation: ExecutorIsolation = { jailed: false, virtualized: false, seccomp: false, cgroups: true, egressFiltered: false };
  readonly #tools: HostTools;
  readonly #cgroups: CgroupLayout;
  readonly #net: NetworkConfig;
  readonly #scope: string;
  readonly #handles = new Set<ProcessHandle>();

  constructor(private readonly options: ProcessExecutorOptions) {
    if (process.getuid?.() !== 0) throw new ExecutorError('UNSUPPORTED', 'the process executor must run as root (namespaces, cgroups, veth)');
    this.#tools = resolveHostTools();
    this.#scope = options.scope ?? shortHash(options.stateDir, 4);
    if (!/^[a-z0-9]{4}$/.test(this.#scope)) throw new ExecutorError('INVALID_SPEC', 'scope must be 4 characters [a-z0-9]');
    this.#cgroups = detectCgroups('aleph-vmm');
    this.#net = {
      leaseDir: options.leaseDir ?? '/run/aleph-nodes-vmm/leases',
      poolBase: options.poolBase ?? '10.213.0.0',
      ipPath: this.#tools.ip,
      iptablesPath: this.#tools.iptables,
    };
    mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
  }

  capacity(): ExecutorCapacity {
    return { vcpus: cpus().length, memoryMib: Math.floor(totalmem() / (1024 * 1024)) };
  }

  #names(id: string): { netns: string; hostIf: string; cgroup: string; dir: string } {
    const h = shortHash(id, 8);
    return {
      netns: `alv-${this.#scope}-${h}`,
      hostIf: `a${this.#scope}${h}h`,
      cgroup: `${this.#scope}-${id}`,
      dir: join(this.options.stateDir, id),
    };
  }

  async start(spec: ExecutionSpec): Promise<ExecutionHandle> {
    validateSpec(spec);
    // An instance boots its own kernel and OS from a disk image: only the microvm backend can.
    if (spec.instance) throw new ExecutorError('UNSUPPORTED', 'the process backend cannot run instances (use the microvm executor)');
    if (spec.code.entrypoint.includes('=')) throw new ExecutorError('INVALID_SPEC', "entrypoint must not contain '='");
    const names = this.#names(spec.id);
    if (listNetns(names.netns).length > 0) throw new ExecutorError('START_FAILED', `execution ${spec.id} is already running`);
    const uid = this.options.uid ?? 65534;
    const gid = this.options.gid ?? 65534;
    const entry = join(spec.code.dir, spec.code.entrypoint);
    try {
      const st = statSync(entry);
      if (!st.isFile()) throw new Error('not a file');
      if (!/\.(m|c)?js$/.test(spec.code.entrypoint) && (st.mode & 0o555) !== 0o555) chmodSync(entry, st.mode | 0o555);
    } catch {
      throw new ExecutorError('START_FAILED', `entrypoint ${spec.code.entrypoint} is not a file of the code`);
    }
    for (const v of spec.volumes) if (v.kind === 'persistent') chownSync(v.source, uid, gid);

    rmSync(names.dir, { recursive: true, force: true });
    mkdirSync(names.dir, { recursive: true, mode: 0o700 });
    const cgroup = new Cgroup(this.#cgroups, names.cgroup);
    let net: NetworkInfo | undefined;
    try {
      cgroup.create({ memoryMib: spec.resources.memoryMib, vcpus: spec.resources.vcpus, pids: this.options.pidsLimit ?? 512 });
      net = await createNetwork(this.#net, names.netns, names.hostIf, spec.internet);
      const scriptPath = join(names.dir, 'sandbox.sh');
      writeFileSync(
        scriptPath,
        sandboxScript({
          spec,
          tools: this.#tools,
          scriptPath,
          netns: names.netns,
          cgroupProcsFiles: cgroup.procsFiles,
          uid,
          gid,
          environment: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/tmp', ...this.options.baseEnvironment, ...spec.variables },
          tmpSizeMib: this.options.tmpSizeMib ?? 64,
        }),
        { mode: 0o700 },
      );
      const out = openSync(join(names.dir, 'stdout.log'), 'a', 0o600);
      const err = openSync(join(names.dir, 'stderr.log'), 'a', 0o600);
      let child: ChildProcess;
      try {
        child = spawn(this.#tools.sh, [scriptPath, 'outer'], {
          detached: true,
          stdio: ['ignore', out, err],
          env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
        });
      } finally {
        closeSync(out);
        closeSync(err);
      }
      const pid = await new Promise<number>((resolve, reject) => {
        child.once('spawn', () => resolve(child.pid as number));
        child.once('error', reject);
      });
      child.unref();
      const startTime = processStartTime(pid) ?? 0;
      const data: ProcessAdoptionData = { pid, startTime, net, cgroup: names.cgroup, dir: names.dir };
      const handle = new ProcessHandle(this, spec, data, cgroup, child, 'starting');
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

  async adopt(record: AdoptionRecord, spec: ExecutionSpec): Promise<ExecutionHandle | undefined> {
    if (record.backend !== BACKEND) throw new ExecutorError('UNSUPPORTED', `cannot adopt a ${record.backend} execution`);
    const data = record.data as unknown as ProcessAdoptionData;
    const cgroup = new Cgroup(this.#cgroups, data.cgroup);
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
    await cgroup.destroy().catch(() => undefined);
    await destroyNetwork(this.#net, data.net);
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
    for (const { lease, owner } of leasesWithPrefix(this.#net, `alv-${this.#scope}-`)) {
      if (liveNetns.has(owner)) continue;
      const h = owner.slice(`alv-${this.#scope}-`.length);
      await destroyNetwork(this.#net, { netns: owner, hostIf: `a${this.#scope}${h}h`, lease, hostIp: '', guestIp: '', internet: false });
    }
    for (const netns of listNetns(`alv-${this.#scope}-`)) {
      if (liveNetns.has(netns)) continue;
      const h = netns.slice(`alv-${this.#scope}-`.length);
      await destroyNetwork(this.#net, { netns, hostIf: `a${this.#scope}${h}h`, lease: -1, hostIp: '', guestIp: '', internet: false });
    }
    let dirs: string[] = [];
    try {
      dirs = readdirSync(this.options.stateDir);
    } catch {
      // nothing yet
    }
    for (const id of dirs) if (!liveIds.has(id)) rmSync(join(this.options.stateDir, id), { recursive: true, force: true });
  }

  async close(): Promise<void> {
    for (const handle of this.#handles) handle.detach();
    this.#handles.clear();
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
