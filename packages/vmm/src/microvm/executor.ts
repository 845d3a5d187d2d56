/**
 * The `microvm` backend of the Executor interface: one QEMU microVM per execution.
 *
 * start(): validates, packs the code directory as a read-only squashfs drive, prepares volume
 * drives, creates the tap (so the endpoint — the guest's `.2` address, port 8080 — is known at
 * once) and boots in the background; the handle is `starting` until the agent reports port 8080
 * open. A boot or configuration failure ends the handle as `failed` with the console's tail in
 * its logs. Not registered in the CRN yet (the lead wires it).
 *
 * Instances (`spec.instance`): the VM boots the instance's own root disk (read-write, never
 * deleted here) with systemd, a seed drive (keys, host name, network; seed.ts) generated in the
 * VM directory and the volumes; `code`/`runtime` are ignored. Ready when the guest's port 22
 * accepts TCP (the endpoint); the serial console is the log; host ports are DNATed to the guest
 * while it runs; stop presses the ACPI power button, then kills after the grace time.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import type { GuestMount } from '@aleph-nodes/guest';
import { WORKLOAD_PORT } from '@aleph-nodes/guest';
import { ExecutorError, validateSpec } from '../executor.ts';
import type {
  AdoptionRecord,
  Endpoint,
  ExecutionHandle,
  ExecutionNetwork,
  ExecutionSpec,
  ExecutionState,
  Executor,
  ExecutorCapacity,
  ExecutorIsolation,
  ExitInfo,
  LogLine,
} from '../executor.ts';
import { createExt4Image, ensurePersistentImage } from '../host/ext4.ts';
import { Cgroup, detectCgroups, type CgroupLayout } from '../host/cgroups.ts';
import { cleanupToolCgroups } from '../host/tool-jail.ts';
import { DEFAULT_SQUASH_LIMITS, isSquashfsImage, squashDirectory, type SquashLimits } from './disks.ts';
import type { GuestOutputLimits } from './guest-output.ts';
import { toolPath } from './tool-paths.ts';
import { cgroupScope, VM_CGROUP_PARENT, VmJail, type VmJailSettings } from './vm-jail.ts';
import { hostTscKhz } from './host-tsc.ts';
import { probeAccelerator } from './kvm-probe.ts';
import type { ProbeResult } from './kvm-probe.ts';
import type { Accelerator, DriveArg } from './qemu-args.ts';
import { MAX_VIRTIO_DEVICES } from './qemu-args.ts';
import { cleanupOrphanTaps, deleteTap, DEFAULT_TAP_POOL } from './tap.ts';
import type { TapLease, TapPoolConfig } from './tap.ts';
import { settlesWithin, sleep } from './timing.ts';
import { Firewall, FIREWALL_TABLE, validatePortForwards } from '../net/firewall.ts';
import { hostIpv4 } from './host-address.ts';
import { validateSeedConfig } from './seed.ts';
import { INSTANCE_SSH_PORT, MicroVm, MicroVmError } from './vm.ts';
import type { BootPolicy, MicroVmAttachment } from './vm.ts';

const BACKEND = 'microvm';

export interface MicroVmExecutorConfig {
  /** Guest kernel and initramfs (from @aleph-nodes/guest's buildImages). */
  kernel: string;
  initramfs: string;
  /** Runtime used when a spec names none (the default Node.js runtime). */
  defaultRuntime: string;
  /** State directory: VM directories and scratch images. Keep it short (Unix socket paths). */
  stateDir: string;
  network?: Partial<Omit<TapPoolConfig, 'leaseDir'>> & { leaseDir?: string };
  qemuPath?: string;
  /** `auto` boots a probe guest under KVM and falls back to TCG. */
  accelerator?: Accelerator | 'auto';
  kvmCpu?: string;
  capacity?: ExecutorCapacity;
  boot?: Partial<BootPolicy>;
  dnsServers?: string[];
  /** nftables isolation and NAT (firewall.ts); `false` only where nft is unavailable and nothing untrusted runs. */
  firewall?: { nftPath?: string; table?: string } | false;
  /** QEMU's confinement: VMM memory overhead (default per accelerator), pids, IO caps. */
  jail?: Partial<Omit<VmJailSettings, 'cgroups'>>;
  /** Bounds on guest output (console rotation, log line size and rate, invalid control lines). */
  output?: Partial<GuestOutputLimits>;
  /** mksquashfs on tenant directories: memory cap and timeout of the jailed run. */
  squash?: Partial<SquashLimits>;
  onEvent?: (line: string) => void;
}

