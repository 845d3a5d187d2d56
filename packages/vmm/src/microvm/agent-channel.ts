/**
 * The host's side of the guest agent protocol for one program VM, on top of the control
 * connection (control-channel.ts): the hello that ends a boot attempt, the configuration
 * handshake, and the agent's reports (ready, logs, program exit) turned into calls on the VM.
 * Instances have no agent and no channel.
 *
 * Only schema-checked messages (agent-schema.ts) get here. Rejected lines are counted; the first
 * of a burst is reported, and `maxInvalid` malformed lines in a row (a broken or hostile agent:
 * the real one never sends one) end the VM through `onViolation`. Oversized lines are not
 * counted in that run: a program printing a very long line makes the real agent send one.
 */
import type { GuestConfig, IdentityRefresh } from '@aleph-nodes/guest/protocol';
import type { LogLine } from '../executor.ts';
import type { CheckedGuestMessage } from './agent-schema.ts';
import { ControlClient } from './control-channel.ts';
import { deferred, raceDeadline, type Deferred } from './deferred.ts';
import type { QemuExit } from './qemu-process.ts';
import type { TapLease } from './tap.ts';
import { MicroVmError, type MicroVmOptions } from './vm-types.ts';

type Hello = Extract<CheckedGuestMessage, { type: 'hello' }>;

/** What the agent reports, delivered to the VM. */
export interface AgentEvents {
  /** Every hello (boot or reconnect): the guest's `uname -r`. */
  onHello(kernelRelease: string): void;
  /** The program accepts connections on port 8080. */
  onReady(): void;
  /** A pool VM's language started ahead is waiting for its program (or failed to start). */
  onPrestarted(ok: boolean, error: string | undefined): void;
  onLog(line: LogLine): void;
  /** The program ended; the VM exists for it, so the VM ends too. */
  onProgramExit(code: number | null, signal: string | null): void;
  /** The first rejected line of a burst (for the operator's log). */
  onInvalid(reason: string): void;
  /** Bytes of an oversized line dropped unread (counted as dropped output). */
  onDropped(bytes: number): void;
  /** Too many malformed lines in a row: the VM must end, for `reason`. */
  onViolation(reason: string): void;
}

/** The configuration the agent applies: the VM's guest part, its id and the network from its tap. */
export function guestConfig(options: MicroVmOptions, tap: TapLease | undefined): GuestConfig {
  return {
    ...options.guest,
    id: options.id,
    network: tap
      ? {
        ip: tap.guestIp,
        prefixLength: tap.prefixLength,
        gateway: tap.hostIp,
        dnsServers: options.dnsServers ?? [],
        ...(tap.ipv6 ? { ipv6: { ip: tap.ipv6.guestIp, prefixLength: tap.ipv6.prefixLength, gateway: tap.ipv6.hostIp } } : {}),
      }
      : undefined,
  };
}

export class AgentChannel {
  #hello: Deferred<Hello> | undefined;
  #configured: Deferred<void> | undefined;
  #refreshed: Deferred<void> | undefined;
  readonly #control: ControlClient;
  #invalidTotal = 0;
  #invalidRun = 0;
  #violated = false;

