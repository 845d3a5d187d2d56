/**
 * One microVM: one QEMU process (`-M microvm`), its QMP socket, its control channel, its tap.
 * This file holds the MicroVm class and its lifecycle. Beside it: boot-watchdog.ts (boot
 * watchdog, retries), agent-channel.ts (agent protocol), qemu-process.ts, vm-host.ts (directory,
 * tap, firewall joins), instance-boot.ts (what only instances do), vm-types.ts.
 *
 * Lifecycle: `created` → `booting` (QEMU runs, the watchdog waits for the agent's hello) →
 * `waiting` (the agent said hello; a warm pool's VM stays here until it is given a program) →
 * `configuring` (configuration sent) → `running` (program started; `ready` comes later when its
 * port 8080 accepts connections) → `stopping` → `stopped`; `failed` when a boot or configuration
 * fails or QEMU dies on its own. Every exit path removes the tap, the sockets, the VM's cgroup
 * and the VM directory. QEMU always runs jailed (vm-jail.ts); the guest's output is bounded
 * (guest-output.ts) and a guest that floods the control channel with invalid lines is ended. Instances have no agent: they are ready when SSH answers, and stop with an ACPI
 * power-button press (QMP `system_powerdown`), then QMP quit / SIGKILL after the grace time.
 */
import { join } from 'node:path';
import type { LogBuffer } from '../log-buffer.ts';
import type { LogLine } from '../executor.ts';
import { blockDeviceOf } from '../host/cgroups.ts';
import { AgentChannel, guestConfig, type AgentEvents } from './agent-channel.ts';
import { DEFAULT_BOOT_POLICY, type BootPolicy } from './boot-policy.ts';
import { bootWithWatchdog } from './boot-watchdog.ts';
import { diagnoseConsole, tailLines } from './console-log.ts';
import { DEFAULT_GUEST_OUTPUT_LIMITS, VmOutput } from './guest-output.ts';
import { deferred, raceDeadline } from './deferred.ts';
import { pollSsh } from './instance-boot.ts';
import { attachedProcess, killQemu, pidAlive, qemuStderrTail, spawnQemu, type QemuExit, type QemuProcess } from './qemu-process.ts';
import { QmpClient } from './qmp.ts';
import { saveSnapshot, snapshotLayout, type SnapshotInfo } from './snapshot.ts';
import { restoreQemu } from './snapshot-restore.ts';
import { settlesWithin } from './timing.ts';
import type { TapLease } from './tap.ts';
import { VmHost } from './vm-host.ts';
import { DEFAULT_VM_IO, DEFAULT_VM_PIDS, DEFAULT_VMM_CPU_OVERHEAD, DEFAULT_VMM_OVERHEAD_MIB, VmJail, type VmJailSettings } from './vm-jail.ts';
import { MicroVmError, type MicroVmAssignment, type MicroVmAttachment, type MicroVmExit, type MicroVmOptions, type MicroVmState } from './vm-types.ts';

export class MicroVm {
  #state: MicroVmState = 'created';
  readonly #host: VmHost;
  #agent: AgentChannel | undefined;
  #qmp: QmpClient | undefined;
  #child: QemuProcess | undefined;
  #detached = false;
  readonly #ready = deferred<void>();
  /** A pool VM's language started ahead: true once it waits for its program. */
  readonly #prestarted = deferred<boolean>();
  readonly #exited = deferred<MicroVmExit>();
  #isReady = false;
  #program: MicroVmExit['program'];
  #stopRequested = false;
  #stopping: Promise<void> | undefined;
  #bootAttempts = 0;
  #kernelRelease: string | undefined;
  readonly #output: VmOutput;
  #jail: VmJail | undefined;
  readonly #jailSettings: VmJailSettings;
  /** Why the host ended the VM on its own. */
  #endReason: string | undefined;
  #memoryPeakMib: number | undefined;
  readonly #policy: BootPolicy;