function toExecutorError(err: unknown, logs: LogLine[]): ExecutorError {
  if (err instanceof ExecutorError) return err;
  if (err instanceof MicroVmError) {
    const code = err.code === 'NOT_READY' ? 'NOT_READY' : err.code === 'EXITED' ? 'EXITED' : 'START_FAILED';
    return new ExecutorError(code, err.message, logs);
  }
  return new ExecutorError('START_FAILED', (err as Error).message, logs);
}

/** Console lines become stderr log lines the owner can read when a boot fails. */
function consoleLogs(lines: readonly string[]): LogLine[] {
  const time = Date.now();
  return lines.map((text) => ({ stream: 'stderr' as const, time, text: `[console] ${text}` }));
}

class MicroVmHandle implements ExecutionHandle {
  readonly exited: Promise<ExitInfo>;
  #bootError: ExecutorError | undefined;
  #booted: Promise<void>;
  #detached = false;
  #extraLogs: LogLine[] = [];

  constructor(
    readonly spec: ExecutionSpec,
    readonly endpoint: Endpoint,
    readonly network: ExecutionNetwork | undefined,
    private readonly vm: MicroVm,
    private readonly scratchDir: string,
    private readonly onGone: () => void,
    boot: Promise<void>,
  ) {
    this.#booted = boot.catch((err: unknown) => {
      const tail = err instanceof MicroVmError ? err.consoleTail : [];
      // An instance's console is its log already: no need to add its tail again.
      this.#extraLogs = spec.instance ? [] : consoleLogs(tail);
      this.#bootError = toExecutorError(err, this.recentLogs(50));
    });
    this.exited = vm.exited.then(async (exit) => {
      await rm(scratchDir, { recursive: true, force: true }).catch(() => {});
      if (!this.#detached) this.onGone();
      return {
        code: exit.program?.code ?? null,
        signal: exit.program?.signal ?? (exit.program ? null : exit.requested ? null : 'SIGKILL'),
        requested: exit.requested,
        memoryPeakMib: exit.memoryPeakMib,
      };
    });
  }

  get id(): string {
    return this.spec.id;
  }

  get state(): ExecutionState {
    switch (this.vm.state) {
      case 'created':
      case 'booting':
      case 'configuring':
        return 'starting';
      case 'running':
        return this.#ready ? 'running' : 'starting';
      case 'stopping':
        return 'stopping';
      case 'stopped':
      case 'failed':
        return this.#requested ? 'stopped' : 'failed';
    }
  }

  #ready = false;
  #requested = false;

  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await settlesWithin(this.#booted, timeoutMs);
    if (this.#bootError) throw this.#bootError;
    if (this.vm.state === 'created' || this.vm.state === 'booting' || this.vm.state === 'configuring') {
      throw new ExecutorError('NOT_READY', `the VM did not boot within ${timeoutMs} ms`, this.recentLogs(50));
    }
    try {
      await this.vm.waitReady(Math.max(1, deadline - Date.now()));
      this.#ready = true;
    } catch (err) {
      if (err instanceof MicroVmError && err.code === 'EXITED') {
        // Let the last log lines of a program that died arrive with its exit.
        await settlesWithin(this.vm.exited, 2000);
      }
      throw toExecutorError(err, this.recentLogs(50));
    }
  }

  recentLogs(limit = 1000): LogLine[] {
    return [...this.#extraLogs, ...this.vm.recentLogs(limit)].slice(-limit);
  }

  subscribeLogs(listener: (line: LogLine) => void): () => void {
    return this.vm.logs.subscribe(listener);
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    if (this.#detached) throw new ExecutorError('EXITED', 'this handle was detached');
    if (this.vm.state !== 'stopped' && this.vm.state !== 'failed') this.#requested = true;
    await this.vm.stop(timeoutMs);
    await this.exited;
  }

  detach(): void {
    this.#detached = true;
    void this.vm.detach();
    this.onGone();
  }

  adoptionRecord(): AdoptionRecord {
    const attachment = this.vm.attachment();
    return {
      backend: BACKEND,
      id: this.spec.id,
      data: { vm: attachment ?? null, scratchDir: this.scratchDir, endpoint: this.endpoint, network: this.network ?? null, instance: this.spec.instance !== undefined },
    };
  }

  /** For an adopted handle: its program was ready before the restart. */
  markAdopted(): void {
    this.#ready = true;
  }
}

export class MicroVmExecutor implements Executor {
  readonly name = BACKEND;
  // QEMU runs as the VM's own unprivileged uid, chrooted into an empty directory, in the VM's
  // cgroup (memory, CPU, pids, IO), under its seccomp filter (vm-jail.ts); tools that read
  // tenant bytes on the host run jailed too (host/tool-jail.ts).
  readonly isolation: ExecutorIsolation = { jailed: true, virtualized: true, seccomp: true, cgroups: true, egressFiltered: false };
  readonly #handles = new Map<string, MicroVmHandle>();
  readonly #network: TapPoolConfig;
  readonly firewall: Firewall | undefined;

  private constructor(
    private readonly config: MicroVmExecutorConfig,
    /** KVM or TCG, decided once at creation. */
    readonly accelerator: ProbeResult,
    /** The host's cgroup hierarchy, where each VM gets its group. */
    private readonly cgroups: CgroupLayout,
  ) {
    this.#network = {
      ...DEFAULT_TAP_POOL,
      // Host-wide, not per executor: several CRNs on one host (the devnet, tests) must never take
      // the same /24, or two taps would carry the same subnet and requests reach the wrong VM.
      // On tmpfs, like the taps it accounts for, so a reboot clears both.
      leaseDir: '/run/aleph-nodes-vmm/tap-leases',
      ...config.network,
      ipPath: toolPath(config.network?.ipPath ?? DEFAULT_TAP_POOL.ipPath, 'iproute2'),
    };
    this.firewall = config.firewall === false
      ? undefined
      : new Firewall({ nftPath: config.firewall?.nftPath ?? 'nft', table: config.firewall?.table ?? FIREWALL_TABLE, tapPrefix: this.#network.prefix });
  }

  /** Probes the accelerator (unless configured) and prepares the state directory. */
  static async create(input: MicroVmExecutorConfig): Promise<MicroVmExecutor> {
    if (process.getuid?.() !== 0) throw new ExecutorError('UNSUPPORTED', 'the microvm executor must run as root (tap devices)');
    let config: MicroVmExecutorConfig;
    let cgroups: CgroupLayout;
    try {
      // Every tool by absolute path, resolved once (never through PATH).
      config = {
        ...input,
        qemuPath: toolPath(input.qemuPath ?? 'qemu-system-x86_64', 'qemu-system-x86'),
        firewall: input.firewall === false ? false : { ...input.firewall, nftPath: toolPath(input.firewall?.nftPath ?? 'nft', 'nftables') },
      };
      for (const [name, pkg] of [['mksquashfs', 'squashfs-tools'], ['bwrap', 'bubblewrap'], ['setpriv', 'util-linux'], ['unshare', 'util-linux']] as const) toolPath(name, pkg);
      cgroups = detectCgroups(VM_CGROUP_PARENT);
    } catch (err) {
      throw new ExecutorError('UNSUPPORTED', `the microvm executor cannot confine its VMs on this host: ${(err as Error).message}`);
    }
    for (const path of [config.kernel, config.initramfs, config.defaultRuntime]) {
      if (!existsSync(path)) throw new ExecutorError('UNSUPPORTED', `guest image ${path} is missing: run node packages/guest/bin/build-images.js`);
    }
    await mkdir(config.stateDir, { recursive: true });
    const firewall = config.firewall === false ? undefined : new Firewall({
      nftPath: config.firewall?.nftPath ?? 'nft',
      table: config.firewall?.table ?? FIREWALL_TABLE,
      tapPrefix: config.network?.prefix ?? DEFAULT_TAP_POOL.prefix,
    });
    try {
      await firewall?.ensure();
    } catch (err) {
      throw new ExecutorError('UNSUPPORTED', `cannot set up the microVM firewall (install nftables): ${(err as Error).message}`);
    }
    const requested = config.accelerator ?? 'auto';
    const accelerator: ProbeResult = requested === 'auto'
      ? await probeAccelerator({
        qemuPath: config.qemuPath ?? 'qemu-system-x86_64',
        kernel: config.kernel,
        initramfs: config.initramfs,
        kvmCpu: config.kvmCpu ?? 'host',
        tscKhz: hostTscKhz(),
        runDir: config.stateDir,
      })
      : { accelerator: requested, reason: `configured: ${requested}` };
    config.onEvent?.(`microvm accelerator: ${accelerator.accelerator} (${accelerator.reason})`);
    return new MicroVmExecutor(config, accelerator, cgroups);
  }

  get #squashLimits(): SquashLimits {
    return { ...DEFAULT_SQUASH_LIMITS, ...this.config.squash };
  }

  capacity(): ExecutorCapacity {
    return this.config.capacity ?? { vcpus: cpus().length, memoryMib: Math.floor(totalmem() / 1048576) };
  }

  #newVm(spec: ExecutionSpec, drives: DriveArg[], mounts: GuestMount[], runtime: string): MicroVm {
    const instance = spec.instance;
    return new MicroVm({
      id: spec.id,
      qemuPath: this.config.qemuPath ?? 'qemu-system-x86_64',
      accelerator: this.accelerator.accelerator,
      kvmCpu: this.config.kvmCpu ?? 'host',
      tscKhz: hostTscKhz(),
      kernel: this.config.kernel,
      initramfs: this.config.initramfs,
      runtime: instance ? instance.rootDisk : runtime,
      instance: instance ? { hostname: instance.hostname, authorizedKeys: instance.authorizedKeys, portForwards: instance.portForwards, volumes: mounts } : undefined,
      vcpus: spec.resources.vcpus,
      memoryMib: spec.resources.memoryMib,
      drives,
      guest: { code: { encoding: 'squashfs', serial: 'aleph-code' }, entrypoint: spec.code.entrypoint, variables: spec.variables, volumes: mounts },
      network: this.#network,
      firewall: this.firewall,
      internet: spec.internet,
      dnsServers: spec.internet ? this.config.dnsServers : [],
      runDir: this.config.stateDir,
      boot: this.config.boot,
      jail: { ...this.config.jail, cgroups: this.cgroups },
      output: this.config.output,
      onEvent: this.config.onEvent,
    });
  }

  async start(spec: ExecutionSpec): Promise<ExecutionHandle> {
    validateSpec(spec);
    if (this.#handles.has(spec.id)) throw new ExecutorError('START_FAILED', `execution ${spec.id} is already running`);
    const runtime = spec.runtime?.path ?? this.config.defaultRuntime;
    if (spec.instance) {
      validateInstance(spec);
    } else {
      if (!isSquashfsImage(runtime)) throw new ExecutorError('START_FAILED', `runtime ${runtime} is not a squashfs image`);
      const entry = join(spec.code.dir, spec.code.entrypoint);
      if (!existsSync(entry) || !statSync(entry).isFile()) throw new ExecutorError('START_FAILED', `entrypoint ${spec.code.entrypoint} is not a file of the code`);
    }
    // Besides the volumes: the root drive, code or seed drive, network card, control channel.
    if (spec.volumes.length + 4 > MAX_VIRTIO_DEVICES) throw new ExecutorError('INVALID_SPEC', `a microVM takes at most ${MAX_VIRTIO_DEVICES - 4} volumes`);

    const scratch = await mkdtemp(join(this.config.stateDir, 'scratch-'));
    let vm: MicroVm | undefined;
    try {
      const drives: DriveArg[] = [];
      const mounts: GuestMount[] = [];
      if (!spec.instance) {
        await squashDirectory(spec.code.dir, join(scratch, 'code.squashfs'), this.#squashLimits);
        drives.push({ id: 'code', path: join(scratch, 'code.squashfs'), serial: 'aleph-code', readOnly: true });
      }
      for (const [index, volume] of spec.volumes.entries()) {
        const serial = `aleph-vol-${index}`;
        let path: string;
        let fs: GuestMount['fs'] = 'ext4';
        let readOnly = false;
        if (volume.kind === 'immutable') {
          readOnly = true;
          fs = 'squashfs';
          if (statSync(volume.source).isDirectory()) {
            path = join(scratch, `vol-${index}.squashfs`);
            await squashDirectory(volume.source, path, this.#squashLimits);
          } else {
            path = volume.source;
          }
        } else if (volume.kind === 'ephemeral') {
          path = join(scratch, `vol-${index}.ext4`);
          await createExt4Image(path, volume.sizeMib);
        } else {
          // A directory source keeps its image inside it; a file source is the image.
          path = existsSync(volume.source) && statSync(volume.source).isDirectory() ? join(volume.source, 'volume.ext4') : volume.source;
          await ensurePersistentImage(path, volume.sizeMib);
        }
        // An instance mounts them itself at boot, from the seed (aleph-instance-init).
        drives.push({ id: `vol${index}`, path, serial, readOnly });
        mounts.push({ serial, mount: volume.mount, fs, readOnly });
      }
      vm = this.#newVm(spec, drives, mounts, runtime);
      await vm.prepare();
    } catch (err) {
      await rm(scratch, { recursive: true, force: true });
      throw toExecutorError(err, []);
    }
    const tap = vm.tap as TapLease;
    const port = spec.instance ? INSTANCE_SSH_PORT : WORKLOAD_PORT;
    const network = networkOf(tap, await hostIpv4(this.#network.ipPath), spec.instance?.portForwards ?? []);
    const handle = new MicroVmHandle(spec, { host: tap.guestIp, port }, network, vm, scratch, () => this.#handles.delete(spec.id), vm.boot());
    this.#handles.set(spec.id, handle);
    return handle;
  }

  async adopt(record: AdoptionRecord, spec: ExecutionSpec): Promise<ExecutionHandle | undefined> {
    if (record.backend !== BACKEND) throw new ExecutorError('UNSUPPORTED', `cannot adopt a ${record.backend} execution`);
    const data = record.data as { vm?: MicroVmAttachment | null; scratchDir?: string; endpoint?: Endpoint; network?: ExecutionNetwork | null };
    if (!data.vm || !data.endpoint || !data.scratchDir) return undefined;
    const vm = this.#newVm(spec, [], [], spec.runtime?.path ?? this.config.defaultRuntime);
    let attached = false;
    try {
      attached = existsSync(data.vm.dir) && (await vm.attach(data.vm));
    } catch {
      attached = false;
    }
    if (!attached) {
      await this.#removeLeftovers(data.vm, data.scratchDir);
      return undefined;
    }
    const network = data.network ?? (data.vm.tap ? networkOf(data.vm.tap, await hostIpv4(this.#network.ipPath), spec.instance?.portForwards ?? []) : undefined);
    const handle = new MicroVmHandle(spec, data.endpoint, network, vm, data.scratchDir, () => this.#handles.delete(spec.id), Promise.resolve());
    if (await portOpen(data.endpoint)) {
      vm.markReady();
      handle.markAdopted();
    }
    this.#handles.set(spec.id, handle);
    return handle;
  }

  async #removeLeftovers(vm: MicroVmAttachment, scratchDir: string): Promise<void> {
    try {
      process.kill(vm.pid, 0);
      // The pid may have been reused by an unrelated process: only kill a QEMU of this VM.
      const cmdline = await readFile(`/proc/${vm.pid}/cmdline`, 'utf8').catch(() => '');
      if (cmdline.includes(vm.dir)) process.kill(vm.pid, 'SIGKILL');
    } catch {
      // gone
    }
    if (vm.tap) {
      await VmJail.adopt({ runDir: this.config.stateDir, dir: vm.dir, tapId: vm.tap.id, cgroups: this.cgroups }).destroy();
      await this.firewall?.revokeInternet(vm.tap.ifname);
      await this.firewall?.removePortForwards(vm.tap.ifname, vm.tap.guestIp).catch(() => {});
      await deleteTap(this.#network, vm.tap, vm.dir).catch(() => {});
    }
    await rm(vm.dir, { recursive: true, force: true }).catch(() => {});
    await rm(scratchDir, { recursive: true, force: true }).catch(() => {});
  }

  async cleanupOrphans(liveIds: ReadonlySet<string>): Promise<void> {
    const liveDirs = new Set<string>();
    for (const [id, handle] of this.#handles) {
      const record = handle.adoptionRecord().data as { vm?: MicroVmAttachment | null; scratchDir?: string };
      if (!liveIds.has(id)) continue;
      if (record.vm) liveDirs.add(record.vm.dir);
      if (record.scratchDir) liveDirs.add(record.scratchDir);
    }
    // QEMU processes whose VM directory is in our state dir but not live.
    const killed: number[] = [];
    for (const entry of await readdir('/proc').catch(() => [] as string[])) {
      if (!/^\d+$/.test(entry)) continue;
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
      if (!cmdline.startsWith('qemu-system') && !cmdline.includes('/qemu-system')) continue;
      const dir = /(\/[^\0,]*\/vm-[A-Za-z0-9]+)\/qmp\.sock/.exec(cmdline)?.[1];
      if (dir && dir.startsWith(this.config.stateDir) && !liveDirs.has(dir)) {
        try {
          process.kill(Number(entry), 'SIGKILL');
          killed.push(Number(entry));
        } catch {
          // gone
        }
      }
    }
    // Gone (or a zombie: no command line) before their taps and directories are removed.
    for (let i = 0; i < 50 && killed.some((pid) => readCmdline(pid) !== ''); i++) await sleep(100);
    // Leases of other executors (other CRNs on this host) are theirs to clean up, unless their VM
    // directory is gone (a removed data dir): then nobody will ever release them.
    const ours = (owner: string): boolean => owner.startsWith(`${this.config.stateDir}/`);
    const orphanTaps = await cleanupOrphanTaps(this.#network, (owner) => liveDirs.has(owner) || (!ours(owner) && existsSync(owner)));
    for (const ifname of orphanTaps) await this.firewall?.revokeInternet(ifname);
    // Port forwards of taps that are gone (their VM crashed with its supervisor).
    const existing = new Set(await readdir('/sys/class/net').catch(() => [] as string[]));
    await this.firewall?.removePortForwardsWhere((e) => e.comment === undefined || orphanTaps.includes(e.comment) || !existing.has(e.comment)).catch(() => {});
    for (const entry of await readdir(this.config.stateDir).catch(() => [] as string[])) {
      const path = join(this.config.stateDir, entry);
      if ((entry.startsWith('vm-') || entry.startsWith('scratch-')) && !liveDirs.has(path)) await rm(path, { recursive: true, force: true });
    }
    // The cgroups of VMs that are gone (QEMU killed above: the groups are empty or emptied here).
    const scope = `${cgroupScope(this.config.stateDir)}-`;
    for (const name of this.cgroups.list()) {
      if (!name.startsWith(scope) || liveDirs.has(join(this.config.stateDir, name.slice(scope.length)))) continue;
      await new Cgroup(this.cgroups, name).destroy().catch(() => {});
    }
    await cleanupToolCgroups();
  }

  async close(): Promise<void> {
    for (const handle of [...this.#handles.values()]) handle.detach();
    this.#handles.clear();
  }
}

/** A process's command line ('' when gone or a zombie). */
function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/** The API's view of a VM's network. */
function networkOf(tap: TapLease, host: string | null, portForwards: ExecutionNetwork['portForwards']): ExecutionNetwork {
  const subnet = tap.guestIp.split('.').slice(0, 3).join('.');
  return { ipv4Network: `${subnet}.0/${tap.prefixLength}`, ipv4Ip: tap.guestIp, hostIpv4: host, portForwards: portForwards.map((f) => ({ ...f })) };
}

/** True when the file has the ext4/ext2 superblock magic (0xEF53 at byte 1080). */
function isExtImage(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const magic = Buffer.alloc(2);
    readSync(fd, magic, 0, 2, 1080);
    return magic.readUInt16LE(0) === 0xef53;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Checks an instance spec before anything is created; throws ExecutorError. */
function validateInstance(spec: ExecutionSpec): void {
  const instance = spec.instance!;
  try {
    // Network values are the executor's own: placeholders only to check keys and host name.
    validateSeedConfig({ instanceId: spec.id, hostname: instance.hostname, authorizedKeys: instance.authorizedKeys, mac: '52:54:00:00:00:00', address: '10.0.0.2/24', gateway: '10.0.0.1', dnsServers: [] });
    validatePortForwards(instance.portForwards);
  } catch (err) {
    throw new ExecutorError('INVALID_SPEC', (err as Error).message);
  }
  if (!existsSync(instance.rootDisk) || !statSync(instance.rootDisk).isFile()) throw new ExecutorError('START_FAILED', `instance root disk ${instance.rootDisk} is not a file`);
  if (!isExtImage(instance.rootDisk)) throw new ExecutorError('START_FAILED', `instance root disk ${instance.rootDisk} is not an ext4 image`);
}

function portOpen(endpoint: Endpoint): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: endpoint.host, port: endpoint.port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
