/**
 * Snapshots of a real microVM (QEMU under TCG here): one runtime VM boots to its agent's hello
 * and is saved to a file, then restored twice, the two restored VMs running side by side. Each
 * must answer its program, and each must have its own identity: random bytes read in the guest
 * right after the restore differ, each NIC filters for its own MAC (QEMU would keep the
 * snapshot's), and each guest clock is within a few seconds of the host's although the snapshot
 * was taken well before (a correctness bound: a restored clock without the refresh is behind by
 * at least SNAPSHOT_AGE_MS). Nothing is left behind: files, taps, QEMU processes, cgroups.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { buildImages, type GuestImages } from '@aleph-nodes/guest/build';
import { Firewall } from '../../packages/vmm/src/net/firewall.ts';
import { detectCgroups } from '../../packages/vmm/src/host/cgroups.ts';
import { cgroupScope, VM_CGROUP_PARENT } from '../../packages/vmm/src/microvm/vm-jail.ts';
import { MicroVm, hostTscKhz, DEFAULT_TAP_POOL } from '../../packages/vmm/src/microvm/index.ts';
import type { MicroVmOptions, TapPoolConfig } from '../../packages/vmm/src/microvm/index.ts';
import type { SnapshotInfo } from '../../packages/vmm/src/microvm/snapshot.ts';
import { dirEntries, qemuProcesses, tapNames, zipFiles } from './helpers.ts';

const TAP_PREFIX = 'stap';
/** How long the snapshot waits before the first restore, so a stale guest clock shows. */
const SNAPSHOT_AGE_MS = 15_000;
/** Largest accepted difference between a restored guest's clock and the host's. */
const CLOCK_BOUND_MS = 5_000;

/** Answers with 32 random bytes read at the request, the guest's time and its MAC. */
const PROGRAM = `
const http = require('node:http');
const { randomBytes } = require('node:crypto');
const { readFileSync } = require('node:fs');
http.createServer((req, res) => {
  const mac = readFileSync('/sys/class/net/eth0/address', 'utf8').trim();
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ random: randomBytes(32).toString('hex'), timeMs: Date.now(), mac }));
}).listen(8080, '0.0.0.0');
`;

interface Answer {
  random: string;
  timeMs: number;
  mac: string;
}

