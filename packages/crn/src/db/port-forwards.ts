/**
 * Host ports forwarded to instances (guest-and-network.md §8.5), stored in the CRN's SQLite so that a
 * restarted instance (or CRN) keeps the ports its owner already knows. A host port is unique
 * among active rows (a partial unique index enforces it); released mappings keep their row with
 * `deleted_at` for the record and are pruned after a while.
 *
 * New host ports are the lowest ones from `start` that no active row holds, that no nftables DNAT
 * of the host forwards already (another CRN on the same host, a VM of a previous run) and that pass
 * a bind test (TCP and UDP on 0.0.0.0), so a port some host service listens on is never taken.
 */
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type Database from 'better-sqlite3';
import { findTool, type PortForward } from '@aleph-nodes/vmm';
import { CRN_ERRORS } from '../errors.ts';

export interface PortProtocols {
  tcp: boolean;
  udp: boolean;
}

/** Guest port → protocols wanted by the owner (22/tcp included by the caller). */
export type DesiredPorts = Map<number, PortProtocols>;

export interface PortRange {
  start: number;
  end: number;
}

/** Whether nothing on the host holds `port`, for TCP and for UDP. */
export type PortProbe = (port: number) => Promise<boolean>;

/** Host ports some nftables rule or map already forwards; empty when nft cannot be read. */
export type ForwardedPorts = () => Promise<Set<number>>;

/** Released rows older than this are deleted (they only document past mappings). */
const HISTORY_DAYS = 30;

interface Row {
  vm_hash: string;
  vm_port: number;
  host_port: number;
  tcp: number;
  udp: number;
}

function canBind(port: number, kind: 'tcp' | 'udp'): Promise<boolean> {
  return new Promise((resolve) => {
    if (kind === 'tcp') {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen({ port, host: '0.0.0.0', exclusive: true }, () => server.close(() => resolve(true)));
    } else {
      const socket = createSocket('udp4');
      socket.once('error', () => {
        socket.close();
        resolve(false);
      });
      socket.bind({ port, address: '0.0.0.0', exclusive: true }, () => socket.close(() => resolve(true)));
    }
  });
}

/** The real bind test: a port is free when both a TCP and a UDP socket can bind it. */
export const hostPortFree: PortProbe = async (port) => (await canBind(port, 'tcp')) && (await canBind(port, 'udp'));

/**
 * Destination ports of the host's nftables ruleset that are forwarded: map elements keyed
 * `tcp . <port>` (the microvm executor's `portfwd` map) and `dport <port> ... dnat` rules.
 */
