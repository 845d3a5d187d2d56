/**
 * Real microVMs under QEMU (TCG on the build machines): the guest images built by the project's
 * own scripts boot, the agent configures the program from a zip, and the host reaches its port
 * 8080 over the tap. One VM at a time; every tap, QEMU process and temporary directory is
 * counted before and after.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import type { GuestImages } from '@aleph-nodes/guest/build';
import { Firewall } from '../../packages/vmm/src/net/firewall.ts';
import { MicroVm, MicroVmError, bootProbeGuest, hostTscKhz, probeAccelerator, DEFAULT_TAP_POOL } from '../../packages/vmm/src/microvm/index.ts';
import type { MicroVmOptions, TapPoolConfig } from '../../packages/vmm/src/microvm/index.ts';
import { HTTP_SERVER, dirEntries, guestImages, qemuProcesses, tapNames, zipFiles } from './helpers.ts';

const TAP_PREFIX = 'gtap';

describe('microVM (QEMU microvm, guest agent, tap)', { timeout: 600_000 }, () => {
  let images: GuestImages;
  let runDir: string;
  let network: TapPoolConfig;
  let tapsBefore: string[];
  let firewall: Firewall;

  before(async () => {
    images = await guestImages();
    runDir = await mkdtemp(join(tmpdir(), 'gvm-'));
    network = { ...DEFAULT_TAP_POOL, prefix: TAP_PREFIX, leaseDir: join(runDir, 'leases') };
    tapsBefore = tapNames(TAP_PREFIX);
    firewall = new Firewall({ nftPath: 'nft', table: 'aleph_test_guest', tapPrefix: TAP_PREFIX });
  });

  after(async () => {
    await firewall?.remove();
    await rm(runDir, { recursive: true, force: true });
  });

  function vmOptions(overrides: Partial<MicroVmOptions> = {}): MicroVmOptions {
    return {
      id: 'guest-test',
      qemuPath: 'qemu-system-x86_64',
      accelerator: 'tcg',
      kvmCpu: 'host',
      tscKhz: hostTscKhz(),
      kernel: images.kernel,
      initramfs: images.initramfs,
      runtime: images.runtimes.node,
      vcpus: 1,
      memoryMib: 512,
      drives: [],
      guest: { code: { encoding: 'zip', zipBase64: '' }, entrypoint: 'server.js', variables: {}, volumes: [] },
      network,
      firewall,
      runDir,
      ...overrides,
    };
  }

  async function assertNothingLeft(): Promise<void> {
    assert.deepEqual(await firewall.internetMembers(), [], 'internet access left granted');
    assert.deepEqual(tapNames(TAP_PREFIX), tapsBefore, 'taps left behind');
    assert.deepEqual(qemuProcesses(runDir), [], 'QEMU processes left behind');
    assert.deepEqual(dirEntries(runDir).filter((e) => e !== 'leases'), [], 'VM directories left behind');
    assert.deepEqual(dirEntries(join(runDir, 'leases')), [], 'tap leases left behind');
  }

  it('the KVM probe boots a real guest to decide the accelerator', async () => {
    const options = { qemuPath: 'qemu-system-x86_64', kernel: images.kernel, initramfs: images.initramfs, kvmCpu: 'host', tscKhz: hostTscKhz(), runDir, timeoutMs: 15_000 };
    // TCG always works: the probe guest must reach its init and print the marker.
    const tcg = await bootProbeGuest(options, 'tcg');
    assert.equal(tcg.ok, true, tcg.detail);
    const result = await probeAccelerator(options);
    assert.ok(result.accelerator === 'kvm' || result.accelerator === 'tcg');
    assert.match(result.reason, /KVM|kvm|TCG/);
    process.stderr.write(`# accelerator: ${result.accelerator} (${result.reason})\n`);
    await assertNothingLeft();
  });

  it('boots a zipped node program that answers HTTP from the guest kernel', async () => {
    const zip = await zipFiles({ 'server.js': HTTP_SERVER });
    const vm = new MicroVm(vmOptions({
      guest: { code: { encoding: 'zip', zipBase64: zip.toString('base64') }, entrypoint: 'server.js', variables: { GREETING: 'hello from the host' }, volumes: [] },
    }));
    const started = Date.now();
    try {
      await vm.start();
      assert.equal(vm.state, 'running');
      await vm.waitReady(120_000);
      const tap = vm.tap!;
      const res = await request(`http://${tap.guestIp}:8080/some/path`);
      const body = (await res.body.json()) as { release: string; greeting: string; hostname: string; path: string };
      process.stderr.write(`# boot to HTTP: ${Date.now() - started} ms (attempts ${vm.bootAttempts})\n`);
      assert.equal(res.statusCode, 200);
      assert.equal(body.release, images.kernelRelease, 'os.release() in the VM is the guest kernel');
      assert.notEqual(body.release, release(), 'not the host kernel');
      assert.equal(body.greeting, 'hello from the host');
      assert.equal(body.hostname, 'guest-test');
      assert.equal(body.path, '/some/path');
      assert.equal(vm.kernelRelease, images.kernelRelease);

      // The guest must not reach the host: a listener on all host addresses stays out of reach
      // through the tap's host address, while the host reaches the guest (above).
      const hostListener = createServer((socket) => socket.destroy());
      await new Promise<void>((resolve) => hostListener.listen(0, '0.0.0.0', () => resolve()));
      try {
        const port = (hostListener.address() as AddressInfo).port;
        const probe = await request(`http://${tap.guestIp}:8080/connect?host=${tap.hostIp}&port=${port}`);
        const { result } = (await probe.body.json()) as { result: string };
        assert.notEqual(result, 'connected', 'a guest must not open connections to the host');
      } finally {
        hostListener.close();
      }

      const logs = vm.recentLogs().map((l) => `${l.stream}:${l.text}`);
      assert.ok(logs.includes('stdout:server starting with GREETING=hello from the host'), logs.join('\n'));
      assert.ok(logs.includes('stderr:a line on stderr'), logs.join('\n'));
    } finally {
      await vm.stop(10_000);
    }
    const exit = await vm.exited;
    assert.equal(exit.requested, true);
    assert.equal(exit.qemuCode, 0, 'the guest powered itself off');
    assert.equal(vm.state, 'stopped');
    await assertNothingLeft();
  });

  it("grants internet access (NAT) to a VM's tap only while the VM exists", async () => {
    const vm = new MicroVm(vmOptions({ internet: true }));
    await vm.prepare();
    assert.deepEqual(await firewall.internetMembers(), [vm.tap!.ifname]);
    await vm.stop();
    assert.equal(vm.state, 'stopped');
    await assertNothingLeft();
  });

  it('a runtime that is not a squashfs image fails the boot with a clear error and leaves nothing', async () => {
    const bogus = join(runDir, 'not-squashfs.img');
    await writeFile(bogus, Buffer.alloc(1024 * 1024, 7));
    const vm = new MicroVm(vmOptions({ runtime: bogus }));
    try {
      await assert.rejects(vm.start(), (err: unknown) => {
        assert.ok(err instanceof MicroVmError);
        assert.equal(err.code, 'BOOT_FAILED');
        assert.match(err.message, /not a squashfs image/);
        return true;
      });
    } finally {
      await rm(bogus, { force: true });
    }
    assert.equal(vm.state, 'failed');
    await assertNothingLeft();
  });
});