describe('microVM snapshots (save, restore with a fresh identity)', { timeout: 900_000 }, () => {
  let images: GuestImages;
  let runDir: string;
  let snapDir: string;
  let network: TapPoolConfig;
  let tapsBefore: string[];
  let firewall: Firewall;
  let zip: Buffer;

  before(async () => {
    images = await buildImages({ instance: false, python: false, progress: (line) => process.stderr.write(`# ${line}\n`) });
    runDir = await mkdtemp(join(tmpdir(), 'svm-'));
    snapDir = await mkdtemp(join(tmpdir(), 'svm-snap-'));
    network = { ...DEFAULT_TAP_POOL, prefix: TAP_PREFIX, leaseDir: join(runDir, 'leases') };
    tapsBefore = tapNames(TAP_PREFIX);
    firewall = new Firewall({ nftPath: 'nft', table: 'aleph_test_snapshot', tapPrefix: TAP_PREFIX });
    zip = await zipFiles({ 'server.js': PROGRAM });
  });

  after(async () => {
    await firewall?.remove();
    await rm(runDir, { recursive: true, force: true });
    await rm(snapDir, { recursive: true, force: true });
  });

  function vmOptions(id: string, overrides: Partial<MicroVmOptions> = {}): MicroVmOptions {
    return {
      id,
      qemuPath: 'qemu-system-x86_64',
      accelerator: 'tcg',
      kvmCpu: 'host',
      tscKhz: hostTscKhz(),
      kernel: images.kernel,
      initramfs: images.initramfs,
      runtime: images.runtimes.node,
      vcpus: 1,
      memoryMib: 256,
      drives: [],
      guest: { code: { encoding: 'zip', zipBase64: zip.toString('base64') }, entrypoint: 'server.js', variables: {}, volumes: [] },
      network,
      firewall,
      runDir,
      ...overrides,
    };
  }

  function ourCgroups(): string[] {
    const scope = cgroupScope(runDir);
    return detectCgroups(VM_CGROUP_PARENT).list().filter((name) => name.startsWith(scope));
  }

  async function assertNothingLeft(): Promise<void> {
    assert.deepEqual(tapNames(TAP_PREFIX), tapsBefore, 'taps left behind');
    assert.deepEqual(qemuProcesses(runDir), [], 'QEMU processes left behind');
    assert.deepEqual(dirEntries(runDir).filter((e) => e !== 'leases'), [], 'VM directories left behind');
    assert.deepEqual(dirEntries(join(runDir, 'leases')), [], 'tap leases left behind');
    assert.deepEqual(ourCgroups(), [], 'cgroups left behind');
  }

  it('restores one snapshot twice into VMs that answer, with their own randomness, MAC and clock', async () => {
    const file = join(snapDir, 'runtime.snap');
    const source = new MicroVm(vmOptions('snap-source'));
    await source.prepare();
    const sourceMac = source.tap!.mac;
    const saved: SnapshotInfo = await source.bootAndSnapshot(file);
    process.stderr.write(`# saved ${(saved.bytes / 1048576).toFixed(1)} MiB in ${saved.saveMs.toFixed(0)} ms\n`);
    assert.equal(source.state, 'stopped', 'the source VM ends once saved');
    assert.ok(saved.bytes > 1024 * 1024, 'the file holds the guest memory');
    await assertNothingLeft();
    // Taps are leased lowest-free, so a restore would otherwise get the source's freed tap back
    // and the MAC check below could not tell a refreshed NIC from the snapshot's own.
    const holder = new MicroVm(vmOptions('snap-holder'));
    const restored: MicroVm[] = [];
    try {
      await holder.prepare();
      assert.equal(holder.tap!.mac, sourceMac, "the holder takes the source's freed tap");
      // The snapshot ages, so a restored guest that kept its clock would be visibly behind.
      await new Promise((r) => setTimeout(r, SNAPSHOT_AGE_MS));
      const answers: Answer[] = [];
      for (const id of ['snap-a', 'snap-b']) {
        const vm = new MicroVm(vmOptions(id, { restore: { file: saved.file, layout: saved.layout } }));
        restored.push(vm);
        const started = Date.now();
        await vm.start();
        await vm.waitReady(120_000);
        const res = await request(`http://${vm.tap!.guestIp}:8080/`);
        assert.equal(res.statusCode, 200);
        const answer = (await res.body.json()) as Answer;
        const hostNow = Date.now();
        process.stderr.write(`# ${id}: restore to answer ${hostNow - started} ms, guest clock ${answer.timeMs - hostNow} ms from the host's\n`);
        answers.push(answer);
        assert.equal(answer.mac, vm.tap!.mac, 'the guest uses the MAC of its own tap');
        assert.notEqual(answer.mac, sourceMac, "not the snapshot's MAC");
        assert.ok(Math.abs(answer.timeMs - hostNow) <= CLOCK_BOUND_MS, `guest clock off by ${answer.timeMs - hostNow} ms`);
      }
      const [a, b] = answers as [Answer, Answer];
      assert.notEqual(a.random, b.random, 'two restores of one snapshot must not produce the same random bytes');
      assert.notEqual(a.mac, b.mac, 'two running restores must not share a MAC');
      assert.equal(restored[0]!.state, 'running', 'the first restore still runs beside the second');
    } finally {
      await Promise.all([...restored, holder].map((vm) => vm.stop(5_000)));
    }
    await rm(file, { force: true });
    assert.equal(existsSync(file), false);
    await assertNothingLeft();
  });
});