  constructor(readonly options: MicroVmOptions) {
    this.#policy = { ...DEFAULT_BOOT_POLICY, ...options.boot };
    this.#output = new VmOutput({ ...DEFAULT_GUEST_OUTPUT_LIMITS, ...options.output });
    this.#jailSettings = { overheadMib: DEFAULT_VMM_OVERHEAD_MIB[options.accelerator], cpuOverhead: DEFAULT_VMM_CPU_OVERHEAD[options.accelerator], pids: DEFAULT_VM_PIDS, io: DEFAULT_VM_IO, ...options.jail };
    this.#host = new VmHost(options);
    // Nobody may be waiting: avoid unhandled rejections.
    this.#ready.promise.catch(() => {});
  }

  get state(): MicroVmState { return this.#state; }
  /** Guest address (port 8080 answers there once ready). */
  get tap(): TapLease | undefined { return this.#host.tap; }
  get pid(): number | undefined { return this.#child?.pid; }
  /** The VM's log lines (bounded in lines and bytes, rate limited). */
  get logs(): LogBuffer { return this.#output.logs; }
  /** QEMU's host uid and cgroup (set once prepared or attached). */
  get jail(): VmJail | undefined { return this.#jail; }
  /** What the host holds for this VM's guest output right now (bounded; for checks and metrics). */
  outputUsage(): { logBytes: number; partialBytes: number; controlBytes: number; invalidFrames: number } {
    return { logBytes: this.logs.bytes, partialBytes: this.#output.partialBytes, controlBytes: this.#agent?.bufferedBytes ?? 0, invalidFrames: this.#agent?.invalidFrames ?? 0 };
  }
  get dir(): string | undefined { return this.#host.dir; }
  /** `uname -r` reported by the guest agent. */
  get kernelRelease(): string | undefined { return this.#kernelRelease; }
  /** Boot attempts used (more than 1 when the watchdog retried). */
  get bootAttempts(): number { return this.#bootAttempts; }
  get exited(): Promise<MicroVmExit> { return this.#exited.promise; }
  get consolePath(): string | undefined { return this.#host.dir ? join(this.#host.dir, 'console.log') : undefined; }

  consoleTail(lines = 40): string[] {
    return this.consolePath ? tailLines(this.consolePath, lines) : [];
  }

  #event(line: string): void {
    this.options.onEvent?.(`[vm ${this.options.id}] ${line}`);
  }

  /** Boots, configures and starts the program. Cleans everything up and throws on failure. */
  async start(): Promise<void> {
    await this.prepare();
    await this.boot();
  }

  /**
   * Host side only (VM directory, control socket, tap): after it the guest address is known.
   * Cleans up and throws on failure.
   */
  async prepare(): Promise<void> {
    if (this.#state !== 'created' || this.#host.dir) throw new Error(`cannot prepare a VM in state ${this.#state}`);
    try {
      const dir = await this.#host.createDir();
      await this.#host.setUpNetwork();
      const tap = this.#host.tap;
      if (!tap) throw new Error('a jailed microVM needs a network (its uid comes from its tap lease)');
      this.#jail = VmJail.create({ runDir: this.options.runDir, dir, tapId: tap.id, memoryMib: this.options.memoryMib, vcpus: this.options.vcpus, settings: this.#jailSettings, ioDevice: blockDeviceOf(dir) });
      this.#output.start(dir, this.options.instance !== undefined);
      if (!this.options.instance) this.#agent = new AgentChannel(join(dir, 'control.sock'), this.#agentEvents(), this.#output.limits.maxInvalidFrames);
    } catch (err) {
      await this.#fail();
      throw err;
    }
  }

  /** Boots QEMU (with the watchdog), configures the guest, starts the program. */
  async boot(): Promise<void> {
    await this.bootIdle();
    if (!this.options.instance) await this.configure();
  }

  /**
   * Boots QEMU until the agent's hello: the VM then `waiting` for `configure` (a warm pool's VM,
   * warm-pool.ts). An instance has no agent: it is `running` and ready once SSH answers.
   */
  async bootIdle(): Promise<void> {
    if (this.#state !== 'created' || !this.#host.dir) throw new Error(`cannot boot a VM in state ${this.#state}`);
    this.#state = 'booting';
    try {
      await this.#bootWithWatchdog();
      if (this.#stopRequested) throw new MicroVmError('EXITED', 'stopped while booting');
      this.#state = this.options.instance ? 'running' : 'waiting';
      if (this.options.instance) this.markReady();
      // From here on, QEMU ending on its own ends the VM (while configuring, configure() sees it).
      void this.#child!.exit.then((info) => this.#onQemuExit(info));
    } catch (err) {
      await this.#failBoot(err);
    }
  }

  /**
   * Sends the configuration to the waiting agent, which starts the program. `assigned` gives a
   * pool VM its program (hostname, entrypoint, variables, resolvers); the VM serves only that one.
   */
  async configure(assigned?: MicroVmAssignment): Promise<void> {
    if (this.#state !== 'waiting') throw new Error(`cannot configure a VM in state ${this.#state}`);
    this.#state = 'configuring';
    try {
      const options = assigned ? { ...this.options, ...assigned } : this.options;
      await this.#agent!.configure(guestConfig(options, this.#host.tap), this.#policy.configureTimeoutMs, this.#child!.exit, () => this.consoleTail());
      if (this.#stopRequested) throw new MicroVmError('EXITED', 'stopped while configuring');
      this.#state = 'running';
    } catch (err) {
      await this.#failBoot(err);
    }
  }

  async #failBoot(err: unknown): Promise<never> {
    await this.#fail();
    // A VM the host ended (a misbehaving guest) says why, not how the boot noticed.
    if (this.#endReason) throw new MicroVmError('CONFIGURE_FAILED', this.#endReason, err instanceof MicroVmError ? err.consoleTail : []);
    throw err;
  }

  /** Boots to the agent's hello, saves the VM to `file` (snapshot.ts) unconfigured, and ends it. */
  async bootAndSnapshot(file: string): Promise<SnapshotInfo> {
    if (this.#state !== 'created' || !this.#host.dir || this.options.instance || this.options.restore) throw new Error(`cannot snapshot a VM in state ${this.#state}`);
    // Every restore would wake the same started language process, with the same random state.
    if (this.options.prestart) throw new Error('cannot snapshot a VM with a language started ahead');
    this.#state = 'booting';
    this.#stopRequested = true;
    try {
      await this.#bootWithWatchdog();
      if (!this.#qmp) throw new MicroVmError('BOOT_FAILED', 'no QMP connection to save the VM through');
      return await saveSnapshot({ qmp: this.#qmp, jail: this.#jail!.qemuJail, file, layout: snapshotLayout(this.options) });
    } finally {
      await this.#fail('stopped');
    }
  }

  /**
   * Takes over a VM started by an earlier supervisor: the host connects to QEMU's control socket
   * again, QMP is reopened, the VM's cgroup is found by name. Returns false, leaving everything
   * untouched, when the QEMU process is gone.
   */
  async attach(attachment: MicroVmAttachment): Promise<boolean> {
    if (this.#state !== 'created' || this.#host.dir) throw new Error(`cannot attach a VM in state ${this.#state}`);
    if (!pidAlive(attachment.pid)) return false;
    this.#host.adopt(attachment.dir, attachment.tap);
    if (attachment.tap) this.#jail = VmJail.adopt({ runDir: this.options.runDir, dir: attachment.dir, tapId: attachment.tap.id, cgroups: this.#jailSettings.cgroups });
    this.#output.start(attachment.dir, this.options.instance !== undefined);
    if (!this.options.instance) this.#agent = new AgentChannel(join(attachment.dir, 'control.sock'), this.#agentEvents(), this.#output.limits.maxInvalidFrames);
    this.#child = attachedProcess(attachment.pid);
    this.#qmp = await QmpClient.connect(join(attachment.dir, 'qmp.sock'), 5000).catch(() => undefined);
    this.#state = 'running';
    void this.#child.exit.then((info) => this.#onQemuExit(info));
    if (this.options.instance && this.#host.tap) {
      // An adopted instance that was not ready yet: ready once SSH answers (until it ends).
      void pollSsh(this.#host.tap.guestIp, () => !this.#isReady && !this.#detached && this.#state === 'running', () => this.markReady());
    }
    return true;
  }

  /** Everything a later `attach` needs. */
  attachment(): MicroVmAttachment | undefined {
    if (!this.#host.dir || this.#child?.pid === undefined) return undefined;
    return { dir: this.#host.dir, pid: this.#child.pid, tap: this.#host.tap };
  }

  /** Lets go of the VM without stopping it (a later supervisor attaches again). */
  async detach(): Promise<void> {
    this.#detached = true;
    this.#output.stop();
    this.#qmp?.close();
    this.#qmp = undefined;
    this.#child?.unref();
    await this.#agent?.close().catch(() => {});
    this.#agent = undefined;
  }

  /** Marks the program as accepting connections (an attached VM's agent said so long ago). */
  markReady(): void {
    this.#isReady = true;
    this.#ready.resolve();
  }

  async #fail(finalState: 'failed' | 'stopped' = 'failed'): Promise<void> {
    this.#state = finalState;
    await this.#teardown();
    this.#exited.resolve({ qemuCode: null, qemuSignal: null, program: this.#program, requested: this.#stopRequested, reason: this.#endReason, memoryPeakMib: this.#memoryPeakMib });
  }

  async #bootWithWatchdog(): Promise<void> {
    const dir = this.#host.dir!;
    if (this.options.restore) {
      // No boot, no watchdog: the snapshot loads or the VM fails.
      const { tap } = this.#host;
      if (!tap || !this.#agent) throw new MicroVmError('BOOT_FAILED', 'only program VMs with a network are restored');
      const restored = await restoreQemu({ options: this.options, restore: this.options.restore, dir, agent: this.#agent, tap, jail: this.#jail!, timeoutMs: this.#policy.timeoutMs, onSpawn: (child) => (this.#child = child) });
      ({ child: this.#child, qmp: this.#qmp } = restored);
      return this.#event(`restored from a snapshot: loaded in ${Math.round(restored.timings.loadMs)} ms, identity refreshed in ${Math.round(restored.timings.refreshMs)} ms`);
    }
    await bootWithWatchdog({
      policy: this.#policy,
      consolePath: join(dir, 'console.log'),
      accelerator: this.options.accelerator,
      instance: this.options.instance ? { sshHost: this.#host.tap?.guestIp } : undefined,
      beginAttempt: (attempt) => {
        this.#bootAttempts = attempt;
        // Instances never say hello over the channel: their watchdog watches SSH instead.
        return this.#agent?.expectHello() ?? new Promise<never>(() => {});
      },
      spawn: () => {
        this.#child = spawnQemu(this.options, dir, this.#agent?.path, this.#host.tap, this.#jail!);
        return this.#child;
      },
      killQemu: () => killQemu(this.#child, this.#qmp),
      qemuStderr: () => qemuStderrTail(dir),
      event: (line) => this.#event(line),
    });
    this.#qmp = await QmpClient.connect(join(dir, 'qmp.sock'), 5000).catch(() => undefined);
  }

  /** The agent's reports, applied to this VM. */
  #agentEvents(): AgentEvents {
    return {
      onHello: (kernelRelease) => {
        this.#kernelRelease = kernelRelease;
      },
      onReady: () => this.markReady(),
      onPrestarted: (ok, error) => {
        if (!ok) this.#event(`the language started ahead failed: ${error ?? 'no reason given'}`);
        this.#prestarted.resolve(ok);
      },
      onLog: (line) => this.#output.push(line),
      onInvalid: (reason) => this.#event(`invalid control line from the guest: ${reason}`),
      onDropped: (bytes) => this.#output.dropped(bytes),
      onViolation: (reason) => this.#terminate(reason),
      onProgramExit: (code, signal) => {
        this.#program = { code, signal };
        this.#ready.reject(new MicroVmError('EXITED', `the program exited (${code ?? signal}) before accepting connections`));
        // The VM exists for its program: a program that ends ends the VM.
        if (!this.#stopRequested) void this.#shutdown(10_000, false);
      },
    };
  }

  /** Ends a misbehaving guest at once (no grace: its agent is not to be trusted), saying why. */
  #terminate(reason: string): void {
    if (this.#endReason || this.#stopRequested) return;
    this.#endReason = reason;
    this.#output.note(`the VM was ended: ${reason}`);
    this.#event(`ending the VM: ${reason}`);
    this.#ready.reject(new MicroVmError('EXITED', reason));
    void this.#shutdown(0, false);
  }

  /** Whether the language started ahead (`options.prestart`) waits: false when it failed, the VM ended or `timeoutMs` passed. */
  async whenPrestarted(timeoutMs: number): Promise<boolean> {
    if (!this.options.prestart) return false;
    const ended = this.#exited.promise.then((): never => { throw new Error('ended'); });
    return raceDeadline(this.#prestarted.promise, timeoutMs, () => new Error('late'), ended).catch(() => false);
  }

  /** Resolves when port 8080 accepts connections in the guest. */
  async waitReady(timeoutMs: number): Promise<void> {
    if (this.#isReady) return;
    const exited = this.#exited.promise.then((): never => {
      throw new MicroVmError('EXITED', 'the VM stopped before the program accepted connections', this.consoleTail());
    });
    await raceDeadline(this.#ready.promise, timeoutMs, () => new MicroVmError('NOT_READY', `the program did not accept connections on port 8080 within ${timeoutMs} ms`), exited);
  }

  /** Asks the guest to stop its program and power off; kills QEMU after `timeoutMs`. Idempotent. */
  stop(timeoutMs = 10_000): Promise<void> {
    this.#stopRequested = true;
    return this.#shutdown(timeoutMs, true);
  }

  #shutdown(timeoutMs: number, requested: boolean): Promise<void> {
    if (this.#stopping) return this.#stopping;
    if (this.#state === 'stopped' || this.#state === 'failed') return Promise.resolve();
    if (this.#state === 'created' && this.#host.dir) {
      // Prepared, never booted: only host resources to release.
      this.#stopping = this.#fail('stopped');
      return this.#stopping;
    }
    if (this.#state === 'created') return Promise.resolve();
    if (this.#state === 'booting' || this.#state === 'configuring') {
      // boot() notices the request, fails and tears down; wait for that.
      this.#stopping = (async () => {
        await killQemu(this.#child, this.#qmp);
        await this.#exited.promise;
      })();
      return this.#stopping;
    }
    this.#state = 'stopping';
    this.#stopping = (async () => {
      const exit = this.#child?.exit;
      if (exit) {
        const graceMs = Math.max(0, Math.floor(timeoutMs / 2));
        if (this.options.instance) {
          // The power button: systemd (through acpid) shuts the OS down and QEMU exits.
          this.#qmp ??= await QmpClient.connect(join(this.#host.dir!, 'qmp.sock'), 2000).catch(() => undefined);
          const pressed = await this.#qmp?.execute('system_powerdown').then(() => true, () => false);
          if (pressed) await settlesWithin(exit, timeoutMs);
        } else if (this.#agent?.requestShutdown(graceMs)) {
          await settlesWithin(exit, timeoutMs);
        }
        await killQemu(this.#child, this.#qmp);
      }
      const info = exit ? await exit : { code: null, signal: null };
      await this.#teardown();
      this.#state = this.#endReason ? 'failed' : 'stopped';
      this.#exited.resolve({ qemuCode: info.code, qemuSignal: info.signal, program: this.#program, requested, reason: this.#endReason, memoryPeakMib: this.#memoryPeakMib });
    })();
    return this.#stopping;
  }

  /** QEMU ended while running (crash, external kill, guest power-off after a panic). */
  async #onQemuExit(info: QemuExit): Promise<void> {
    if (this.#detached || this.#stopping || (this.#state !== 'running' && this.#state !== 'waiting')) return;
    this.#state = 'stopping';
    const tail = this.consoleTail();
    const reason = diagnoseConsole(tail);
    this.#event(`QEMU exited on its own (${info.code ?? info.signal})${reason ? `: ${reason}` : ''}`);
    this.#stopping = (async () => {
      await this.#teardown();
      this.#state = 'failed';
      this.#exited.resolve({ qemuCode: info.code, qemuSignal: info.signal, program: this.#program, requested: false, memoryPeakMib: this.#memoryPeakMib });
    })();
  }

  async #teardown(): Promise<void> {
    this.#qmp?.close();
    this.#qmp = undefined;
    await killQemu(this.#child, this.#qmp).catch(() => {});
    this.#output.stop();
    // (An instance's port forwards go first in release(): it has no agent channel to close.)
    if (this.#agent) await this.#agent.close().catch(() => {});
    this.#agent = undefined;
    this.#memoryPeakMib = this.#jail?.memoryPeakMib();
    await this.#jail?.destroy();
    await this.#host.release();
  }

  recentLogs(limit?: number): LogLine[] {
    return this.logs.recent(limit);
  }
}
