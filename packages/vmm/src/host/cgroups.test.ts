import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Cgroup, detectCgroups, execInCgroup, ioMaxLine } from './cgroups.ts';

// A fake /sys/fs/cgroup made of plain files: enough to check what is written where.
const root = mkdtempSync(join(tmpdir(), 'vmm-cgroups-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('cgroup v2: one group with memory.max, swap off, cpu.max and pids.max', () => {
  const v2 = join(root, 'v2');
  mkdirSync(v2, { recursive: true });
  writeFileSync(join(v2, 'cgroup.controllers'), 'cpu memory pids');
  const layout = detectCgroups('aleph-vmm', v2);
  assert.equal(layout.version, 2);
  const group = new Cgroup(layout, 'abcd-x', v2);
  // Pre-create the files the kernel would provide.
  mkdirSync(join(v2, 'aleph-vmm', 'abcd-x'), { recursive: true });
  writeFileSync(join(v2, 'aleph-vmm', 'abcd-x', 'memory.swap.max'), 'max');
  group.create({ memoryMib: 128, vcpus: 2, pids: 64 });
  const dir = join(v2, 'aleph-vmm', 'abcd-x');
  assert.equal(readFileSync(join(dir, 'memory.max'), 'utf8'), String(128 * 1024 * 1024));
  assert.equal(readFileSync(join(dir, 'memory.swap.max'), 'utf8'), '0');
  assert.equal(readFileSync(join(dir, 'cpu.max'), 'utf8'), '200000 100000');
  assert.equal(readFileSync(join(dir, 'pids.max'), 'utf8'), '64');
  assert.match(readFileSync(join(v2, 'aleph-vmm', 'cgroup.subtree_control'), 'utf8'), /\+memory/);
  assert.deepEqual(group.procsFiles, [join(dir, 'cgroup.procs')]);
  assert.deepEqual(layout.list(), ['abcd-x']);
});

test('cgroup v1: one group per controller hierarchy', () => {
  const v1 = join(root, 'v1');
  for (const c of ['memory', 'cpu', 'pids']) {
    mkdirSync(join(v1, c), { recursive: true });
    writeFileSync(join(v1, c, 'cgroup.procs'), '');
  }
  const layout = detectCgroups('aleph-vmm', v1);
  assert.equal(layout.version, 1);
  const group = new Cgroup(layout, 'abcd-y', v1);
  group.create({ memoryMib: 64, vcpus: 1, pids: 32 });
  assert.equal(readFileSync(join(v1, 'memory', 'aleph-vmm', 'abcd-y', 'memory.limit_in_bytes'), 'utf8'), String(64 * 1024 * 1024));
  assert.equal(readFileSync(join(v1, 'cpu', 'aleph-vmm', 'abcd-y', 'cpu.cfs_quota_us'), 'utf8'), '100000');
  assert.equal(readFileSync(join(v1, 'pids', 'aleph-vmm', 'abcd-y', 'pids.max'), 'utf8'), '32');
  assert.equal(group.procsFiles.length, 3);
});

test('no cgroup hierarchy is an explicit error', () => {
  const none = join(root, 'none');
  mkdirSync(none, { recursive: true });
  assert.throws(() => detectCgroups('aleph-vmm', none), /cgroup/);
});

test('IO caps: io.max on v2, blkio throttles on v1 when the hierarchy exists', () => {
  assert.equal(ioMaxLine({ device: '8:0', readBps: 100, writeIops: 5 }), '8:0 rbps=100 wbps=max riops=max wiops=5');
  const v1 = join(root, 'v1io');
  for (const c of ['memory', 'cpu', 'pids', 'blkio']) {
    mkdirSync(join(v1, c), { recursive: true });
    writeFileSync(join(v1, c, 'cgroup.procs'), '');
  }
  const layout = detectCgroups('aleph-vmm', v1);
  const group = new Cgroup(layout, 'abcd-io', v1);
  const blkio = join(v1, 'blkio', 'aleph-vmm', 'abcd-io');
  mkdirSync(blkio, { recursive: true });
  writeFileSync(join(blkio, 'blkio.throttle.write_bps_device'), '');
  group.create({ memoryMib: 64, vcpus: 1, pids: 8, io: { device: '254:0', writeBps: 1048576 } });
  assert.equal(group.procsFiles.length, 4, 'the blkio group is joined too');
  assert.equal(readFileSync(join(blkio, 'blkio.throttle.write_bps_device'), 'utf8'), '254:0 1048576');
});

test('execInCgroup: the shell joins every group with builtins, then execs the program in place', () => {
  const cmd = execInCgroup('/bin/sh', ['/cg/memory/x/cgroup.procs', '/cg/cpu/x/cgroup.procs'], '/usr/bin/qemu-system-x86_64', ['-M', 'microvm']);
  assert.equal(cmd.file, '/bin/sh');
  assert.equal(cmd.args[0], '-c');
  assert.equal(cmd.args[1], 'echo $$ > "${1}" || exit 125\necho $$ > "${2}" || exit 125\nshift 2\nexec "$@"');
  assert.deepEqual(cmd.args.slice(2), ['sh', '/cg/memory/x/cgroup.procs', '/cg/cpu/x/cgroup.procs', '/usr/bin/qemu-system-x86_64', '-M', 'microvm']);
  assert.throws(() => execInCgroup('sh', [], '/bin/true', []), /absolute/);
});
