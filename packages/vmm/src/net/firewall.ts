/**
 * Isolation and NAT of microVMs with nftables, in a table of our own (`inet aleph_microvm`, so
 * no other rules of the host are touched):
 * - a guest cannot open connections to the host (its tap's `.1` included: the host's API and
 *   every other service stay out of reach); replies to connections the host opened pass;
 * - a guest cannot reach another VM's tap (tenants are isolated from each other);
 * - only VMs whose interface is in the `internet` set are forwarded to other interfaces and
 *   masqueraded; all other forwarded traffic from VM taps is dropped.
 * - port forwards of instances: a host port (tcp or udp) DNATed to a guest's ip:port, for traffic
 *   arriving from outside (prerouting) and for connections the host opens to its own addresses
 *   (output; not 127.0.0.1, which would need route_localnet); DNATed connections pass the
 *   forward chain in both directions.
 * Per-VM state is set/map elements (its tap name, its forwarded ports, commented with the tap
 * name), added at start and removed at stop, so the rules themselves never change while VMs come
 * and go.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import type { PortForward } from '../executor.ts';


export const FIREWALL_TABLE = 'aleph_microvm';

export interface FirewallConfig {
  nftPath: string;
  /** Tap name prefix (the rules match `<prefix>*`). */
  tapPrefix: string;
  /** Table name; tests use their own so they never disturb a running node. */
  table: string;
}

