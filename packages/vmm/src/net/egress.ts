/**
 * The egress policy of workloads granted `internet`, for both backends: public unicast only.
 * Traffic to any range below is dropped in the forward chain of the backend's nftables table
 * (firewall-rules.ts renders these exact lists as nft sets), together with the host's own
 * addresses (the input chain drops every connection a workload opens to the host) and the
 * subnets the host is directly attached to (its LAN, refreshed from the host's interfaces).
 *
 * Why each range: a workload must not reach what only the host's position in a network can
 * reach — its loopback, its LAN and the private networks behind it (RFC 1918, CGNAT, ULA), the
 * cloud metadata service (link-local 169.254.169.254), translation prefixes that lead back into
 * those (NAT64, IPv4-mapped), and multicast/broadcast/reserved space that no public service uses.
 *
 * One pure table, unit-tested ("egress table"); `egressAllowed` answers for one address with the
 * same lists, so tests and tools agree with the kernel rules by construction.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

export interface EgressRange {
  cidr: string;
  why: string;
}

export const EGRESS_DENY_V4: readonly EgressRange[] = [
  { cidr: '0.0.0.0/8', why: '"this network" (RFC 791)' },
  { cidr: '10.0.0.0/8', why: 'private (RFC 1918)' },
  { cidr: '100.64.0.0/10', why: 'carrier-grade NAT (RFC 6598)' },
  { cidr: '127.0.0.0/8', why: 'loopback' },
  { cidr: '169.254.0.0/16', why: 'link-local, cloud metadata at 169.254.169.254 (RFC 3927)' },
  { cidr: '172.16.0.0/12', why: 'private (RFC 1918)' },
  { cidr: '192.0.0.0/24', why: 'IETF protocol assignments (RFC 6890)' },
  { cidr: '192.0.2.0/24', why: 'documentation TEST-NET-1 (RFC 5737)' },
  { cidr: '192.88.99.0/24', why: 'deprecated 6to4 relay anycast (RFC 7526)' },
  { cidr: '192.168.0.0/16', why: 'private (RFC 1918)' },
  { cidr: '198.18.0.0/15', why: 'benchmarking (RFC 2544)' },
  { cidr: '198.51.100.0/24', why: 'documentation TEST-NET-2 (RFC 5737)' },
  { cidr: '203.0.113.0/24', why: 'documentation TEST-NET-3 (RFC 5737)' },
  { cidr: '224.0.0.0/4', why: 'multicast' },
  { cidr: '240.0.0.0/4', why: 'reserved, and the limited broadcast 255.255.255.255' },
];

export const EGRESS_DENY_V6: readonly EgressRange[] = [
  { cidr: '::/128', why: 'unspecified' },
  { cidr: '::1/128', why: 'loopback' },
  { cidr: '::ffff:0:0/96', why: 'IPv4-mapped (would lead to the IPv4 ranges above)' },
  { cidr: '64:ff9b::/96', why: 'NAT64 well-known prefix (RFC 6052), IPv4 behind a translator' },
  { cidr: '64:ff9b:1::/48', why: 'local-use NAT64 (RFC 8215)' },
  { cidr: '100::/64', why: 'discard-only (RFC 6666)' },
  { cidr: '2001:db8::/32', why: 'documentation (RFC 3849)' },
  { cidr: 'fc00::/7', why: 'unique local, the IPv6 private ranges (RFC 4193)' },
  { cidr: 'fe80::/10', why: 'link-local' },
  { cidr: 'fec0::/10', why: 'deprecated site-local (RFC 3879)' },
  { cidr: 'ff00::/8', why: 'multicast' },
];

function splitCidr(cidr: string): { address: string; prefix: number } {
  const [address, prefix] = cidr.split('/') as [string, string];
  return { address, prefix: Number(prefix) };
}

/**
 * One BlockList per family: node's BlockList also checks an IPv4 address against IPv6 subnets in
 * their IPv4-mapped form, so `::ffff:0:0/96` in a shared list would match every IPv4 address.
 */
function blockList(family: 4 | 6): BlockList {
  const list = new BlockList();
  for (const r of family === 4 ? EGRESS_DENY_V4 : EGRESS_DENY_V6) {
    const { address, prefix } = splitCidr(r.cidr);
    list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  return list;
}

/**
 * True when the policy lets a workload with `internet` open a connection to `address` (a literal
 * IPv4 or IPv6 address), leaving aside the host's own addresses and LAN, which only the host knows.
 */
export function egressAllowed(address: string): boolean {
  if (isIPv4(address)) return !blockList(4).check(address, 'ipv4');
  if (isIPv6(address)) return !blockList(6).check(address, 'ipv6');
  throw new Error(`${JSON.stringify(address.slice(0, 64))} is not an IP address`);
}

/** The network of `address/prefix` in CIDR notation (host bits cleared), for nft set elements. */
export function networkOf(address: string, prefix: number): string {
  if (isIPv4(address)) {
    const value = address.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
    const masked = prefix === 0 ? 0n : (value >> BigInt(32 - prefix)) << BigInt(32 - prefix);
    return `${[24n, 16n, 8n, 0n].map((s) => String((masked >> s) & 255n)).join('.')}/${prefix}`;
  }
  if (!isIPv6(address)) throw new Error(`${JSON.stringify(address.slice(0, 64))} is not an IP address`);
  const [head = '', tail = ''] = address.split('%')[0]!.split('::') as [string, string?];
  const headParts = head ? head.split(':') : [];
  const tailParts = address.includes('::') && tail ? tail.split(':') : [];
  const missing = 8 - headParts.length - tailParts.length;
  const groups = address.includes('::') ? [...headParts, ...Array<string>(missing).fill('0'), ...tailParts] : headParts;
  const value = groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
  const masked = prefix === 0 ? 0n : (value >> BigInt(128 - prefix)) << BigInt(128 - prefix);
  const out: string[] = [];
  for (let i = 7; i >= 0; i--) out.push(((masked >> BigInt(i * 16)) & 0xffffn).toString(16));
  return `${out.join(':')}/${prefix}`;
}

/** nft set bodies (`elements = { ... }`) of the two deny lists. */
export function egressSetElements(family: 4 | 6): string {
  return (family === 4 ? EGRESS_DENY_V4 : EGRESS_DENY_V6).map((r) => r.cidr).join(', ');
}

/**
 * Resolvers workloads with `internet` get unless the operator names others: public ones, since the
 * policy above drops private destinations (a LAN or loopback resolver of the host is unreachable).
 */
export const DEFAULT_DNS_SERVERS: readonly string[] = ['9.9.9.9', '1.1.1.1'];
