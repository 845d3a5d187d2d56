/**
 * IPv6 for workloads (pure, unit-tested): the node's range (the operator's routed prefix, e.g. a
 * /64) is cut into /124s and VM number `n` (its tap lease) gets the n-th one, as aleph-vm's
 * dynamic allocator slices IPV6_ADDRESS_POOL into IPV6_SUBNET_PREFIX subnets. Lease numbers
 * start above 0, so the range's first /124 is never handed out (aleph-vm keeps it for the host).
 *
 * Inside a VM's /124 the host side of the tap takes `+1` and the guest `+2`, the same layout as
 * the IPv4 /24 (tap.ts), so the gateway is never the subnet-router anycast address (`+0`).
 *
 * The addresses are routed, not translated: the operator routes the range to this host (or
 * proxies neighbour discovery for it), and the firewall forwards guest traffic to public unicast
 * destinations only (firewall-rules.ts), without masquerading.
 */
import { isIPv6 } from 'node:net';

/** Every VM gets a /124 (16 addresses), as in aleph-vm (IPV6_SUBNET_PREFIX). */
export const IPV6_SUBNET_PREFIX = 124;

export interface Ipv6Lease {
  /** The VM's /124 in CIDR notation, e.g. `2a01:4f8:1:2::40/124`. */
  network: string;
  /** The host side of the tap: the guest's IPv6 gateway. */
  hostIp: string;
  /** The guest's own address. */
  guestIp: string;
  prefixLength: number;
}

/** The 128-bit value of an IPv6 address literal (no zone). */
export function parseIpv6(address: string): bigint {
  if (!isIPv6(address) || address.includes('%')) throw new Error(`${JSON.stringify(address.slice(0, 64))} is not an IPv6 address`);
  let text = address;
  // An embedded IPv4 tail (`::ffff:1.2.3.4`) becomes two hex groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::') as [string, string?];
  const headParts = head ? head.split(':') : [];
  const tailParts = tail ? tail.split(':') : [];
  const groups = tail === undefined ? headParts : [...headParts, ...Array<string>(8 - headParts.length - tailParts.length).fill('0'), ...tailParts];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** The canonical text form (RFC 5952: lower case, the longest run of zero groups as `::`). */
export function formatIpv6(value: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** A range in CIDR notation: its first address (host bits cleared) and prefix length. */
export function parseIpv6Range(range: string): { base: bigint; prefixLength: number } {
  const [address, lengthText, ...rest] = range.split('/');
  const prefixLength = Number(lengthText);
  if (!address || rest.length > 0 || !/^\d{1,3}$/.test(lengthText ?? '') || prefixLength > IPV6_SUBNET_PREFIX - 2) {
    throw new Error(`IPv6 range ${JSON.stringify(range.slice(0, 64))} must be a CIDR of at most /${IPV6_SUBNET_PREFIX - 2} (a /64 routed to this host, typically)`);
  }
  const shift = BigInt(128 - prefixLength);
  return { base: (parseIpv6(address) >> shift) << shift, prefixLength };
}

/** How many /124s the range holds (capped: lease numbers are small integers anyway). */
export function ipv6SubnetCount(range: string): number {
  const { prefixLength } = parseIpv6Range(range);
  return Number(2n ** BigInt(Math.min(IPV6_SUBNET_PREFIX - prefixLength, 30)));
}

/** The /124 of VM number `id` in `range` and its two addresses (pure). */
export function ipv6Lease(range: string, id: number): Ipv6Lease {
  const { base } = parseIpv6Range(range);
  if (!Number.isInteger(id) || id < 1 || id >= ipv6SubnetCount(range)) throw new Error(`VM number ${id} is outside the IPv6 range ${range}`);
  const network = base + (BigInt(id) << BigInt(128 - IPV6_SUBNET_PREFIX));
  return {
    network: `${formatIpv6(network)}/${IPV6_SUBNET_PREFIX}`,
    hostIp: formatIpv6(network + 1n),
    guestIp: formatIpv6(network + 2n),
    prefixLength: IPV6_SUBNET_PREFIX,
  };
}