export function parseForwardedPorts(ruleset: string): Set<number> {
  const ports = new Set<number>();
  for (const m of ruleset.matchAll(/\b(?:tcp|udp) \. (\d+)(?: comment "[^"]*")? : /g)) ports.add(Number(m[1]));
  for (const line of ruleset.split('\n')) {
    if (!/\bdnat\b/.test(line)) continue;
    for (const m of line.matchAll(/\bdport (\d+)\b/g)) ports.add(Number(m[1]));
  }
  return ports;
}

/**
 * The real reader: `nft list ruleset` (needs CAP_NET_ADMIN, as the microvm executor does). The
 * tool runs as root, so it is found in the distribution's directories only, never through PATH;
 * without it there is no nftables ruleset to read.
 */
export const nftForwardedPorts: ForwardedPorts = () =>
  new Promise((resolve) => {
    const nft = findTool('nft');
    if (!nft) return resolve(new Set());
    execFile(nft, ['list', 'ruleset'], { timeout: 10_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout) => resolve(err ? new Set() : parseForwardedPorts(stdout)));
  });

function toForward(r: Row): PortForward {
  return { guestPort: r.vm_port, hostPort: r.host_port, tcp: r.tcp === 1, udp: r.udp === 1 };
}

export class PortForwardTable {
  /** Assignments run one at a time: a port passing the bind test is inserted before the next test. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: Database.Database,
    private readonly range: PortRange,
    private readonly probe: PortProbe = hostPortFree,
    private readonly forwarded: ForwardedPorts = nftForwardedPorts,
  ) {
    if (!(range.start >= 1 && range.end <= 65_535 && range.start <= range.end)) {
      throw new RangeError(`port forward range ${range.start}-${range.end} is not a valid range of ports`);
    }
    db.exec(`CREATE TABLE IF NOT EXISTS port_forwards (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      vm_hash TEXT NOT NULL,
      vm_port INTEGER NOT NULL,
      host_port INTEGER NOT NULL,
      tcp INTEGER NOT NULL,
      udp INTEGER NOT NULL,
      created_at TEXT NOT NULL,
      deleted_at TEXT
    )`);
    db.exec('CREATE UNIQUE INDEX IF NOT EXISTS port_forwards_host_active ON port_forwards (host_port) WHERE deleted_at IS NULL');
    db.exec('CREATE UNIQUE INDEX IF NOT EXISTS port_forwards_vm_active ON port_forwards (vm_hash, vm_port) WHERE deleted_at IS NULL');
    const cutoff = new Date(Date.now() - HISTORY_DAYS * 86_400_000).toISOString();
    db.prepare('DELETE FROM port_forwards WHERE deleted_at IS NOT NULL AND deleted_at < ?').run(cutoff);
  }

  /** The active mappings of one instance, by guest port. */
  active(vmHash: string): PortForward[] {
    const rows = this.db.prepare('SELECT * FROM port_forwards WHERE vm_hash = ? AND deleted_at IS NULL ORDER BY vm_port').all(vmHash) as Row[];
    return rows.map(toForward);
  }

  /** Every instance's active mappings (for tests and operators). */
  allActive(): (PortForward & { vmHash: string })[] {
    const rows = this.db.prepare('SELECT * FROM port_forwards WHERE deleted_at IS NULL ORDER BY host_port').all() as Row[];
    return rows.map((r) => ({ vmHash: r.vm_hash, ...toForward(r) }));
  }

  /**
   * Makes the active mappings of `vmHash` match `desired`: guest ports already mapped keep their
   * host port while it still passes the bind test, new ones get the lowest free host port, and
   * guest ports no longer wanted are released. Run it while the instance is not running (its
   * forwards are not yet installed, so its own ports pass the bind test).
   */
  assign(vmHash: string, desired: DesiredPorts): Promise<PortForward[]> {
    const run = this.#queue.then(() => this.#assign(vmHash, desired));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #assign(vmHash: string, desired: DesiredPorts): Promise<PortForward[]> {
    const now = (): string => new Date().toISOString();
    const release = this.db.prepare('UPDATE port_forwards SET deleted_at = ? WHERE vm_hash = ? AND vm_port = ? AND deleted_at IS NULL');
    // The instance is not running: none of the forwards on the host now are its own.
    const forwarded = await this.forwarded();
    for (const current of this.active(vmHash)) {
      const wanted = desired.get(current.guestPort);
      if (!wanted) {
        release.run(now(), vmHash, current.guestPort);
        continue;
      }
      if (!forwarded.has(current.hostPort) && (await this.probe(current.hostPort))) {
        this.db.prepare('UPDATE port_forwards SET tcp = ?, udp = ? WHERE vm_hash = ? AND vm_port = ? AND deleted_at IS NULL').run(wanted.tcp ? 1 : 0, wanted.udp ? 1 : 0, vmHash, current.guestPort);
      } else {
        // Something on the host took the port while the instance was away: it gets a new one.
        release.run(now(), vmHash, current.guestPort);
      }
    }
    const mapped = new Set(this.active(vmHash).map((f) => f.guestPort));
    const insert = this.db.prepare('INSERT INTO port_forwards (vm_hash, vm_port, host_port, tcp, udp, created_at) VALUES (?, ?, ?, ?, ?, ?)');
    for (const [guestPort, protocols] of [...desired.entries()].sort((a, b) => a[0] - b[0])) {
      if (mapped.has(guestPort)) continue;
      const hostPort = await this.#freeHostPort(forwarded);
      insert.run(vmHash, guestPort, hostPort, protocols.tcp ? 1 : 0, protocols.udp ? 1 : 0, now());
    }
    return this.active(vmHash);
  }

  async #freeHostPort(forwarded: Set<number>): Promise<number> {
    const taken = new Set([...this.allActive().map((f) => f.hostPort), ...forwarded]);
    for (let port = this.range.start; port <= this.range.end; port++) {
      if (taken.has(port)) continue;
      if (await this.probe(port)) return port;
    }
    throw CRN_ERRORS.error('INSUFFICIENT_CAPACITY', `Insufficient capacity: no free host port for a port forward between ${this.range.start} and ${this.range.end}`);
  }

  /** Releases every mapping of `vmHash` (deallocation, forget, erase). */
  release(vmHash: string): void {
    this.db.prepare('UPDATE port_forwards SET deleted_at = ? WHERE vm_hash = ? AND deleted_at IS NULL').run(new Date().toISOString(), vmHash);
  }
}
