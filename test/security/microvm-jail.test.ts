/**
 * Attack surface of the microVM host side: QEMU, e2fsck and resize2fs ran as root on tenant images,
 * without a per-VM cgroup, and tools were run by bare name (PATH lookup) as root.
 *
 * Against the real executor (QEMU under TCG, real taps, cgroups and bubblewrap): each VM's QEMU
 * runs as its own unprivileged uid, chrooted into an empty directory, inside a cgroup of its own
 * with the VM's memory limit; an instance disk's e2fsck/resize2fs run as an unprivileged uid; and
 * with a hostile PATH whose fake tools leave a marker, no tool is ever found through PATH.
 * On the earlier code every one of these checks fails (uid 0, root `/`, no group, markers).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { ExecutionHandle, ExecutionSpec } from '@aleph-nodes/vmm';
import { createSeedImage, hostIpv4, MicroVmExecutor } from '../../packages/vmm/src/microvm/index.ts';
import { createExt4Image } from '../../packages/vmm/src/host/ext4.ts';
import { detectCgroups } from '../../packages/vmm/src/host/cgroups.ts';
import { WORKLOAD_ID_BASE } from '../../packages/vmm/src/host/ids.ts';
import { cgroupScope, DEFAULT_VM_IO, DEFAULT_VM_PIDS, DEFAULT_VMM_CPU_OVERHEAD, DEFAULT_VMM_OVERHEAD_MIB, VM_CGROUP_PARENT } from '../../packages/vmm/src/microvm/vm-jail.ts';
import { ensureRootDisk } from '../../packages/crn/src/execution/instance-disk.ts';
import { eventually } from '../helpers/eventually.ts';
import { guestImages, HTTP_SERVER } from '../guest/helpers.ts';
import { hostCounts, procCgroup, procRoot, procUids, watchProcesses, type HostCounts } from './microvm-support.ts';

const TAP_PREFIX = 'sjtap';
const MIB = 1024 * 1024;
/** Every tool the backend or the instance disk code runs as root, faked in a directory put first in PATH. */
const FAKED = ['qemu-system-x86_64', 'mksquashfs', 'ip', 'nft', 'mkfs.ext4', 'e2fsck', 'resize2fs', 'cp', 'mkfs.vfat', 'mcopy', 'sh', 'bwrap', 'setpriv', 'unshare', 'mount', 'mkdir'];