async function nft(config: FirewallConfig, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(config.nftPath, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`nft ${args.join(' ')}: ${(stderr || err.message).trim()}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** The table's rules (pure, unit-tested). */
export function firewallRuleset(config: Pick<FirewallConfig, 'table' | 'tapPrefix'>): string {
  const taps = `"${config.tapPrefix}*"`;
  return `
table inet ${config.table} {
  set internet {
    type ifname
  }
  map portfwd {
    type inet_proto . inet_service : ipv4_addr . inet_service
  }
  chain input {
    type filter hook input priority 0; policy accept;
    iifname ${taps} ct state established,related accept
    iifname ${taps} drop
  }
  chain forward {
    type filter hook forward priority 0; policy accept;
${FORWARD_ACCEPT_RULE}
    iifname ${taps} oifname ${taps} drop
    oifname ${taps} ct state established,related accept
    oifname ${taps} drop
    iifname @internet accept
    iifname ${taps} drop
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    iifname @internet oifname != ${taps} masquerade
  }
${portForwardChains()}
}
`;
}

/** Connections DNATed by our port forwards pass, whatever tap they go to or come from. */
const FORWARD_ACCEPT_RULE = '    ct status dnat accept';

/** The NAT chains of the port forwards (also added on their own to a table of an older version). */
function portForwardChains(): string {
  const dnat = 'fib daddr type local meta l4proto { tcp, udp } dnat ip to meta l4proto . th dport map @portfwd';
  return `  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    ${dnat}
  }
  chain output {
    type nat hook output priority -100; policy accept;
    ip daddr != 127.0.0.0/8 ${dnat}
  }`;
}

/** A map element of `portfwd`: `tcp . 2222 : 172.16.4.2 . 22` (comment: the VM's tap). */
export function portForwardElements(guestIp: string, forwards: readonly PortForward[], comment: string): string[] {
  const elements: string[] = [];
  for (const f of forwards) {
    for (const proto of [f.tcp ? 'tcp' : undefined, f.udp ? 'udp' : undefined]) {
      if (proto) elements.push(`${proto} . ${f.hostPort} comment "${comment}" : ${guestIp} . ${f.guestPort}`);
    }
  }
  return elements;
}

/** Checks port numbers, protocols and duplicate host ports; throws with a clear message. */
export function validatePortForwards(forwards: readonly PortForward[]): void {
  const seen = new Set<string>();
  for (const f of forwards) {
    for (const port of [f.hostPort, f.guestPort]) {
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`port ${port} is not between 1 and 65535`);
    }
    if (!f.tcp && !f.udp) throw new Error(`port forward ${f.hostPort} → ${f.guestPort} has neither tcp nor udp`);
    for (const proto of [f.tcp ? 'tcp' : '', f.udp ? 'udp' : ''].filter(Boolean)) {
      const key = `${proto}/${f.hostPort}`;
      if (seen.has(key)) throw new Error(`host port ${key} is forwarded twice`);
      seen.add(key);
    }
  }
}

/** One element of `nft -j list map`: key [proto, port], value [ip, port], comment. */
export interface PortForwardEntry {
  proto: string;
  hostPort: number;
  guestIp: string;
  guestPort: number;
  comment: string | undefined;
}

/** Parses `nft -j list map inet <table> portfwd` (pure: unit-tested). */
export function parsePortForwardMap(json: string): PortForwardEntry[] {
  const entries: PortForwardEntry[] = [];
  const doc = JSON.parse(json) as { nftables?: Array<{ map?: { elem?: unknown[] } }> };
  for (const item of doc.nftables ?? []) {
    for (const elem of item.map?.elem ?? []) {
      // Each element is [key, value]; a key with a comment is wrapped as { elem: { val, comment } }.
      const [rawKey, rawValue] = elem as [unknown, unknown];
      let key = rawKey as { concat?: unknown[]; elem?: { val: { concat: unknown[] }; comment?: string } };
      let comment: string | undefined;
      if (key.elem) {
        comment = key.elem.comment;
        key = key.elem.val;
      }
      const [proto, hostPort] = (key.concat ?? []) as [string, number];
      const [guestIp, guestPort] = ((rawValue as { concat?: unknown[] }).concat ?? []) as [string, number];
      entries.push({ proto, hostPort, guestIp, guestPort, comment });
    }
  }
  return entries;
}

export class Firewall {
  constructor(readonly config: FirewallConfig) {}

  /** Creates the table when missing (idempotent; several supervisors may share it). */
  async ensure(): Promise<void> {
    try {
      await nft(this.config, ['list', 'table', 'inet', this.config.table]);
      return;
    } catch {
      // missing: create it below
    }
    await nft(this.config, ['-f', '-'], firewallRuleset(this.config));
  }

  /** Adds the port-forward parts to a table created by an older version (no `portfwd` map). */
  async #upgrade(): Promise<void> {
    const t = this.config.table;
    const hasMap = await nft(this.config, ['list', 'map', 'inet', t, 'portfwd']).then(() => true, () => false);
    if (hasMap) return;
    await nft(this.config, ['-f', '-'], `table inet ${t} {
  map portfwd {
    type inet_proto . inet_service : ipv4_addr . inet_service
  }
${portForwardChains()}
}
insert rule inet ${t} forward${FORWARD_ACCEPT_RULE}
`);
  }

  /**
   * DNATs the host ports to the guest (the elements carry the tap name as comment). Fails,
   * adding nothing, when a host port is already forwarded (to another VM).
   */
  async addPortForwards(ifname: string, guestIp: string, forwards: readonly PortForward[]): Promise<void> {
    validatePortForwards(forwards);
    const elements = portForwardElements(guestIp, forwards, ifname);
    if (elements.length === 0) return;
    await this.ensure();
    await this.#upgrade();
    // `create` (unlike `add`) fails on an existing key: two VMs never share a host port.
    await nft(this.config, ['create', 'element', 'inet', this.config.table, 'portfwd', `{ ${elements.join(', ')} }`]).catch((err: Error) => {
      throw new Error(`a forwarded host port is already in use: ${err.message}`);
    });
    await writeFile('/proc/sys/net/ipv4/ip_forward', '1');
  }

  /** The current port forwards (all VMs). */
  async portForwards(): Promise<PortForwardEntry[]> {
    const out = await nft(this.config, ['-j', 'list', 'map', 'inet', this.config.table, 'portfwd']).catch(() => '');
    return out ? parsePortForwardMap(out) : [];
  }

  /** Removes the port forwards of the VM behind `ifname` (by comment) and those to `guestIp`. */
  async removePortForwards(ifname: string, guestIp?: string): Promise<void> {
    await this.removePortForwardsWhere((e) => e.comment === ifname || (guestIp !== undefined && e.guestIp === guestIp));
  }

  /** Removes the port forwards matching `drop` (orphans after a crash). */
  async removePortForwardsWhere(drop: (entry: PortForwardEntry) => boolean): Promise<void> {
    const doomed = (await this.portForwards()).filter(drop);
    if (doomed.length === 0) return;
    const keys = doomed.map((e) => `${e.proto} . ${e.hostPort}`).join(', ');
    await nft(this.config, ['delete', 'element', 'inet', this.config.table, 'portfwd', `{ ${keys} }`]).catch(() => {});
  }

  /** Lets the VM behind `ifname` reach other networks (NAT); enables IPv4 forwarding. */
  async allowInternet(ifname: string): Promise<void> {
    await this.ensure();
    await nft(this.config, ['add', 'element', 'inet', this.config.table, 'internet', `{ "${ifname}" }`]);
    // As the reference does at start; not restored on exit (other VMs may need it).
    await writeFile('/proc/sys/net/ipv4/ip_forward', '1');
  }

  async revokeInternet(ifname: string): Promise<void> {
    await nft(this.config, ['delete', 'element', 'inet', this.config.table, 'internet', `{ "${ifname}" }`]).catch(() => {});
  }

  /** Tap names currently allowed out (for leftover checks). */
  async internetMembers(): Promise<string[]> {
    const out = await nft(this.config, ['list', 'set', 'inet', this.config.table, 'internet']).catch(() => '');
    const elements = /elements = \{([^}]*)\}/.exec(out)?.[1] ?? '';
    return elements.split(',').map((e) => e.trim().replace(/^"|"$/g, '')).filter(Boolean);
  }

  /** Removes the whole table (tests; a node keeps it). */
  async remove(): Promise<void> {
    await nft(this.config, ['delete', 'table', 'inet', this.config.table]).catch(() => {});
  }
}
