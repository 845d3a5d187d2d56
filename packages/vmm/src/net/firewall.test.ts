import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hostSubnets } from './firewall.ts';
import { firewallRuleset, parseIpv6Sources, parsePortForwardMap, parseTableObjects, portForwardElements, rulesMarker, upgradeTransaction, validatePortForwards } from './firewall-rules.ts';
import { EGRESS_DENY_V4, EGRESS_DENY_V6 } from './egress.ts';

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
    // IPv4 only: IPv6 is routed from the VM's own /124, never translated.
    assert.ok(lines.includes('iifname @internet oifname != "vmtap*" meta nfproto ipv4 masquerade'));
  });

  it('lets internet workloads reach public unicast only: every egress drop comes before the accept', () => {
    const forward = lines.slice(lines.indexOf('chain forward {'), lines.indexOf('chain postrouting {'));
    const accept = forward.indexOf('iifname @internet accept');
    for (const rule of [
      'iifname @internet ip daddr @egress_deny4 drop',
      'iifname @internet ip6 daddr @egress_deny6 drop',
      'iifname @internet ip daddr @host_nets4 drop',
      'iifname @internet ip6 daddr @host_nets6 drop',
      'iifname @internet fib daddr type { local, broadcast, anycast, multicast } drop',
      // A guest sends IPv6 from its own /124 only (no spoofing of another tenant or the host).
      'iifname @internet meta nfproto ipv6 iifname . ip6 saddr != @ipv6_src drop',
    ]) {
      const at = forward.indexOf(rule);
      assert.ok(at > 0 && at < accept, rule);
    }
    // The sets hold exactly the egress table.
    for (const r of [...EGRESS_DENY_V4, ...EGRESS_DENY_V6]) assert.ok(rules.includes(r.cidr), r.cidr);
  });
});

describe('firewall ruleset of the process backend', () => {
  const config = { table: 'aleph_process_ab12', tapPrefix: 'awab12', portForwards: false };
  const rules = firewallRuleset(config);
  const lines = rules.split('\n').map((l) => l.trim());
  const micro = firewallRuleset({ table: 'aleph_process_ab12', tapPrefix: 'awab12' }).split('\n').map((l) => l.trim());

  it('has the microVM rules without the port-forward NAT', () => {
    assert.ok(!rules.includes('portfwd'));
    assert.ok(!rules.includes('dnat'));
    const filter = (ls: string[]): string[] => ls.filter((l) => !/portfwd|dnat|prerouting|chain output|hook output|^\}$|^$/.test(l) && !l.startsWith('type inet_proto') && !l.startsWith('map ') && !l.startsWith('set rules_'));
    assert.deepEqual(filter(lines), filter(micro));
  });

  it('marks its version with a set named after the rules', () => {
    assert.match(rules, new RegExp(`set ${rulesMarker(config)} \\{`));
    assert.notEqual(rulesMarker(config), rulesMarker({ ...config, tapPrefix: 'awzz99' }));
    assert.equal(rulesMarker(config), rulesMarker({ ...config }));
  });

  it('upgrades an older table atomically, keeping the live elements', () => {
    const tx = upgradeTransaction(config, { chains: ['input', 'forward', 'postrouting'], sets: ['internet', 'rules_0123456789ab', 'egress_deny4', 'host_nets4'] });
    const txLines = tx.split('\n');
    assert.ok(txLines.includes('flush chain inet aleph_process_ab12 forward'));
    assert.ok(txLines.includes('delete chain inet aleph_process_ab12 forward'));
    assert.ok(txLines.includes('delete set inet aleph_process_ab12 rules_0123456789ab'));
    assert.ok(txLines.includes('delete set inet aleph_process_ab12 egress_deny4'));
    assert.ok(!txLines.some((l) => /delete set .* (internet|host_nets4)$/.test(l)), 'state sets are kept');
    assert.ok(tx.trimEnd().endsWith(rules.trimEnd()));
  });

  it('reads chain and set names from nft -j', () => {
    const json = JSON.stringify({ nftables: [{ metainfo: {} }, { table: { name: 't' } }, { set: { name: 'internet' } }, { map: { name: 'portfwd' } }, { chain: { name: 'input' } }, { rule: {} }] });
    assert.deepEqual(parseTableObjects(json), { chains: ['input'], sets: ['internet', 'portfwd'] });
  });

  it("lists the host's subnets, not the workload links, loopback or link-local", () => {
    const nets = hostSubnets('awab12', {
      lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '', internal: true, cidr: '127.0.0.1/8' }],
      eth0: [
        { address: '192.168.1.77', netmask: '255.255.255.0', family: 'IPv4', mac: '', internal: false, cidr: '192.168.1.77/24' },
        { address: '2a01:4f8:c17:1234::1', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '', internal: false, cidr: '2a01:4f8:c17:1234::1/64', scopeid: 0 },
        { address: 'fe80::1', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '', internal: false, cidr: 'fe80::1/64', scopeid: 2 },
      ],
      awab12deadbeef: [{ address: '10.213.0.1', netmask: '255.255.255.252', family: 'IPv4', mac: '', internal: false, cidr: '10.213.0.1/30' }],
    });
    assert.deepEqual(nets, { v4: ['192.168.1.0/24'], v6: ['2a01:4f8:c17:1234:0:0:0:0/64'] });
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
  it('reads the IPv6 source ranges per interface from nft -j', () => {
    const json = JSON.stringify({ nftables: [{ metainfo: {} }, { set: { name: 'ipv6_src', elem: [{ concat: ['vmtap5', { prefix: { addr: '2a01:4f8::50', len: 124 } }] }, { concat: ['vmtap6', '2a01:4f8::61'] }] } }] });
    assert.deepEqual(parseIpv6Sources(json), [{ ifname: 'vmtap5', network: '2a01:4f8::50/124' }, { ifname: 'vmtap6', network: '2a01:4f8::61/128' }]);
  });
});
