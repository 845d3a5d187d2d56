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
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { GuestMount } from '@aleph-nodes/guest';
import { WORKLOAD_PORT } from '@aleph-nodes/guest';
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
import { sleep } from './timing.ts';
import { Firewall, FIREWALL_TABLE } from '../net/firewall.ts';
import { DEFAULT_DNS_SERVERS } from '../net/egress.ts';
import { hostIpv4 } from './host-address.ts';
import { INSTANCE_SSH_PORT } from './instance-boot.ts';
import { MicroVm } from './vm.ts';
import { MicroVmHandle, MICROVM_BACKEND, toExecutorError } from './executor-handle.ts';
import { networkOf, portOpen, readCmdline, validateInstance } from './executor-support.ts';
import type { BootPolicy } from './boot-policy.ts';
import type { MicroVmAttachment } from './vm-types.ts';

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


export class MicroVmExecutor implements Executor {
  readonly name = BACKEND;
  // QEMU runs as the VM's own unprivileged uid, chrooted into an empty directory, in the VM's
  // cgroup (memory, CPU, pids, IO), under its seccomp filter (vm-jail.ts); tools that read
  // tenant bytes on the host run jailed too (host/tool-jail.ts).
  // Egress: the shared ruleset (net/firewall-rules.ts) applies the public-unicast policy to its table.
  readonly capabilities: ExecutorCapabilities = { instances: true, runtimeImages: true, asgi: true };
  readonly isolation: ExecutorIsolation = { jailed: true, virtualized: true, seccomp: true, cgroups: true, egressFiltered: true };
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
      guest: { code: { encoding: 'squashfs', serial: 'aleph-code' }, entrypoint: spec.code.entrypoint, interface: spec.code.interface, variables: spec.variables, volumes: mounts },
      network: this.#network,
      firewall: this.firewall,
      internet: spec.internet,
      dnsServers: spec.internet ? (this.config.dnsServers ?? [...DEFAULT_DNS_SERVERS]) : [],
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
      // An ASGI `module:app` names no file: the guest's Python reports an import failure.
      const entry = join(spec.code.dir, spec.code.entrypoint);
      if (spec.code.interface !== 'asgi' && (!existsSync(entry) || !statSync(entry).isFile())) throw new ExecutorError('START_FAILED', `entrypoint ${spec.code.entrypoint} is not a file of the code`);
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
