/**
 * Hole 11: persistent volumes of the process backend were bind-mounted host directories with no
 * size limit, so one tenant could fill the CRN's disk. Now they are ext4 images of `size_mib`:
 * writing past the size fails with ENOSPC inside the workload, the data survives a restart of
 * the workload (under another host uid), and after the stop no mount or loop device is left.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ExecutionHandle } from '@aleph-nodes/vmm';
import { snapshot, type Snapshot } from './helpers/sandbox-resources.ts';
import { createRig, type SandboxRig } from './helpers/sandbox-rig.ts';

const SIZE_MIB = 16;

describe('process sandbox volume quota (hole 11)', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, () => {
  let rig: SandboxRig;
  let before0: Snapshot;
  let volume: string;
  const handles: ExecutionHandle[] = [];
  const owned = (): Parameters<typeof snapshot>[0] => ({ names: [rig.scope], dirs: [rig.root] });

  before(() => {
    rig = createRig('quota');
    before0 = snapshot(owned());
    volume = join(rig.root, 'volumes', 'data');
    mkdirSync(volume, { recursive: true, mode: 0o755 });
  });

  after(async () => {
    for (const h of handles) await h.stop(2000).catch(() => undefined);
    await rig.executor.close();
    rmSync(rig.root, { recursive: true, force: true });
    assert.deepEqual(snapshot(owned()), { ...before0, dirs: [] });
  });

  it('stops a tenant at size_mib with ENOSPC, keeps its data across restarts, leaves nothing mounted', async () => {
    const spec = rig.spec({ volumes: [{ kind: 'persistent', source: volume, sizeMib: SIZE_MIB, mount: '/var/lib/data' }] });
    const first = await rig.executor.start(spec);
    handles.push(first);
    await first.waitReady(30_000);
    const uidFirst = (await rig.probe<{ uid: number }>(first, '/status')).uid;
    assert.deepEqual(await rig.probe(first, `/write?path=${encodeURIComponent('/var/lib/data/keep.txt')}&text=kept-across-restarts`), { ok: true });
    const filled = await rig.probe<{ written: number; error: string | null }>(first, `/fill?path=${encodeURIComponent('/var/lib/data/big')}&mib=${SIZE_MIB * 4}`);
    assert.equal(filled.error, 'ENOSPC', JSON.stringify(filled));
    assert.ok(filled.written <= SIZE_MIB, `wrote ${filled.written} MiB into a ${SIZE_MIB} MiB volume`);
    // The host's disk holds only the image, whose size is the quota.
    assert.deepEqual(readdirSync(volume), ['volume.ext4']);
    assert.equal(statSync(join(volume, 'volume.ext4')).size, SIZE_MIB * 1024 * 1024);
    await first.stop();
    const afterFirst = snapshot(owned());
    assert.deepEqual(afterFirst.loops, [], 'the loop device is freed at stop');
    assert.deepEqual(afterFirst.mounts, [], 'nothing stays mounted at stop');

    const second = await rig.executor.start(spec);
    handles.push(second);
    await second.waitReady(30_000);
    const uidSecond = (await rig.probe<{ uid: number }>(second, '/status')).uid;
    assert.deepEqual(await rig.probe(second, `/read?path=${encodeURIComponent('/var/lib/data/keep.txt')}`), { text: 'kept-across-restarts' });
    // Under whichever uid the new run got, the files are its own: it can write again after freeing space.
    assert.deepEqual(await rig.probe(second, `/write?path=${encodeURIComponent('/var/lib/data/big')}&text=small`), { ok: true });
    assert.deepEqual(await rig.probe(second, `/write?path=${encodeURIComponent('/var/lib/data/keep.txt')}&text=rewritten`), { ok: true });
    assert.ok(uidFirst >= 1_800_000_000 && uidSecond >= 1_800_000_000);
    await second.stop();
    const afterSecond = snapshot(owned());
    assert.deepEqual(afterSecond.loops, []);
    assert.deepEqual(afterSecond.mounts, []);
  });
});
