import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatIpv6, ipv6Lease, ipv6SubnetCount, parseIpv6, parseIpv6Range } from './ipv6.ts';

describe('IPv6 leases', () => {
  it('gives VM n the n-th /124 of the range, host +1, guest +2 (aleph-vm slices the pool the same way)', () => {
    assert.deepEqual(ipv6Lease('2a01:4f8:10:20::/64', 4), { network: '2a01:4f8:10:20::40/124', hostIp: '2a01:4f8:10:20::41', guestIp: '2a01:4f8:10:20::42', prefixLength: 124 });
    assert.equal(ipv6Lease('2a01:4f8:10:20::/64', 300).network, '2a01:4f8:10:20::12c0/124');
    // Host bits of the configured range are ignored.
    assert.equal(ipv6Lease('2a01:4f8:10:20::1234/64', 1).guestIp, '2a01:4f8:10:20::12');
  });

  it('refuses numbers outside the range, the first /124 and ranges too small to split', () => {
    assert.throws(() => ipv6Lease('2a01:4f8::/120', 16), /outside the IPv6 range/);
    assert.throws(() => ipv6Lease('2a01:4f8::/64', 0), /outside the IPv6 range/);
    assert.equal(ipv6SubnetCount('2a01:4f8::/120'), 16);
    assert.throws(() => parseIpv6Range('2a01:4f8::/123'), /at most \/122/);
    assert.throws(() => parseIpv6Range('2a01:4f8::'), /CIDR/);
    assert.throws(() => parseIpv6Range('10.0.0.0/8'), /not an IPv6 address/);
    assert.throws(() => parseIpv6Range('fe80::1%eth0/64'), /not an IPv6 address/);
  });

  it('parses and prints addresses canonically (RFC 5952)', () => {
    for (const [input, out] of [
      ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['::', '::'],
      ['::1', '::1'],
      ['1::', '1::'],
      ['::ffff:1.2.3.4', '::ffff:102:304'],
      ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
      ['1:0:3:4:5:6:7:8', '1:0:3:4:5:6:7:8'],
    ] as const) assert.equal(formatIpv6(parseIpv6(input)), out, input);
  });
});
