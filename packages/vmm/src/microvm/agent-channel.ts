/**
 * The host's side of the guest agent protocol for one program VM, on top of the control socket
 * (control-channel.ts): the hello that ends a boot attempt, the configuration handshake, and the
 * agent's reports (ready, logs, program exit) turned into calls on the VM. Instances have no
 * agent and no channel.
 */
import type { GuestConfig, GuestMessage } from '@aleph-nodes/guest';
import type { LogLine } from '../executor.ts';
import { ControlServer } from './control-channel.ts';
import { deferred, raceDeadline, type Deferred } from './deferred.ts';
import type { QemuExit } from './qemu-process.ts';
import type { TapLease } from './tap.ts';
import { MicroVmError, type MicroVmOptions } from './vm-types.ts';

type Hello = Extract<GuestMessage, { type: 'hello' }>;

/** What the agent reports, delivered to the VM. */
export interface AgentEvents {
  /** Every hello (boot or reconnect): the guest's `uname -r`. */
  onHello(kernelRelease: string): void;
  /** The program accepts connections on port 8080. */
  onReady(): void;
  onLog(line: LogLine): void;
  /** The program ended; the VM exists for it, so the VM ends too. */
  onProgramExit(code: number | null, signal: string | null): void;
}

/** The configuration the agent applies: the VM's guest part, its id and the network from its tap. */
export function guestConfig(options: MicroVmOptions, tap: TapLease | undefined): GuestConfig {
  return {
    ...options.guest,
    id: options.id,
    network: tap ? { ip: tap.guestIp, prefixLength: tap.prefixLength, gateway: tap.hostIp, dnsServers: options.dnsServers ?? [] } : undefined,
  };
}

export class AgentChannel {
  #hello: Deferred<Hello> | undefined;
  #configured: Deferred<void> | undefined;

  private constructor(
    private readonly control: ControlServer,
    private readonly events: AgentEvents,
  ) {
    control.onMessage((message) => this.#onMessage(message));
  }

  /** Listens on `path` (QEMU connects to it, and reconnects every second when it lost it). */
  static async listen(path: string, events: AgentEvents): Promise<AgentChannel> {
    return new AgentChannel(await ControlServer.listen(path), events);
  }

  get path(): string {
    return this.control.path;
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
    if (!this.control.send({ type: 'configure', config })) throw new MicroVmError('CONFIGURE_FAILED', 'control channel not connected');
    const died = qemuExit.then((): never => {
      throw new MicroVmError('CONFIGURE_FAILED', 'the VM stopped while being configured', consoleTail());
    });
    await raceDeadline(this.#configured.promise, timeoutMs, () => new MicroVmError('CONFIGURE_FAILED', `no answer to the configuration within ${timeoutMs} ms`), died);
  }

  /** Asks the agent to stop the program (SIGTERM, `graceMs`) and power off; false when not connected. */
  requestShutdown(graceMs: number): boolean {
    return this.control.send({ type: 'shutdown', graceMs });
  }

  close(): Promise<void> {
    return this.control.close();
  }

  #onMessage(message: GuestMessage): void {
    switch (message.type) {
      case 'hello':
        this.events.onHello(message.kernel);
        this.#hello?.resolve(message);
        break;
      case 'configured':
        if (message.ok) this.#configured?.resolve();
        else this.#configured?.reject(new MicroVmError('CONFIGURE_FAILED', `the guest could not apply the configuration: ${message.error}`));
        break;
      case 'ready':
        this.events.onReady();
        break;
      case 'log':
        this.events.onLog({ stream: message.stream === 'stderr' ? 'stderr' : 'stdout', time: Date.now(), text: String(message.text) });
        break;
      case 'exited':
        this.events.onProgramExit(message.code, message.signal);
        break;
      case 'halting':
        break;
    }
  }
}
