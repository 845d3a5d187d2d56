/**
 * The host ↔ guest control protocol of our microVMs.
 *
 * The reference speaks msgpack over vsock (guest-and-network.md §4). This machine has no
 * vhost-vsock (guest-and-network.md §9), so the carrier is a virtio-serial port named `CONTROL_PORT_NAME`, backed on
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

// What the guest's shell scripts (assets/) share with the host's TypeScript: the scripts cannot
// import these, so assets.test.ts checks that each script uses exactly these strings.

/** Kernel arguments the initramfs (assets/initramfs-init.sh) and the runtime init (assets/runtime-init.sh) read. */
export const KERNEL_ARG = {
  /** Boot the initramfs alone, print `PROBE_MARKER` and power off (the accelerator probe). */
  probe: 'aleph.probe=1',
  /** Boot an instance's own disk and its systemd instead of the runtime. */
  instanceMode: 'aleph.mode=instance',
  /** `aleph.root_serial=<serial>`: the root drive's serial (default `ROOT_DRIVE_SERIAL`). */
  rootSerial: 'aleph.root_serial=',
  /** `aleph.bare_init=<serial>`: the benchmark hook that runs a drive's own init instead of the agent. */
  bareInit: 'aleph.bare_init=',
  /** `aleph.prestart=<PrestartKind>`: a warm pool VM starts that language while it waits for a program. */
  prestart: 'aleph.prestart=',
} as const;

/**
 * The language a warm pool VM starts ahead, before any program is known: `node` (Node.js, for
 * `.js`/`.mjs`/`.cjs` entrypoints) or `asgi` (Python with the ASGI server imported). The program
 * that takes the VM is then imported into that waiting process instead of starting a new one.
 * Never for a VM that is snapshotted: every restore would share the started process's random state.
 */
export type PrestartKind = 'node' | 'asgi';
export const PRESTART_KINDS: readonly PrestartKind[] = ['node', 'asgi'];

/** The line the initramfs prints when a probe boot reached userspace. */
export const PROBE_MARKER = 'ALEPH-PROBE-OK';

/** Prefix of every console line of the initramfs; a fatal one continues with ` FATAL: <reason>`. */
export const INITRAMFS_LOG_PREFIX = 'aleph-initramfs:';

/** The runtime's init (the initramfs switches root to it) and the agent bundle it starts. */
export const RUNTIME_INIT_PATH = '/opt/aleph/init';
export const AGENT_BUNDLE_PATH = '/opt/aleph/agent.mjs';

/** The console line of the runtime init when the benchmark hook (`KERNEL_ARG.bareInit`) takes over. */
export const BARE_INIT_MARKER = 'aleph-init: bare init';

/** virtio-blk serial of an instance's seed drive, and the two files on it aleph-instance-init reads. */
export const SEED_DRIVE_SERIAL = 'aleph-seed';
export const SEED_CONF_FILE = 'aleph-instance.conf';
export const SEED_KEYS_FILE = 'aleph-authorized-keys';

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
  /** The VM's IPv6 address in its /124 and the host side as gateway, when the node has an IPv6 range. */
  ipv6?: { ip: string; prefixLength: number; gateway: string } | undefined;
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

/**
 * Sent once after a snapshot restore, before `configure`: every VM restored from one snapshot
 * wakes with the same kernel random state, MAC and (stale) clock. `seed` is base64 of fresh host
 * randomness (32-512 bytes), `timeMs` the host's time when sent, `mac` the restored VM's own.
 */
export interface IdentityRefresh {
  type: 'refresh';
  seed: string;
  timeMs: number;
  mac: string;
}

export type HostMessage =
  | { type: 'configure'; config: GuestConfig }
  | IdentityRefresh
  | { type: 'shutdown'; graceMs: number };

export type GuestMessage =
  | { type: 'hello'; version: string; kernel: string; uptimeMs: number }
  | { type: 'configured'; ok: true }
  | { type: 'configured'; ok: false; error: string }
  | { type: 'ready' }
  | { type: 'refreshed'; ok: true }
  | { type: 'refreshed'; ok: false; error: string }
  | { type: 'log'; stream: 'stdout' | 'stderr'; text: string }
  | { type: 'exited'; code: number | null; signal: string | null }
  | { type: 'halting' }
  /** A pool VM's language started ahead (KERNEL_ARG.prestart) waits for its program, or failed to start. */
  | { type: 'prestarted'; ok: true }
  | { type: 'prestarted'; ok: false; error: string };

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