  /** Connects to QEMU's control socket at `path` (and reconnects until closed). */
  constructor(
    path: string,
    private readonly events: AgentEvents,
    private readonly maxInvalid: number,
  ) {
    this.#control = new ControlClient(path, {
      onMessage: (message) => {
        this.#invalidRun = 0;
        this.#onMessage(message);
      },
      onMalformed: (reason) => this.#onMalformed(reason),
      onOversized: (bytes) => {
        this.#invalidTotal++;
        this.events.onDropped(bytes);
      },
    });
    this.#control.start();
  }

  get path(): string {
    return this.#control.path;
  }

  /** Rejected lines so far (malformed and oversized). */
  get invalidFrames(): number {
    return this.#invalidTotal;
  }

  /** Bytes of an incomplete guest line held now. */
  get bufferedBytes(): number {
    return this.#control.bufferedBytes;
  }

  #onMalformed(reason: string): void {
    this.#invalidTotal++;
    this.#invalidRun++;
    if (this.#invalidRun === 1) this.events.onInvalid(reason);
    if (this.#invalidRun >= this.maxInvalid && !this.#violated) {
      this.#violated = true;
      this.events.onViolation(`the guest sent ${this.#invalidRun} invalid control messages in a row (first: ${reason})`);
    }
  }

  /** A new boot attempt: the promise of its hello (an earlier attempt's hello no longer counts). */
  expectHello(): Promise<Hello> {
    this.#hello = deferred();
    this.#hello.promise.catch(() => {});
    return this.#hello.promise;
  }

  /**
   * Sends the configuration and waits for the agent to apply it, at most `timeoutMs`; fails
   * when QEMU exits (`qemuExit`) first, with the console tail for the owner.
   */
  async configure(config: GuestConfig, timeoutMs: number, qemuExit: Promise<QemuExit>, consoleTail: () => string[]): Promise<void> {
    this.#configured = deferred();
    if (!this.#control.send({ type: 'configure', config })) throw new MicroVmError('CONFIGURE_FAILED', 'control channel not connected');
    const died = qemuExit.then((): never => {
      throw new MicroVmError('CONFIGURE_FAILED', 'the VM stopped while being configured', consoleTail());
    });
    await raceDeadline(this.#configured.promise, timeoutMs, () => new MicroVmError('CONFIGURE_FAILED', `no answer to the configuration within ${timeoutMs} ms`), died);
  }

  /**
   * After a snapshot restore: sends the identity refresh (identity.ts in the agent) once QEMU's
   * control socket accepts the host, and waits for the agent to apply it, at most `timeoutMs`.
   */
  async refresh(message: IdentityRefresh, timeoutMs: number, qemuExit: Promise<QemuExit>): Promise<void> {
    this.#refreshed = deferred();
    const deadline = Date.now() + timeoutMs;
    while (!this.#control.connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (!this.#control.send(message)) throw new MicroVmError('CONFIGURE_FAILED', 'control channel not connected after the restore');
    const died = qemuExit.then((): never => {
      throw new MicroVmError('CONFIGURE_FAILED', 'the VM stopped while refreshing its identity');
    });
    await raceDeadline(this.#refreshed.promise, Math.max(0, deadline - Date.now()), () => new MicroVmError('CONFIGURE_FAILED', `no identity refresh within ${timeoutMs} ms`), died);
  }

  /** Asks the agent to stop the program (SIGTERM, `graceMs`) and power off; false when not connected. */
  requestShutdown(graceMs: number): boolean {
    return this.#control.send({ type: 'shutdown', graceMs });
  }

  close(): Promise<void> {
    return this.#control.close();
  }

  #onMessage(message: CheckedGuestMessage): void {
    switch (message.type) {
      case 'hello':
        this.events.onHello(message.kernel);
        this.#hello?.resolve(message);
        break;
      case 'configured':
        if (message.ok) this.#configured?.resolve();
        else this.#configured?.reject(new MicroVmError('CONFIGURE_FAILED', `the guest could not apply the configuration: ${message.error ?? 'no reason given'}`));
        break;
      case 'refreshed':
        if (message.ok) this.#refreshed?.resolve();
        else this.#refreshed?.reject(new MicroVmError('CONFIGURE_FAILED', `the guest could not refresh its identity: ${message.error ?? 'no reason given'}`));
        break;
      case 'ready':
        this.events.onReady();
        break;
      case 'log':
        this.events.onLog({ stream: message.stream, time: Date.now(), text: message.text });
        break;
      case 'exited':
        this.events.onProgramExit(message.code, message.signal);
        break;
      case 'prestarted':
        this.events.onPrestarted(message.ok, message.error);
        break;
      case 'halting':
        break;
    }
  }
}
