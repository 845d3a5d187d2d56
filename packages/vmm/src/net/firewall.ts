/**
 * The workload firewall at run time: one nftables table per backend (rules in
 * firewall-rules.ts), created when missing, brought up to date when an earlier version made it,
 * and per-workload elements added and removed as workloads start and stop. `nft` is run by its
 * absolute path (a bare name is resolved in the distribution's directories, never through PATH).
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import type { PortForward } from '../executor.ts';
import { requireTool } from '../host/tools.ts';
import { networkOf } from './egress.ts';
import {
  parseIpv6Sources,
  parsePortForwardMap,
  parseTableObjects,
  portForwardElements,
  rulesMarker,
  firewallRuleset,
  upgradeTransaction,
  validatePortForwards,
  type PortForwardEntry,
  type RulesetConfig,
} from './firewall-rules.ts';

export interface FirewallConfig extends RulesetConfig {
  /** `nft`, as an absolute path or a bare name looked up in /usr/sbin, /usr/bin, /sbin, /bin. */
  nftPath: string;
}

function resolveNft(path: string): string {
  return path.startsWith('/') ? path : requireTool(path, 'nftables');
}

async function nft(config: FirewallConfig, args: string[], input?: string): Promise<string> {
  const file = resolveNft(config.nftPath);
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`nft ${args.join(' ')}: ${(stderr || err.message).trim()}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/**
 * The subnets this host is attached to, by family, as nft interval elements: its LAN, which a
 * workload with internet must not reach. Workload interfaces (`prefix*`), loopback and link-local
 * are left out (the deny lists hold those).
 */
export function hostSubnets(prefix: string, interfaces = networkInterfaces()): { v4: string[]; v6: string[] } {
  const v4 = new Set<string>();
  const v6 = new Set<string>();
  for (const [name, addrs] of Object.entries(interfaces)) {
    if (name.startsWith(prefix)) continue;
    for (const a of addrs ?? []) {
      if (a.internal || !a.cidr) continue;
      const bits = Number(a.cidr.split('/')[1]);
      try {
        if (a.family === 'IPv4') v4.add(networkOf(a.address, bits));
        else if (!/^fe[89ab]/i.test(a.address)) v6.add(networkOf(a.address, bits));
      } catch {
        // an address form we do not parse (none expected from the kernel): not a LAN to add
      }
    }
  }
  return { v4: [...v4], v6: [...v6] };
}

export class Firewall {
  constructor(readonly config: FirewallConfig) {}

  /**
   * Creates the table when missing, or replaces its rules when an earlier version made it
   * (idempotent; several supervisors may share a table and call this concurrently).
   */
  async ensure(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const listing = await nft(this.config, ['-j', 'list', 'table', 'inet', this.config.table]).catch(() => undefined);
      try {
        if (listing === undefined) {
          await nft(this.config, ['-f', '-'], firewallRuleset(this.config));
          return;
        }
        const existing = parseTableObjects(listing);
        if (existing.sets.includes(rulesMarker(this.config))) return;
        await nft(this.config, ['-f', '-'], upgradeTransaction(this.config, existing));
        return;
      } catch (err) {
        // Another supervisor created or upgraded the table between our listing and our change.
        if (attempt >= 2) throw err;
      }
    }
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

  /**
   * Lets the workload behind `ifname` reach public unicast addresses (NAT); refreshes the host's
   * subnets first, so a LAN joined since the last start is covered; enables IPv4 forwarding.
   */
  async allowInternet(ifname: string, ipv6Network?: string): Promise<void> {
    await this.ensure();
    await this.refreshHostSubnets();
    if (ipv6Network) {
      // The only source addresses its IPv6 traffic may carry (routed, not translated).
      await nft(this.config, ['add', 'element', 'inet', this.config.table, 'ipv6_src', `{ "${ifname}" . ${ipv6Network} }`]);
      // As aleph-vm does when IPv6 is configured (IPV6_FORWARDING_ENABLED); not restored on exit.
      await writeFile('/proc/sys/net/ipv6/conf/all/forwarding', '1');
    }
    await nft(this.config, ['add', 'element', 'inet', this.config.table, 'internet', `{ "${ifname}" }`]);
    // As the reference does at start; not restored on exit (other workloads may need it).
    await writeFile('/proc/sys/net/ipv4/ip_forward', '1');
  }

  /** Replaces the `host_nets4/6` elements with the host's current subnets, atomically. */
  async refreshHostSubnets(): Promise<void> {
    const { v4, v6 } = hostSubnets(this.config.tapPrefix);
    const t = `inet ${this.config.table}`;
    const lines = [`flush set ${t} host_nets4`, `flush set ${t} host_nets6`];
    if (v4.length > 0) lines.push(`add element ${t} host_nets4 { ${v4.join(', ')} }`);
    if (v6.length > 0) lines.push(`add element ${t} host_nets6 { ${v6.join(', ')} }`);
    await nft(this.config, ['-f', '-'], `${lines.join('\n')}\n`);
  }

  async revokeInternet(ifname: string): Promise<void> {
    await nft(this.config, ['delete', 'element', 'inet', this.config.table, 'internet', `{ "${ifname}" }`]).catch(() => {});
    const sources = (await this.ipv6Sources()).filter((s) => s.ifname === ifname);
    if (sources.length === 0) return;
    const elements = sources.map((s) => `"${s.ifname}" . ${s.network}`).join(', ');
    await nft(this.config, ['delete', 'element', 'inet', this.config.table, 'ipv6_src', `{ ${elements} }`]).catch(() => {});
  }

  /** The IPv6 source ranges allowed per interface (for cleanup and leftover checks). */
  async ipv6Sources(): Promise<{ ifname: string; network: string }[]> {
    const out = await nft(this.config, ['-j', 'list', 'set', 'inet', this.config.table, 'ipv6_src']).catch(() => '');
    return out ? parseIpv6Sources(out) : [];
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
