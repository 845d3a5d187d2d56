import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cpuMeetsProfile, evaluate, sandboxChecks, unusableIpv4 } from './checks.ts';
import type { HostFacts } from './facts.ts';
import type { SandboxFacts } from './sandbox.ts';

const sandboxOk: SandboxFacts = {
  bwrap: '/usr/bin/bwrap',
  userns: { usable: true, detail: 'bwrap jail started as uid 1801048575' },
  cgroups: { version: 'v2', missing: [] },
  nft: { path: '/usr/sbin/nft', usable: true, detail: 'a scratch table was created and deleted' },
};

const server: HostFacts = {
  arch: 'x86_64',
  virtualization: { virtual: false, kind: null },
  cpu: { model: 'EPYC', cores: 12, threads: 24, maxMhz: 2400 },
  memoryBytes: 64e9,
  storage: { path: '/var/lib/crn', totalBytes: 1e12, device: 'nvme0n1', nvme: true, rotational: false },
  network: { ipv4: ['51.159.10.7'], ipv6: ['2001:db8::7'] },
  kernel: { tun: true, cgroups: 'v2', nftables: true, kvmDevice: true },
  commands: { 'qemu-system-x86_64': true },
  sandbox: sandboxOk,
};
const kvmOk = { usable: true, detail: 'guest booted' };

describe('crn doctor checks', () => {
  it('a host exactly at the thresholds passes everything', () => {
    const checks = evaluate(server, kvmOk);
    assert.deepEqual(checks.filter((c) => c.status === 'fail'), []);
  });

  it('a documentation IPv4 address is not a public address', () => {
    for (const a of ['192.0.2.10', '198.51.100.1', '203.0.113.7']) assert.equal(unusableIpv4(a), 'documentation range', a);
    assert.equal(unusableIpv4('169.254.1.1'), 'link-local');
    assert.equal(unusableIpv4('51.159.10.7'), null);
    const ipv4 = (addresses: string[]) => evaluate({ ...server, network: { ...server.network, ipv4: addresses } }, kvmOk).find((c) => c.id === 'ipv4');
    assert.equal(ipv4(['203.0.113.7'])?.status, 'fail');
    assert.match(ipv4(['203.0.113.7'])?.value ?? '', /documentation/);
    assert.equal(ipv4(['203.0.113.7', '51.159.10.7'])?.status, 'pass');
  });

  it('accepts either CPU profile and nothing below both', () => {
    assert.ok(cpuMeetsProfile({ model: '', cores: 8, threads: 16, maxMhz: 3000 }));
    assert.ok(cpuMeetsProfile({ model: '', cores: 12, threads: 24, maxMhz: 2400 }));
    assert.ok(!cpuMeetsProfile({ model: '', cores: 8, threads: 16, maxMhz: 2999 }));
    assert.ok(!cpuMeetsProfile({ model: '', cores: 12, threads: 15, maxMhz: 3500 }));
    assert.ok(!cpuMeetsProfile({ model: '', cores: 12, threads: 23, maxMhz: 2900 }));
    assert.ok(!cpuMeetsProfile({ model: '', cores: 16, threads: 32, maxMhz: null }));
  });

  it('reports a small virtual machine like our build machine as failing, check by check', () => {
    const vm: HostFacts = {
      ...server,
      virtualization: { virtual: true, kind: 'kvm' },
      cpu: { model: 'Xeon', cores: 2, threads: 2, maxMhz: 2600 },
      memoryBytes: 24 * 2 ** 30,
      storage: { ...server.storage, totalBytes: 256e9, device: 'vda', nvme: false },
      network: { ipv4: ['192.0.2.2'], ipv6: [] },
    };
    const failed = evaluate(vm, { usable: false, detail: 'guest did not boot under KVM' })
      .filter((c) => c.status === 'fail')
      .map((c) => c.id);
    // Its address is a documentation one (192.0.2.0/24): not a public IPv4 address.
    assert.deepEqual(failed.sort(), ['bare-metal', 'cpu', 'ipv4', 'ipv6', 'kvm', 'memory', 'nvme', 'storage']);
  });

  it('a missing command fails its own check', () => {
    const checks = evaluate({ ...server, commands: { 'qemu-system-x86_64': false } }, kvmOk);
    assert.equal(checks.find((c) => c.id === 'command:qemu-system-x86_64')?.status, 'fail');
  });

  it('checks what the sandbox needs, each failure with a remedy', () => {
    const ids = sandboxChecks(sandboxOk).map((c) => c.id);
    assert.deepEqual(ids, ['bubblewrap', 'userns', 'cgroups', 'nftables']);
    assert.ok(sandboxChecks(sandboxOk).every((c) => c.status === 'pass' && c.remedy === undefined));
    const broken = sandboxChecks({
      bwrap: null,
      userns: { usable: false, detail: 'bwrap failed: setting up uid map: Permission denied' },
      cgroups: { version: 'v2', missing: ['pids'] },
      nft: { path: null, usable: false, detail: 'nft is not installed' },
    });
    assert.ok(broken.every((c) => c.status === 'fail' && (c.remedy ?? '').length > 10), JSON.stringify(broken));
    assert.match(broken.find((c) => c.id === 'cgroups')?.value ?? '', /missing pids/);
    assert.match(broken.find((c) => c.id === 'userns')?.remedy ?? '', /unprivileged_userns_clone/);
    assert.match(broken.find((c) => c.id === 'nftables')?.remedy ?? '', /apt-get install nftables/);
    assert.equal(sandboxChecks({ ...sandboxOk, cgroups: { version: null, missing: ['memory', 'cpu', 'pids'] } }).find((c) => c.id === 'cgroups')?.status, 'fail');
  });
});
