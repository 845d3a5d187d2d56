/**
 * The `microvm` backend of the Executor interface: one QEMU microVM per execution.
 *
 * start(): validates, packs the code directory as a read-only squashfs drive, prepares volume
 * drives, creates the tap (so the endpoint — the guest's `.2` address, port 8080 — is known at
 * once) and boots in the background; the handle is `starting` until the agent reports port 8080
 * open. A boot or configuration failure ends the handle as `failed` with the console's tail in
 * its logs.
 *
 * Instances (`spec.instance`): the VM boots the instance's own root disk (read-write, never
 * deleted here) with systemd, a seed drive (keys, host name, network; seed.ts) generated in the
 * VM directory and the volumes; `code`/`runtime` are ignored. Ready when the guest's port 22
 * accepts TCP (the endpoint); the serial console is the log; host ports are DNATed to the guest
 * while it runs; stop presses the ACPI power button, then kills after the grace time.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { GuestMount } from '@aleph-nodes/guest/protocol';
import { WORKLOAD_PORT } from '@aleph-nodes/guest/protocol';
import { checkEntrypoint } from '@aleph-nodes/protocol';
import { ExecutorError, validateSpec } from '../executor.ts';
import type {
  AdoptionRecord,
  Endpoint,
  ExecutionHandle,
  ExecutionNetwork,
  ExecutionSpec,
  Executor,
  ExecutorCapacity,
  ExecutorCapabilities,
  ExecutorIsolation,
} from '../executor.ts';
import { detectCgroups, type CgroupLayout } from '../host/cgroups.ts';
import { DEFAULT_SQUASH_LIMITS, isSquashfsImage, type SquashLimits } from './disks.ts';
import type { GuestOutputLimits } from './guest-output.ts';
import { toolPath } from './tool-paths.ts';
import { VM_CGROUP_PARENT, type VmJailSettings } from './vm-jail.ts';
import { hostTscKhz } from './host-tsc.ts';
import { probeAccelerator } from './kvm-probe.ts';
import type { ProbeResult } from './kvm-probe.ts';
import type { Accelerator, DriveArg } from './qemu-args.ts';
import { MAX_VIRTIO_DEVICES } from './qemu-args.ts';
import { DEFAULT_TAP_POOL } from './tap.ts';
import type { TapLease, TapPoolConfig } from './tap.ts';
import { Firewall } from '../net/firewall.ts';
import { FIREWALL_TABLE } from '../net/firewall-rules.ts';
import { DEFAULT_DNS_SERVERS } from '../net/egress.ts';
import { hostIpv4 } from './host-address.ts';
import { INSTANCE_SSH_PORT } from './instance-boot.ts';
import { MicroVm } from './vm.ts';
import { MicroVmHandle, MICROVM_BACKEND, toExecutorError } from './executor-handle.ts';
import { networkOf, portOpen, validateInstance } from './executor-support.ts';
import { prepareDrives } from './executor-drives.ts';
import { cleanupOrphans, removeLeftovers, type OrphanScope } from './executor-orphans.ts';
import { SquashCache } from './squash-cache.ts';
import type { BootPolicy } from './boot-policy.ts';
import type { MicroVmAttachment, MicroVmOptions } from './vm-types.ts';
import { RuntimeDigests, WarmPools, type WarmPoolConfig } from './warm-pool.ts';
import { bootPoolVm, guestOf, startPooled, type PoolContext } from './executor-pool.ts';

const BACKEND = MICROVM_BACKEND;

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
  /** TCG only: translation cache per VM in MiB (default DEFAULT_TCG_TB_MIB, qemu-args.ts). */
  tcgTbMib?: number;
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
  /**
   * Where code squashfs images are kept by content key (default `<stateDir>/code-cache`, which
   * must be on the state directory's filesystem) and how many bytes they may take (default 2 GiB);
   * `false` packs the code at every start.
   */
  codeCache?: { dir?: string; maxBytes?: number } | false;
  /**
   * Warm pools: per runtime, VMs booted up to the agent and waiting for a program (warm-pool.ts).
   * None by default. The caller refills them with `refillPools()` in the background.
   */
  warmPools?: Array<Omit<WarmPoolConfig, 'codeMaxMib'> & { codeMaxMib?: number }>;
  /** A pool VM was taken (or died): the caller's refill should run. */
  onPoolTaken?: () => void;
  onEvent?: (line: string) => void;
}

