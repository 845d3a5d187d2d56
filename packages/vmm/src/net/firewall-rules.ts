/**
 * The nftables ruleset that isolates workloads (pure, unit-tested), one table per backend so no
 * other rules of the host are touched: `inet aleph_microvm` for microVM taps, `inet
 * aleph_process_<scope>` for process-workload veths. The rules are the same for both backends:
 *
 * - a workload cannot open connections to the host (its gateway address included: the host's API
 *   and every other service stay out of reach); replies to connections the host opened pass, and
 *   IPv6 neighbour discovery on the link (hop limit 255: never routed), without which no IPv6
 *   packet finds the guest or its gateway (ARP is not filtered by `inet` tables);
 * - a workload cannot reach another workload's interface (tenants are isolated from each other);
 * - only workloads whose interface is in the `internet` set are forwarded to other interfaces and
 *   masqueraded, and only to public unicast destinations: the egress deny lists (egress.ts), the
 *   subnets the host is attached to (`host_nets4/6`, refreshed from the host's interfaces) and
 *   local/broadcast/multicast destinations are dropped; all other forwarded traffic is dropped;
 * - IPv4 leaves masqueraded; IPv6 is routed as it is (each VM has its own /124 of the node's
 *   routed range, net/ipv6.ts), so a workload may only send from its own /124 (`ipv6_src`: its
 *   interface and /124): a guest cannot take another tenant's or the host's addresses;
 * - (microVM instances) port forwards: a host port DNATed to a guest's ip:port, for traffic
 *   arriving from outside (prerouting) and for connections the host opens to its own addresses
 *   (output; not 127.0.0.1, which would need route_localnet); DNATed connections pass the
 *   forward chain in both directions.
 *
 * Per-workload state is set/map elements (its interface name, its forwarded ports), added at
 * start and removed at stop, so the rules never change while workloads come and go. A marker set
 * named after a hash of the rules (`rules_<hash>`) tells the runtime whether a table created by
 * an earlier version must have its chains replaced.
 */
import { createHash } from 'node:crypto';
import type { PortForward } from '../executor.ts';
import { egressSetElements } from './egress.ts';

export const FIREWALL_TABLE = 'aleph_microvm';

export interface RulesetConfig {
  /** Table name; tests use their own so they never disturb a running node. */
  table: string;
  /** Name prefix of the workload interfaces (taps or veths): the rules match `<prefix>*`. */
  tapPrefix: string;
  /** The DNAT map and chains of instance port forwards (microVM); default true. */
  portForwards?: boolean;
}

/** Sets that hold live state (workload interfaces, forwards, the host's subnets): kept on upgrade. */
export const STATE_SETS = ['internet', 'portfwd', 'host_nets4', 'host_nets6', 'ipv6_src'] as const;

/** Connections DNATed by our port forwards pass, whatever interface they go to or come from. */
const FORWARD_ACCEPT_RULE = 'ct status dnat accept';

function chains(config: RulesetConfig): string {
  const taps = `"${config.tapPrefix}*"`;
  const dnat = 'fib daddr type local meta l4proto { tcp, udp } dnat ip to meta l4proto . th dport map @portfwd';
  const portForwardChains = config.portForwards === false ? '' : `
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    ${dnat}
  }
  chain output {
    type nat hook output priority -100; policy accept;
    ip daddr != 127.0.0.0/8 ${dnat}
  }`;
  return `  chain input {
    type filter hook input priority 0; policy accept;
    iifname ${taps} ct state established,related accept
    iifname ${taps} icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } ip6 hoplimit 255 accept
    iifname ${taps} drop
  }
  chain forward {
    type filter hook forward priority 0; policy accept;
${config.portForwards === false ? '' : `    ${FORWARD_ACCEPT_RULE}\n`}    iifname ${taps} oifname ${taps} drop
    oifname ${taps} ct state established,related accept
    oifname ${taps} drop
    iifname @internet ip daddr @egress_deny4 drop
    iifname @internet ip6 daddr @egress_deny6 drop
    iifname @internet ip daddr @host_nets4 drop
    iifname @internet ip6 daddr @host_nets6 drop
    iifname @internet fib daddr type { local, broadcast, anycast, multicast } drop
    iifname @internet meta nfproto ipv6 iifname . ip6 saddr != @ipv6_src drop
    iifname @internet accept
    iifname ${taps} drop
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    iifname @internet oifname != ${taps} meta nfproto ipv4 masquerade
  }${portForwardChains}`;
}

