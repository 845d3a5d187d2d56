import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { firewallRuleset, parsePortForwardMap, portForwardElements, validatePortForwards } from './firewall.ts';

describe('firewall ruleset', () => {
  const rules = firewallRuleset({ table: 'aleph_microvm', tapPrefix: 'vmtap' });
  const lines = rules.split('\n').map((l) => l.trim());

  it('lives in its own table and only matches our taps', () => {
    assert.match(rules, /^\s*table inet aleph_microvm \{/m);
    // `ct status dnat accept` matches only connections our own port-forward map DNATed.
    for (const line of lines.filter((l) => /\b(drop|accept|masquerade)$/.test(l) && !l.startsWith('type') && l !== 'ct status dnat accept')) {
      assert.match(line, /"vmtap\*"|@internet/, line);
    }
  });

  it('keeps guests off the host except for replies, and apart from each other', () => {
    const input = lines.slice(lines.indexOf('chain input {'));
    assert.ok(input.indexOf('iifname "vmtap*" ct state established,related accept') < input.indexOf('iifname "vmtap*" drop'));
    assert.ok(lines.includes('iifname "vmtap*" oifname "vmtap*" drop'));
  });

  it('forwards and masquerades only VMs granted internet access', () => {
    const forward = lines.slice(lines.indexOf('chain forward {'), lines.indexOf('chain postrouting {'));
    assert.ok(forward.indexOf('iifname @internet accept') < forward.lastIndexOf('iifname "vmtap*" drop'));
    assert.ok(lines.includes('iifname @internet oifname != "vmtap*" masquerade'));
  });
});

describe('port forwards', () => {
  const rules = firewallRuleset({ table: 'aleph_microvm', tapPrefix: 'vmtap' });
  const lines = rules.split('\n').map((l) => l.trim());

  it('DNATs local destinations from outside and from the host itself (not loopback)', () => {
    assert.ok(lines.includes('type inet_proto . inet_service : ipv4_addr . inet_service'));
    const dnat = 'fib daddr type local meta l4proto { tcp, udp } dnat ip to meta l4proto . th dport map @portfwd';
    const pre = lines.slice(lines.indexOf('chain prerouting {'));
    assert.equal(pre[1], 'type nat hook prerouting priority -100; policy accept;');
    assert.equal(pre[2], dnat);
    const out = lines.slice(lines.indexOf('chain output {'));
    assert.equal(out[1], 'type nat hook output priority -100; policy accept;');
    assert.equal(out[2], `ip daddr != 127.0.0.0/8 ${dnat}`);
  });

  it('lets DNATed connections through the forward chain before any tap drop', () => {
    const forward = lines.slice(lines.indexOf('chain forward {'), lines.indexOf('chain postrouting {'));
    const accept = forward.indexOf('ct status dnat accept');
    assert.ok(accept > 0);
    assert.ok(forward.findIndex((l) => l.endsWith('drop')) > accept);
  });

  it('renders one map element per protocol, commented with the tap', () => {
    assert.deepEqual(portForwardElements('172.16.4.2', [
      { hostPort: 24022, guestPort: 22, tcp: true, udp: false },
      { hostPort: 24053, guestPort: 53, tcp: true, udp: true },
    ], 'vmtap4'), [
      'tcp . 24022 comment "vmtap4" : 172.16.4.2 . 22',
      'tcp . 24053 comment "vmtap4" : 172.16.4.2 . 53',
      'udp . 24053 comment "vmtap4" : 172.16.4.2 . 53',
    ]);
  });

  it('refuses bad ports, no protocol and a host port used twice', () => {
    assert.throws(() => validatePortForwards([{ hostPort: 0, guestPort: 22, tcp: true, udp: false }]), /between 1 and 65535/);
    assert.throws(() => validatePortForwards([{ hostPort: 2222, guestPort: 70000, tcp: true, udp: false }]), /between 1 and 65535/);
    assert.throws(() => validatePortForwards([{ hostPort: 2222, guestPort: 22, tcp: false, udp: false }]), /neither tcp nor udp/);
    assert.throws(() => validatePortForwards([
      { hostPort: 2222, guestPort: 22, tcp: true, udp: false },
      { hostPort: 2222, guestPort: 23, tcp: true, udp: true },
    ]), /tcp\/2222 is forwarded twice/);
    validatePortForwards([
      { hostPort: 2222, guestPort: 22, tcp: true, udp: false },
      { hostPort: 2222, guestPort: 22, tcp: false, udp: true },
    ]);
  });

  it('reads the map back from nft -j (elements with and without comments)', () => {
    const json = JSON.stringify({ nftables: [{ metainfo: {} }, { map: { name: 'portfwd', elem: [
      [{ elem: { val: { concat: ['tcp', 24022] }, comment: 'vmtap4' } }, { concat: ['172.16.4.2', 22] }],
      [{ concat: ['udp', 24053] }, { concat: ['172.16.5.2', 53] }],
    ] } }] });
    assert.deepEqual(parsePortForwardMap(json), [
      { proto: 'tcp', hostPort: 24022, guestIp: '172.16.4.2', guestPort: 22, comment: 'vmtap4' },
      { proto: 'udp', hostPort: 24053, guestIp: '172.16.5.2', guestPort: 53, comment: undefined },
    ]);
    assert.deepEqual(parsePortForwardMap(JSON.stringify({ nftables: [{ map: { name: 'portfwd' } }] })), []);
  });
});