/** Default size of a pool VM's (sparse) code drive. */
export const DEFAULT_POOL_CODE_MAX_MIB = 256;


export class MicroVmExecutor implements Executor {
  readonly name = BACKEND;
  // QEMU runs as the VM's own unprivileged uid, chrooted into an empty directory, in the VM's
  // cgroup (memory, CPU, pids, IO), under its seccomp filter (vm-jail.ts); tools that read
  // tenant bytes on the host run jailed too (host/tool-jail.ts).
  // Egress: the shared ruleset (net/firewall-rules.ts) applies the public-unicast policy to its table.
  readonly isolation: ExecutorIsolation = { jailed: true, virtualized: true, seccomp: true, cgroups: true, egressFiltered: true };
  readonly capabilities: ExecutorCapabilities;
  readonly #handles = new Map<string, MicroVmHandle>();
  readonly #network: TapPoolConfig;
  readonly firewall: Firewall | undefined;
  /** Code squashfs images by content key (undefined: packed at every start). */
  readonly codeCache: SquashCache | undefined;
  /** Warm pools (undefined: none configured). */
  readonly pools: WarmPools | undefined;
  readonly #digests = new RuntimeDigests();
  readonly #poolBooting = new Set<{ vm: MicroVm; scratch: string }>();

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
    this.capabilities = {
      instances: true,
      runtimeImages: true,
      codeFormats: ['zip', 'plain', 'squashfs'],
      volumeFormats: ['zip', 'squashfs', 'ext4'],
      // The guest agent hands `module:app` to the runtime's ASGI server.
      asgi: true,
      ipv6: this.#network.ipv6Range !== undefined,
    };
    this.firewall = config.firewall === false
      ? undefined
      : new Firewall({ nftPath: config.firewall?.nftPath ?? 'nft', table: config.firewall?.table ?? FIREWALL_TABLE, tapPrefix: this.#network.prefix });
    this.codeCache = config.codeCache === false
      ? undefined
      : new SquashCache({ dir: config.codeCache?.dir ?? join(config.stateDir, 'code-cache'), maxBytes: config.codeCache?.maxBytes ?? 2 * 1024 ** 3 }, () => this.#squashLimits);
    const pools = (config.warmPools ?? []).filter((pool) => pool.size > 0);
    this.pools = pools.length === 0
      ? undefined
      : new WarmPools(pools.map((pool) => ({ codeMaxMib: DEFAULT_POOL_CODE_MAX_MIB, ...pool })), {
        boot: (pool) => bootPoolVm(this.#poolContext, pool),
        release: (entry) => rm(entry.scratch, { recursive: true, force: true }),
        onTaken: config.onPoolTaken,
        onEvent: config.onEvent,
      });
  }

  get #poolContext(): PoolContext {
    return {
      pools: this.pools!,
      digests: this.#digests,
      stateDir: this.config.stateDir,
      firewall: this.firewall,
      ipPath: this.#network.ipPath,
      handles: this.#handles,
      booting: this.#poolBooting,
      common: () => this.#common(),
      dnsFor: (spec) => this.#dnsFor(spec),
    };
  }

  get #orphanScope(): OrphanScope {
    return { stateDir: this.config.stateDir, network: this.#network, firewall: this.firewall, cgroups: this.cgroups };
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

  /** What every VM of this executor shares (jail, network, images, policies). */
  #common(): Omit<MicroVmOptions, 'id' | 'runtime' | 'vcpus' | 'memoryMib' | 'drives' | 'guest'> {
    return {
      qemuPath: this.config.qemuPath ?? 'qemu-system-x86_64',
      accelerator: this.accelerator.accelerator,
      kvmCpu: this.config.kvmCpu ?? 'host',
      tcgTbMib: this.config.tcgTbMib,
      tscKhz: hostTscKhz(),
      kernel: this.config.kernel,
      initramfs: this.config.initramfs,
      network: this.#network,
      firewall: this.firewall,
      runDir: this.config.stateDir,
      boot: this.config.boot,
      jail: { ...this.config.jail, cgroups: this.cgroups },
      output: this.config.output,
      onEvent: this.config.onEvent,
    };
  }

  #dnsFor(spec: ExecutionSpec): string[] {
    return spec.internet ? (this.config.dnsServers ?? [...DEFAULT_DNS_SERVERS]) : [];
  }

  #newVm(spec: ExecutionSpec, drives: DriveArg[], mounts: GuestMount[], runtime: string): MicroVm {
    const instance = spec.instance;
    return new MicroVm({
      ...this.#common(),
      id: spec.id,
      runtime: instance ? instance.rootDisk : runtime,
      instance: instance ? { hostname: instance.hostname, authorizedKeys: instance.authorizedKeys, portForwards: instance.portForwards, volumes: mounts } : undefined,
      vcpus: spec.resources.vcpus,
      memoryMib: spec.resources.memoryMib,
      drives,
      guest: guestOf(spec, mounts),
      internet: spec.internet,
      dnsServers: this.#dnsFor(spec),
    });
  }

