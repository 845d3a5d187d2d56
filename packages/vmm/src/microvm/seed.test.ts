import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSeedImage, renderSeedFiles, validateSeedConfig } from './seed.ts';
import type { SeedConfig } from './seed.ts';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAuuIAoh5s2CA3SI9rf15wTTzvwf8/kSNfjy5VOiJqYk owner@laptop';
const CONFIG: SeedConfig = {
  instanceId: 'vm-1',
  hostname: 'abc123',
  authorizedKeys: [KEY, ' ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY= second '],
  mac: '52:54:00:00:00:04',
  address: '172.16.4.2/24',
  gateway: '172.16.4.1',
  dnsServers: ['9.9.9.9', '1.1.1.1'],
};

describe('instance seed drive', () => {
  it('renders the NoCloud files and the plain files of the Aleph image', () => {
    const files = renderSeedFiles(CONFIG);
    assert.deepEqual(Object.keys(files).sort(), ['aleph-authorized-keys', 'aleph-instance.conf', 'meta-data', 'network-config', 'user-data']);
    assert.ok(files['user-data']!.startsWith('#cloud-config\n'));
    assert.match(files['user-data']!, /^hostname: "abc123"$/m);
    assert.match(files['user-data']!, /^ssh_authorized_keys:\n {2}- "ssh-ed25519 [^"]+ owner@laptop"\n {2}- "ecdsa-sha2-nistp256 [^"]+ second"$/m);
    assert.equal(files['meta-data'], 'instance-id: "vm-1"\nlocal-hostname: "abc123"\n');
    assert.match(files['network-config']!, /^version: 2$/m);
    assert.match(files['network-config']!, /macaddress: "52:54:00:00:00:04"/);
    assert.match(files['network-config']!, /addresses: \["172\.16\.4\.2\/24"\]/);
    assert.match(files['network-config']!, /via: "172\.16\.4\.1"/);
    assert.match(files['network-config']!, /addresses: \["9\.9\.9\.9", "1\.1\.1\.1"\]/);
    assert.equal(files['aleph-instance.conf'], 'HOSTNAME=abc123\nMAC=52:54:00:00:00:04\nADDRESS=172.16.4.2/24\nGATEWAY=172.16.4.1\nDNS=9.9.9.9 1.1.1.1\n');
    assert.equal(files['aleph-authorized-keys'], `${KEY}\necdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY= second\n`);
  });

  it('gives the guest its IPv6 address and route when the node has an IPv6 range (cloud-init and the Aleph reader)', () => {
    const files = renderSeedFiles({ ...CONFIG, ipv6: { address: '2a01:4f8:10:20::42/124', gateway: '2a01:4f8:10:20::41' } });
    assert.match(files['network-config']!, /addresses: \["172\.16\.4\.2\/24", "2a01:4f8:10:20::42\/124"\]/);
    assert.match(files['network-config']!, /- to: "::\/0"\n {8}via: "2a01:4f8:10:20::41"/);
    assert.match(files['aleph-instance.conf']!, /^ADDRESS6=2a01:4f8:10:20::42\/124\nGATEWAY6=2a01:4f8:10:20::41$/m);
    assert.throws(() => renderSeedFiles({ ...CONFIG, ipv6: { address: '2a01::42\n/124', gateway: '2a01::41' } }), /invalid guest IPv6/);
    assert.throws(() => renderSeedFiles({ ...CONFIG, ipv6: { address: '2a01::42/124', gateway: 'x\nGATEWAY=1' } }), /invalid IPv6 gateway/);
  });

  it('lists the volumes to mount, for the Aleph reader and for cloud-init', () => {
    const files = renderSeedFiles({ ...CONFIG, volumes: [
      { serial: 'aleph-vol-0', mount: '/data', fs: 'ext4', readOnly: false },
      { serial: 'aleph-vol-1', mount: '/opt/my assets', fs: 'squashfs', readOnly: true },
    ] });
    assert.match(files['aleph-instance.conf']!, /^VOLUME=aleph-vol-0 ext4 rw \/data\nVOLUME=aleph-vol-1 squashfs ro \/opt\/my assets$/m);
    assert.match(files['user-data']!, /^mounts:\n {2}- \["\/dev\/disk\/by-id\/virtio-aleph-vol-0", "\/data", "ext4", "defaults,nofail", "0", "0"\]$/m);
    assert.match(files['user-data']!, /"\/opt\/my assets", "squashfs", "ro,nofail"/);
    assert.throws(() => renderSeedFiles({ ...CONFIG, volumes: [{ serial: 'aleph-vol-0', mount: '/x\nDNS=1.1.1.1', fs: 'ext4', readOnly: false }] }), /mount point/);
    assert.throws(() => renderSeedFiles({ ...CONFIG, volumes: [{ serial: 'bad serial', mount: '/x', fs: 'ext4', readOnly: false }] }), /serial/);
  });

  it('leaves out name servers when there are none', () => {
    const files = renderSeedFiles({ ...CONFIG, dnsServers: [] });
    assert.doesNotMatch(files['network-config']!, /nameservers/);
    assert.match(files['aleph-instance.conf']!, /^DNS=$/m);
  });

  it('refuses what would break the files or the guest script', () => {
    const bad: Array<[Partial<SeedConfig>, RegExp]> = [
      [{ hostname: 'a b' }, /host name/],
      [{ hostname: 'x\nDNS=6.6.6.6' }, /host name/],
      [{ hostname: '-lead' }, /host name/],
      [{ authorizedKeys: [] }, /at least one/],
      [{ authorizedKeys: [`${KEY}\nssh-ed25519 AAAA injected`] }, /not an OpenSSH public key/],
      [{ authorizedKeys: ['ssh-ed25519'] }, /not an OpenSSH public key/],
      [{ authorizedKeys: ['hello world'] }, /not an OpenSSH public key/],
      [{ mac: '52:54:00:00:00' }, /MAC/],
      [{ address: '172.16.4.2' }, /guest address/],
      [{ address: '172.16.4.300/24' }, /guest address/],
      [{ gateway: 'gw' }, /IPv4/],
      [{ dnsServers: ['1.1.1.1; rm -rf /'] }, /IPv4/],
    ];
    for (const [change, message] of bad) {
      assert.throws(() => validateSeedConfig({ ...CONFIG, ...change }), message, JSON.stringify(change));
    }
  });

  it('packs the files in a vfat image labelled CIDATA (no mount)', async (t) => {
    try {
      execFileSync('which', ['mkfs.vfat', 'mcopy']);
    } catch {
      t.skip('dosfstools/mtools not installed');
      return;
    }
    const dir = await mkdtemp(join(tmpdir(), 'seed-'));
    try {
      const image = join(dir, 'seed.img');
      await createSeedImage(image, CONFIG);
      assert.deepEqual(await readdir(dir), ['seed.img'], 'no staging files left');
      const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
      assert.match(execFileSync('mlabel', ['-s', '-i', image, '::'], { env, encoding: 'utf8' }), /CIDATA/);
      assert.equal(execFileSync('mtype', ['-i', image, '::aleph-instance.conf'], { env, encoding: 'utf8' }), renderSeedFiles(CONFIG)['aleph-instance.conf']);
      assert.match(execFileSync('mtype', ['-i', image, '::user-data'], { env, encoding: 'utf8' }), /^#cloud-config/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