/** Name of the marker set of this exact ruleset (changes whenever the rules change). */
export function rulesMarker(config: RulesetConfig): string {
  const text = `${chains(config)}\n${egressSetElements(4)}\n${egressSetElements(6)}`;
  return `rules_${createHash('sha256').update(text).digest('hex').slice(0, 12)}`;
}

/** The whole table (pure). */
export function firewallRuleset(config: RulesetConfig): string {
  const portfwd = config.portForwards === false ? '' : `
  map portfwd {
    type inet_proto . inet_service : ipv4_addr . inet_service
  }`;
  return `
table inet ${config.table} {
  set internet {
    type ifname
  }
  set ${rulesMarker(config)} {
    type inet_service
  }
  set egress_deny4 {
    type ipv4_addr
    flags interval
    elements = { ${egressSetElements(4)} }
  }
  set egress_deny6 {
    type ipv6_addr
    flags interval
    elements = { ${egressSetElements(6)} }
  }
  set host_nets4 {
    type ipv4_addr
    flags interval
    auto-merge
  }
  set host_nets6 {
    type ipv6_addr
    flags interval
    auto-merge
  }
  set ipv6_src {
    type ifname . ipv6_addr
    flags interval
  }${portfwd}
${chains(config)}
}
`;
}

/**
 * The transaction that brings a table of an earlier version to this ruleset: its chains and
 * non-state sets are deleted and everything is declared again, in one atomic `nft -f`, so the
 * live elements (interfaces with internet, port forwards) are kept and no packet ever sees a
 * half-built table.
 */
export function upgradeTransaction(config: RulesetConfig, existing: { chains: string[]; sets: string[] }): string {
  const t = `inet ${config.table}`;
  const lines: string[] = [];
  for (const chain of existing.chains) lines.push(`flush chain ${t} ${chain}`, `delete chain ${t} ${chain}`);
  for (const set of existing.sets) if (!(STATE_SETS as readonly string[]).includes(set)) lines.push(`delete set ${t} ${set}`);
  return `${lines.join('\n')}\n${firewallRuleset(config)}`;
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

/** Chain and set names of a table, from `nft -j list table` (pure). */
export function parseTableObjects(json: string): { chains: string[]; sets: string[] } {
  const doc = JSON.parse(json) as { nftables?: Array<{ chain?: { name: string }; set?: { name: string }; map?: { name: string } }> };
  const chains: string[] = [];
  const sets: string[] = [];
  for (const item of doc.nftables ?? []) {
    if (item.chain) chains.push(item.chain.name);
    if (item.set) sets.push(item.set.name);
    if (item.map) sets.push(item.map.name);
  }
  return { chains, sets };
}

/** Parses `nft -j list set inet <table> ipv6_src` (pure): `ifname . prefix` elements. */
export function parseIpv6Sources(json: string): { ifname: string; network: string }[] {
  const out: { ifname: string; network: string }[] = [];
  const doc = JSON.parse(json) as { nftables?: Array<{ set?: { elem?: unknown[] } }> };
  for (const item of doc.nftables ?? []) {
    for (const elem of item.set?.elem ?? []) {
      const [ifname, addr] = ((elem as { concat?: unknown[] }).concat ?? []) as [unknown, unknown];
      const prefix = (addr as { prefix?: { addr: string; len: number } } | undefined)?.prefix;
      if (typeof ifname !== 'string') continue;
      if (prefix) out.push({ ifname, network: `${prefix.addr}/${prefix.len}` });
      else if (typeof addr === 'string') out.push({ ifname, network: `${addr}/128` });
    }
  }
  return out;
}