describe('microVM jail: per-VM uid, chroot, cgroup; image tools jailed; no PATH lookup', { timeout: 900_000 }, () => {
  let stateDir: string;
  let work: string;
  let markers: string;
  let executor: MicroVmExecutor;
  /** A second supervisor on the same state (adoption after a restart). */
  let successor: MicroVmExecutor | undefined;
  let config: Parameters<typeof MicroVmExecutor.create>[0];
  let before_: HostCounts;
  const savedPath = process.env.PATH;

  before(async () => {
    const images = await guestImages();
    work = mkdtempSync(join(tmpdir(), 'sjvm-work-'));
    // The code directory is read by the jailed mksquashfs (the CRN unpacks code 0755/0644).
    mkdirSync(join(work, 'code'), { mode: 0o755 });
    writeFileSync(join(work, 'code', 'server.js'), HTTP_SERVER);
    markers = join(work, 'markers');
    mkdirSync(markers);
    const fakes = join(work, 'fake-bin');
    mkdirSync(fakes);
    for (const name of FAKED) {
      const real = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'].map((d) => join(d, name)).find((p) => existsSync(p));
      writeFileSync(join(fakes, name), `#!/bin/sh\necho "$*" >> '${markers}/${name}'\nexec '${real ?? '/bin/false'}' "$@"\n`, { mode: 0o755 });
    }
    // A hostile environment: the fakes come first.
    process.env.PATH = `${fakes}:${savedPath ?? ''}`;
    stateDir = mkdtempSync(join(tmpdir(), 'sjvm-'));
    before_ = hostCounts(stateDir, TAP_PREFIX, ['sjvm-']);
    config = {
      kernel: images.kernel,
      initramfs: images.initramfs,
      defaultRuntime: images.runtimes.node,
      stateDir,
      network: { prefix: TAP_PREFIX },
      firewall: { table: 'aleph_test_sec_jail' },
      accelerator: 'tcg',
      onEvent: (line) => process.stderr.write(`# ${line}\n`),
    };
    executor = await MicroVmExecutor.create(config);
  });

  after(async () => {
    await successor?.cleanupOrphans(new Set());
    await successor?.close();
    await executor?.cleanupOrphans(new Set());
    await executor?.close();
    await executor?.firewall?.remove();
    process.env.PATH = savedPath;
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
    const now = hostCounts(stateDir, TAP_PREFIX, ['sjvm-']);
    assert.deepEqual(now, { ...before_, tmp: before_.tmp.filter((e) => e !== basename(stateDir) && e !== basename(work)) }, 'QEMU processes, taps, cgroups or temp dirs left behind');
  });

  function spec(id: string): ExecutionSpec {
    return { id, code: { dir: join(work, 'code'), entrypoint: 'server.js' }, volumes: [], variables: {}, resources: { vcpus: 1, memoryMib: 256 }, internet: false };
  }

  /** The VM's QEMU pid and directory (QEMU is spawned in the background after start()). */
  function vmOf(handle: ExecutionHandle): Promise<{ pid: number; dir: string }> {
    return eventually('QEMU spawned', 60_000, async () => (handle.adoptionRecord().data as { vm: { pid: number; dir: string } | null }).vm ?? undefined);
  }

  it("each VM's QEMU runs as its own unprivileged uid, chrooted into its empty jail, in its own cgroup with the VM's memory limit", async () => {
    const handles = [await executor.start(spec('jail-a')), await executor.start(spec('jail-b'))];
    try {
      const uids: number[] = [];
      for (const handle of handles) {
        const { pid, dir } = await vmOf(handle);
        // QEMU drops its privileges once its devices are open (a fraction of a second).
        const ids = await eventually('QEMU dropping root', 60_000, async () => {
          const all = procUids(pid);
          return all.every((u) => u !== 0) ? all : undefined;
        });
        assert.equal(new Set(ids).size, 1, `real, effective, saved and fs uid are one: ${ids.join(' ')}`);
        const uid = ids[0]!;
        assert.ok(uid >= WORKLOAD_ID_BASE.microvm, `uid ${uid} is in the microVM range`);
        uids.push(uid);
        const gid = Number(/^Gid:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
        assert.equal(gid, uid, 'its own group too');

        assert.equal(procRoot(pid), join(dir, 'jail'), 'QEMU is chrooted into the jail directory');
        assert.deepEqual(readdirSync(join(dir, 'jail')), [], 'the jail holds no file');

        const group = `${cgroupScope(stateDir)}-${basename(dir)}`;
        const layout = detectCgroups(VM_CGROUP_PARENT);
        const memoryPath = procCgroup(pid, 'memory');
        assert.equal(memoryPath, `/${VM_CGROUP_PARENT}/${group}`, 'QEMU is in the VM cgroup');
        const memDir = layout.dirsOf(group)[0]!;
        const limit = Number(readFileSync(join(memDir, layout.version === 2 ? 'memory.max' : 'memory.limit_in_bytes'), 'utf8'));
        assert.equal(limit, (256 + DEFAULT_VMM_OVERHEAD_MIB.tcg) * MIB, 'guest memory + VMM overhead');
        const cpuDir = layout.version === 2 ? memDir : layout.dirsOf(group)[1]!;
        const quota = layout.version === 2 ? readFileSync(join(cpuDir, 'cpu.max'), 'utf8').trim() : readFileSync(join(cpuDir, 'cpu.cfs_quota_us'), 'utf8').trim();
        const quotaUs = Math.round((1 + DEFAULT_VMM_CPU_OVERHEAD.tcg) * 100_000);
        assert.match(quota, new RegExp(`^${quotaUs}( 100000)?$`), 'one vCPU of CPU time and QEMU\'s own share');
        const pidsDir = layout.version === 2 ? memDir : layout.dirsOf(group)[2]!;
        assert.equal(readFileSync(join(pidsDir, 'pids.max'), 'utf8').trim(), String(DEFAULT_VM_PIDS));
        const ioDir = layout.version === 2 ? memDir : layout.dirsOf(group)[3];
        if (ioDir && existsSync(join(ioDir, layout.version === 2 ? 'io.max' : 'blkio.throttle.read_bps_device'))) {
          const io = readFileSync(join(ioDir, layout.version === 2 ? 'io.max' : 'blkio.throttle.read_bps_device'), 'utf8');
          assert.match(io, new RegExp(`${DEFAULT_VM_IO.readBps}`), 'disk reads are capped');
        }
      }
      assert.notEqual(uids[0], uids[1], 'two VMs never share a uid');

      // Jailed, the VMs still do their job.
      for (const handle of handles) await handle.waitReady(300_000);
      for (const handle of handles) {
        const res = await fetch(`http://${handle.endpoint.host}:${handle.endpoint.port}/x`, { signal: AbortSignal.timeout(20_000) });
        assert.equal(res.status, 200);
      }

      // A supervisor restart: the chrooted QEMU cannot reach a host socket, so the new supervisor
      // connects to the one QEMU serves. The adopted VM answers, and stops gracefully through
      // its agent (its program ends by SIGTERM, which only the control channel carries).
      const record = JSON.parse(JSON.stringify(handles[1]!.adoptionRecord()));
      handles[1]!.detach();
      successor = await MicroVmExecutor.create(config);
      const adopted = await successor.adopt(record, spec('jail-b'));
      assert.ok(adopted, 'the running VM is adopted');
      handles[1] = adopted;
      const res = await fetch(`http://${adopted.endpoint.host}:${adopted.endpoint.port}/y`, { signal: AbortSignal.timeout(20_000) });
      assert.equal(res.status, 200);
    } finally {
      await Promise.all(handles.map((h) => h.stop(20_000)));
    }
    const exits = await Promise.all(handles.map((h) => h.exited));
    for (const exit of exits) assert.ok((exit.memoryPeakMib ?? 0) > 0, 'the peak memory of the VM cgroup is reported');
    assert.equal(exits[1]!.signal, 'SIGTERM', 'the adopted VM was stopped through its control channel');
    assert.equal(exits[1]!.requested, true);
  });

  it("an instance disk's e2fsck and resize2fs run as an unprivileged uid, never as root", async () => {
    // A parent image whose growth makes resize2fs write inode tables for a while (observable).
    const content = join(work, 'image-content');
    mkdirSync(join(content, 'etc'), { recursive: true });
    writeFileSync(join(content, 'etc', 'hello'), 'tenant file\n');
    const parent = join(work, 'parent.ext4');
    execFileSync('/usr/sbin/mke2fs', ['-q', '-F', '-t', 'ext4', '-O', '^metadata_csum,^uninit_bg', '-i', '4096', '-d', content, parent, '16M'], { env: {} });
    const instances = join(work, 'instances');
    const watcher = watchProcesses(['e2fsck', 'resize2fs']);
    let sightings;
    try {
      await ensureRootDisk(instances, 'sec-instance', parent, 1536);
    } finally {
      sightings = await watcher.stop();
    }
    process.stderr.write(`# seen: ${JSON.stringify(sightings)}\n`);
    assert.ok(sightings.some((s) => s.comm === 'resize2fs'), 'resize2fs was observed running');
    for (const s of sightings) assert.ok(s.uids.every((u) => u >= WORKLOAD_ID_BASE.microvm), `${s.comm} ran as ${s.uids.join(' ')}`);
    chmodSync(instances, 0o700);
  });

  it('no tool was found through the hostile PATH (its fakes never ran)', async () => {
    // The remaining tools of the backend, run once each under the same PATH: an instance's seed
    // drive (mkfs.vfat, mcopy), a volume image (mkfs.ext4), the host address (ip).
    await createSeedImage(join(work, 'seed.img'), { instanceId: 'i', hostname: 'seed-test', authorizedKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ test'], mac: '52:54:00:00:00:09', address: '172.16.9.2/24', gateway: '172.16.9.1', dnsServers: [] });
    await createExt4Image(join(work, 'volume.ext4'), 8);
    await hostIpv4();
    assert.deepEqual(readdirSync(markers), [], `tools found through PATH: ${readdirSync(markers).join(', ')}`);
  });
});
