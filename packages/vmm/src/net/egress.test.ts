import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EGRESS_DENY_V4, EGRESS_DENY_V6, egressAllowed, egressSetElements, networkOf } from './egress.ts';

/** The egress table: each destination a workload with `internet` may (true) or may not reach. */
const TABLE: [string, boolean, string][] = [
  ['0.0.0.0', false, 'this network'],
  ['0.255.255.255', false, 'this network'],
  ['10.0.0.1', false, 'RFC 1918'],
  ['10.213.4.1', false, 'a process workload gateway'],
  ['100.64.0.1', false, 'CGNAT'],
  ['100.127.255.254', false, 'CGNAT'],
  ['127.0.0.1', false, 'loopback'],
  ['127.53.0.1', false, 'loopback'],
  ['169.254.169.254', false, 'cloud metadata'],
  ['172.16.0.1', false, 'RFC 1918, the microVM tap pool'],
  ['172.31.255.255', false, 'RFC 1918'],
  ['192.0.0.170', false, 'IETF'],
  ['192.0.2.1', false, 'TEST-NET-1'],
  ['192.168.1.1', false, 'a home router'],
  ['198.18.0.1', false, 'benchmarking'],
  ['198.19.255.255', false, 'benchmarking'],
  ['198.51.100.7', false, 'TEST-NET-2'],
  ['203.0.113.9', false, 'TEST-NET-3'],
  ['224.0.0.251', false, 'mDNS multicast'],
  ['239.255.255.250', false, 'SSDP multicast'],
  ['240.0.0.1', false, 'reserved'],
  ['255.255.255.255', false, 'broadcast'],
  ['1.1.1.1', true, 'a public resolver'],
  ['8.8.4.4', true, 'a public resolver'],
  ['9.255.255.255', true, 'just below 10/8'],
  ['11.0.0.1', true, 'just above 10/8'],
  ['100.63.255.255', true, 'just below CGNAT'],
  ['100.128.0.0', true, 'just above CGNAT'],
  ['172.15.255.255', true, 'just below 172.16/12'],
  ['172.32.0.0', true, 'just above 172.16/12'],
  ['169.253.255.255', true, 'just below link-local'],
  ['192.167.255.255', true, 'just below 192.168/16'],
  ['223.255.255.255', true, 'last unicast below multicast'],
  ['::', false, 'unspecified'],
  ['::1', false, 'loopback'],
  ['::ffff:10.0.0.1', false, 'IPv4-mapped private'],
  ['::ffff:8.8.8.8', false, 'IPv4-mapped, never routed as such'],
  ['64:ff9b::a00:1', false, 'NAT64 of 10.0.0.1'],
  ['64:ff9b:1::1', false, 'local-use NAT64'],
  ['100::1', false, 'discard'],
  ['2001:db8::1', false, 'documentation'],
  ['fc00::1', false, 'ULA'],
  ['fd12:3456::1', false, 'ULA'],
  ['fe80::1', false, 'link-local'],
  ['febf::1', false, 'link-local'],
  ['fec0::1', false, 'site-local'],
  ['ff02::1', false, 'multicast'],
  ['2606:4700:4700::1111', true, 'a public resolver'],
  ['2a01:4f8::1', true, 'global unicast'],
  ['2001:db9::1', true, 'just above documentation'],
];

describe('egress table', () => {
  for (const [address, allowed, why] of TABLE) {
    it(`${address} ${allowed ? 'is reachable' : 'is dropped'} (${why})`, () => {
      assert.equal(egressAllowed(address), allowed);
    });
  }

  it('covers every range the policy names, IPv4 and IPv6', () => {
    const v4 = new Set(EGRESS_DENY_V4.map((r) => r.cidr));
    for (const cidr of ['0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24', '192.0.2.0/24', '192.168.0.0/16', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '224.0.0.0/4', '240.0.0.0/4']) {
      assert.ok(v4.has(cidr), cidr);
    }
    const v6 = new Set(EGRESS_DENY_V6.map((r) => r.cidr));
    for (const cidr of ['::/128', '::1/128', '::ffff:0:0/96', '64:ff9b::/96', '100::/64', '2001:db8::/32', 'fc00::/7', 'fe80::/10', 'ff00::/8']) assert.ok(v6.has(cidr), cidr);
    for (const r of [...EGRESS_DENY_V4, ...EGRESS_DENY_V6]) assert.ok(r.why.length > 0, r.cidr);
  });

  it('lists each range as it is written in the nft sets, networks with no host bits', () => {
    for (const r of [...EGRESS_DENY_V4, ...EGRESS_DENY_V6]) {
      const [address, prefix] = r.cidr.split('/') as [string, string];
      const bits = address.includes(':') ? 128 : 32;
      assert.equal(egressAllowed(address), false, r.cidr);
      // nft refuses an interval whose address has host bits set: masking must change nothing.
      assert.equal(networkOf(address, Number(prefix)).split('/')[0], networkOf(address, bits).split('/')[0], r.cidr);
    }
    assert.equal(egressSetElements(4).split(', ').length, EGRESS_DENY_V4.length);
    assert.equal(egressSetElements(6).split(', ').length, EGRESS_DENY_V6.length);
  });

  it('computes the network of a host address (the host LAN set)', () => {
    assert.equal(networkOf('192.168.1.77', 24), '192.168.1.0/24');
    assert.equal(networkOf('203.0.113.130', 26), '203.0.113.128/26');
    assert.equal(networkOf('10.1.2.3', 32), '10.1.2.3/32');
    assert.equal(networkOf('2a01:4f8:c17:1234::1', 64), '2a01:4f8:c17:1234:0:0:0:0/64');
    assert.equal(networkOf('fe80::1%eth0', 64), 'fe80:0:0:0:0:0:0:0/64');
    assert.throws(() => egressAllowed('not-an-ip'), /not an IP address/);
  });
});
