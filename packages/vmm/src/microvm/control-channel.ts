/**
 * Host end of the guest control channel. QEMU listens on a Unix socket in the VM directory
 * (`-chardev socket,server=on`) and carries its bytes to the guest's virtio-serial port (see
 * @aleph-nodes/guest protocol); the host connects, and connects again whenever the connection
 * ends (a boot retry starts a new QEMU, a restarted supervisor adopts the VM). QEMU serves one
 * client at a time.
 *
 * What comes from the guest is hostile: lines are bounded and checked by agent-schema.ts before
 * anything acts on them; rejected ones are reported, never thrown.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { encodeMessage } from '@aleph-nodes/guest/protocol';
import type { HostMessage } from '@aleph-nodes/guest/protocol';
import { FrameDecoder, parseGuestFrame, type CheckedGuestMessage } from './agent-schema.ts';

export interface ControlEvents {
  onMessage(message: CheckedGuestMessage): void;
  /** A line that is not a valid guest message (not JSON, wrong shape or bounds). */
  onMalformed(reason: string): void;
  /** A line over the frame limit, dropped unread. */
  onOversized(bytes: number): void;
}

export class ControlClient {
  #socket: Socket | undefined;
  #decoder: FrameDecoder | undefined;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;

  constructor(
    readonly path: string,
    private readonly events: ControlEvents,
    private readonly retryMs = 100,
  ) {}

  /** Starts connecting (and reconnecting until close()). */
  start(): void {
    if (this.#closed || this.#socket || this.#retry) return;
    this.#connect();
  }

  #connect(): void {
    this.#retry = undefined;
    if (this.#closed) return;
    const socket = connect(this.path);
    const decoder = new FrameDecoder(
      (line) => {
        // A line that arrives after close() or from a replaced connection is not acted on.
        if (this.#socket !== socket) return;
        const result = parseGuestFrame(line);
        if (!result) return;
        if (result.ok) this.events.onMessage(result.message);
        else this.events.onMalformed(result.reason);
      },
      (bytes) => {
        if (this.#socket === socket) this.events.onOversized(bytes);
      },
    );
    socket.once('connect', () => {
      if (this.#closed) {
        socket.destroy();
        return;
      }
      this.#socket = socket;
      this.#decoder = decoder;
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', () => {});
    socket.once('close', () => {
      if (this.#socket === socket) {
        this.#socket = undefined;
        this.#decoder = undefined;
      }
      if (!this.#closed && !this.#retry) {
        this.#retry = setTimeout(() => this.#connect(), this.retryMs);
        this.#retry.unref();
      }
    });
  }

  get connected(): boolean {
    return this.#socket !== undefined && !this.#socket.destroyed;
  }

  /** Bytes of an incomplete guest line held now (bounded by the frame limit). */
  get bufferedBytes(): number {
    return this.#decoder?.bufferedBytes ?? 0;
  }

  /** Sends a message; false when not connected to QEMU. */
  send(message: HostMessage): boolean {
    const socket = this.#socket;
    if (!socket || socket.destroyed) return false;
    socket.write(encodeMessage(message));
    return true;
  }

  /** Stops reconnecting and drops the connection (QEMU listens again for the next client). */
  close(): Promise<void> {
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = undefined;
    const socket = this.#socket;
    this.#socket = undefined;
    this.#decoder = undefined;
    if (!socket || socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      socket.once('close', () => resolve());
      socket.destroy();
    });
  }
}
