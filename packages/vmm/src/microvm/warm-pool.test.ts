// The pool bookkeeping (which program may take which VM, never twice, refill, failures) with
// stand-in VMs; the real VMs are test/vmm/microvm-pool.test.ts's.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { MicroVm } from './vm.ts';
import type { MicroVmExit } from './vm-types.ts';
import { RuntimeDigests, WarmPools, writeCodeImage, type PoolVm, type WarmPoolConfig } from './warm-pool.ts';

interface StandIn {
  state: string;
  stopped: number;
  end(): void;
}

function standIn(): { vm: MicroVm; ctl: StandIn } {
  let end!: (exit: MicroVmExit) => void;
  const exited = new Promise<MicroVmExit>((resolve) => (end = resolve));
  const ctl: StandIn = { state: 'waiting', stopped: 0, end: () => end({ qemuCode: 0, qemuSignal: null, program: undefined, requested: false }) };
  const vm = {
    get state() {
      return ctl.state;
    },
    exited,
    stop: async () => {
      ctl.stopped += 1;
      ctl.state = 'stopped';
      ctl.end();
    },
  } as unknown as MicroVm;
  return { vm, ctl };
}

const POOL: WarmPoolConfig = { runtime: '/r/node.squashfs', size: 2, vcpus: 1, memoryMib: 128, codeMaxMib: 1 };
const fits = { runtime: POOL.runtime, vcpus: 1, memoryMib: 128, volumes: 0, codeBytes: 1000 };

function pools(opts: { fail?: () => boolean } = {}) {
  const booted: Array<{ entry: PoolVm; ctl: StandIn }> = [];
  const released: PoolVm[] = [];
  let takenCalls = 0;
  const p = new WarmPools([POOL], {
    boot: async (pool) => {
      if (opts.fail?.()) throw new Error('no boot');
      const { vm, ctl } = standIn();
      const entry = { vm, scratch: `/s/${booted.length}`, codeImage: 'x', pool };
      booted.push({ entry, ctl });
      return entry;
    },
    release: async (entry) => {
      released.push(entry);
    },
    onTaken: () => {
      takenCalls += 1;
    },
  });
  return { p, booted, released, takenCalls: () => takenCalls };
}

describe('WarmPools', () => {
  it('fills to size, gives each VM to one program only, and never takes one back', async () => {
    const { p, booted, takenCalls } = pools();
    await p.refill();
    assert.equal(p.idle().length, 2);
    assert.equal(p.reservedMemoryMib(), 256);
    const a = p.take(fits);
    const b = p.take(fits);
    assert.ok(a && b && a !== b);
    assert.equal(p.take(fits), undefined, 'empty until refilled');
    assert.equal(takenCalls(), 0, 'no refill asked before the program started');
    p.refillDue();
    assert.equal(takenCalls(), 1);
    await p.refill();
    assert.equal(booted.length, 4, 'the refill boots new VMs');
    assert.ok(!p.idle().includes(a) && !p.idle().includes(b), 'taken VMs never return');
    assert.equal(p.taken, 2);
  });

  it('refuses programs that do not fit the pool VMs', async () => {
    const { p } = pools();
    await p.refill();
    assert.equal(p.take({ ...fits, runtime: '/r/other' }), undefined);
    assert.equal(p.take({ ...fits, memoryMib: 256 }), undefined);
    assert.equal(p.take({ ...fits, vcpus: 2 }), undefined);
    assert.equal(p.take({ ...fits, volumes: 1 }), undefined);
    assert.equal(p.take({ ...fits, codeBytes: 2 * 1024 * 1024 }), undefined);
    assert.equal(p.idle().length, 2);
  });

  it('drops an idle VM that ends on its own, and reports a failed boot', async () => {
    let fail = false;
    const { p, booted, released } = pools({ fail: () => fail });
    await p.refill();
    booted[0]!.ctl.state = 'failed';
    booted[0]!.ctl.end();
    await new Promise((r) => setImmediate(r));
    assert.equal(p.idle().length, 1);
    assert.deepEqual(released, [booted[0]!.entry]);
    fail = true;
    await assert.rejects(p.refill(), /no boot/);
    fail = false;
    await p.refill();
    assert.equal(p.idle().length, 2);
  });

  it('stops idle VMs on close and boots nothing after', async () => {
    const { p, booted } = pools();
    await p.refill();
    await p.close();
    assert.deepEqual(booted.map((b) => b.ctl.stopped), [1, 1]);
    assert.equal(p.idle().length, 0);
    await p.refill();
    assert.equal(booted.length, 2);
    assert.equal(p.take(fits), undefined);
  });
});

describe('RuntimeDigests and writeCodeImage', () => {
  it('matches a runtime by path or by bytes, and writes code in place', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warm-pool-'));
    try {
      const runtime = join(dir, 'node.squashfs');
      writeFileSync(runtime, 'runtime bytes');
      const copy = join(dir, 'copy.squashfs');
      copyFileSync(runtime, copy);
      const other = join(dir, 'other.squashfs');
      writeFileSync(other, 'runtime bytez');
      const digests = new RuntimeDigests();
      const pool = [{ ...POOL, runtime }];
      assert.equal(await digests.poolRuntimeOf(pool, runtime), runtime);
      assert.equal(await digests.poolRuntimeOf(pool, copy), runtime);
      assert.equal(await digests.poolRuntimeOf(pool, other), undefined, 'same size, other bytes');

      const drive = join(dir, 'code.img');
      writeFileSync(drive, Buffer.alloc(4096));
      const code = join(dir, 'code.squashfs');
      writeFileSync(code, 'squash');
      await writeCodeImage(code, drive);
      const bytes = readFileSync(drive);
      assert.equal(bytes.length, 4096, 'the drive keeps its size');
      assert.equal(bytes.subarray(0, 6).toString(), 'squash');
      assert.ok(bytes.subarray(6).every((b) => b === 0));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