  /** Boots what the warm pools miss (the caller runs it in the background); nothing without pools. */
  async refillPools(): Promise<void> {
    await this.pools?.refill();
  }

  async start(spec: ExecutionSpec): Promise<ExecutionHandle> {
    validateSpec(spec);
    if (this.#handles.has(spec.id)) throw new ExecutorError('START_FAILED', `execution ${spec.id} is already running`);
    const runtime = spec.runtime?.path ?? this.config.defaultRuntime;
    if (spec.instance) {
      validateInstance(spec);
    } else {
      if (!isSquashfsImage(runtime)) throw new ExecutorError('START_FAILED', `runtime ${runtime} is not a squashfs image`);
      // An ASGI reference (`main:app`) names a module the runtime imports, and a code image is
      // not read on the host: the guest reports either missing.
      if (spec.code.image === undefined && spec.code.interface !== 'asgi') {
        const entry = join(spec.code.dir, spec.code.entrypoint);
        if (!existsSync(entry) || !statSync(entry).isFile()) throw new ExecutorError('START_FAILED', `entrypoint ${spec.code.entrypoint} is not a file of the code`);
      }
    }
    // Besides the volumes: the root drive, code or seed drive, network card, control channel.
    if (spec.volumes.length + 4 > MAX_VIRTIO_DEVICES) throw new ExecutorError('INVALID_SPEC', `a microVM takes at most ${MAX_VIRTIO_DEVICES - 4} volumes`);

    const scratch = await mkdtemp(join(this.config.stateDir, 'scratch-'));
    let vm: MicroVm | undefined;
    try {
      const { drives, mounts } = await prepareDrives(spec, scratch, this.#squashLimits, this.codeCache);
      const pooled = spec.instance || !this.pools ? undefined : await startPooled(this.#poolContext, spec, runtime, drives[0]!, scratch);
      if (pooled) return pooled;
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
      await removeLeftovers(this.#orphanScope, data.vm, data.scratchDir);
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

  async cleanupOrphans(liveIds: ReadonlySet<string>): Promise<void> {
    const liveDirs = new Set<string>();
    for (const [id, handle] of this.#handles) {
      const record = handle.adoptionRecord().data as { vm?: MicroVmAttachment | null; scratchDir?: string };
      if (!liveIds.has(id)) continue;
      if (record.vm) liveDirs.add(record.vm.dir);
      if (record.scratchDir) liveDirs.add(record.scratchDir);
    }
    for (const entry of [...(this.pools?.idle() ?? []), ...this.#poolBooting]) {
      if (entry.vm.dir) liveDirs.add(entry.vm.dir);
      liveDirs.add(entry.scratch);
    }
    await cleanupOrphans(this.#orphanScope, liveDirs);
  }

  /** Lets go of the executions (a later supervisor adopts them); destroys the idle pool VMs. */
  async close(): Promise<void> {
    for (const handle of [...this.#handles.values()]) handle.detach();
    this.#handles.clear();
    await this.pools?.close();
  }
}
