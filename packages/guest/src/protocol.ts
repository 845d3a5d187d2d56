/**
 * The host ↔ guest control protocol of our microVMs.
 *
 * The reference speaks msgpack over vsock (guest-and-network.md §4). This machine has no
 * vhost-vsock (§9), so the carrier is a virtio-serial port named `CONTROL_PORT_NAME`, backed on
 * the host by a Unix socket. A serial port is one byte stream in each direction with no
 * connection per request, so messages are framed as JSON, one object per line (`\n`-terminated;
 * JSON.stringify never emits a raw newline). Bytes (a code zip) travel as base64.
 *
 * This module is shared by the host (packages/vmm/src/microvm) and the guest agent, which is
 * bundled for the guest's Node.js 18: keep it free of imports and of Node 20-only APIs.
 */

export const AGENT_PROTOCOL_VERSION = '1.0.0';

/** The `name` of the virtserialport; the guest finds it under /sys/class/virtio-ports. */
export const CONTROL_PORT_NAME = 'org.aleph-nodes.control';

/** virtio-blk `serial` of the runtime root filesystem drive. */
export const ROOT_DRIVE_SERIAL = 'aleph-root';

/** Port the workload must listen on (as in the reference). */
export const WORKLOAD_PORT = 8080;

/** A drive the guest mounts, identified by its virtio-blk serial (device letters are not stable on microvm). */
export interface GuestMount {
  serial: string;
  mount: string;
  fs: 'squashfs' | 'ext4';
  readOnly: boolean;
}

export type GuestCode =
  | { encoding: 'zip'; zipBase64: string }
  | { encoding: 'squashfs'; serial: string };

export interface GuestNetwork {
  /** Guest IPv4 without mask. */
  ip: string;
  prefixLength: number;
  /** Host side of the tap: the guest's default gateway. */
  gateway: string;
  dnsServers: string[];
}

export interface GuestConfig {
  /** Execution id, used as the guest's hostname. */
  id: string;
  code: GuestCode;
  /**
   * `executable` (default): a relative path inside /opt/code; `.js`/`.mjs`/`.cjs` run with node,
   * anything else is executed. `asgi`: a Python `module:attribute` served on port 8080 by the
   * runtime's ASGI server (runtimes with Python only).
   */
  entrypoint: string;
  interface?: 'asgi' | 'executable' | undefined;
  variables: Record<string, string>;
  volumes: GuestMount[];
  network?: GuestNetwork | undefined;
}

export type HostMessage =
  | { type: 'configure'; config: GuestConfig }
  | { type: 'shutdown'; graceMs: number };

export type GuestMessage =
  | { type: 'hello'; version: string; kernel: string; uptimeMs: number }
  | { type: 'configured'; ok: true }
  | { type: 'configured'; ok: false; error: string }
  | { type: 'ready' }
  | { type: 'log'; stream: 'stdout' | 'stderr'; text: string }
  | { type: 'exited'; code: number | null; signal: string | null }
  | { type: 'halting' };

/** Frames one message. */
export function encodeMessage(message: HostMessage | GuestMessage): string {
  return JSON.stringify(message) + '\n';
}

/**
 * Splits a byte stream into messages. Lines that are not JSON objects with a string `type` are
 * reported to `onGarbage` and skipped: a serial port can deliver noise after a reconnect.
 */
export class LineDecoder<T extends { type: string }> {
  #buffer = '';
  constructor(
    private readonly onMessage: (message: T) => void,
    private readonly onGarbage: (line: string) => void = () => {},
    /** Longest accepted line; a code zip is at most ~14 MB in base64. */
    private readonly maxLineBytes = 32 * 1024 * 1024,
  ) {}

  push(chunk: string): void {
    this.#buffer += chunk;
    let index: number;
    while ((index = this.#buffer.indexOf('\n')) >= 0) {
      const line = this.#buffer.slice(0, index);
      this.#buffer = this.#buffer.slice(index + 1);
      this.#handle(line);
    }
    if (this.#buffer.length > this.maxLineBytes) {
      this.onGarbage(this.#buffer.slice(0, 200));
      this.#buffer = '';
    }
  }

  #handle(line: string): void {
    if (line.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      this.onGarbage(line.slice(0, 200));
      return;
    }
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { type?: unknown }).type === 'string') {
      this.onMessage(parsed as T);
    } else {
      this.onGarbage(line.slice(0, 200));
    }
  }
}
