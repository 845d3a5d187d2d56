/**
 * The drives of the default microVM backend: every volume kind a message can name is mounted in
 * a real VM (an immutable squashfs STORE image and an immutable ext4 STORE image, both read-only
 * as they are; an ephemeral ext4; a persistent ext4; a directory packed as squashfs is
 * test/guest/microvm-volumes.test.ts's), and the
 * code's squashfs is built once for two starts of the same code (content-addressed cache), the
 * cached image verified and linked into each VM's scratch directory. Two boots, one at a time.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ExecutionSpec } from '@aleph-nodes/vmm';
import { MicroVmExecutor } from '../../packages/vmm/src/microvm/microvm-executor.ts';
import { guestImages, qemuProcesses, tapNames, disposeExecutor } from '../guest/helpers.ts';

const TAP_PREFIX = `vdrv${process.pid % 1000}`;

const PROGRAM = `
import http from 'node:http';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
const attempt = (fn) => { try { return fn(); } catch (err) { return 'error:' + err.code; } };
http.createServer((req, res) => {
  const report = {
    squashImage: attempt(() => readFileSync('/opt/squash/file.txt', 'utf8')),
    squashImageWrite: attempt(() => { writeFileSync('/opt/squash/new.txt', 'x'); return 'written'; }),
    extImage: attempt(() => readFileSync('/opt/ext/file.txt', 'utf8')),
    extImageWrite: attempt(() => { writeFileSync('/opt/ext/new.txt', 'x'); return 'written'; }),
    ephemeralBefore: existsSync('/mnt/scratch/note.txt'),
    ephemeralWrite: attempt(() => { writeFileSync('/mnt/scratch/note.txt', 'tmp'); return 'written'; }),
    persistentBefore: attempt(() => readFileSync('/data/counter.txt', 'utf8')),
  };
  writeFileSync('/data/counter.txt', String(Number(existsSync('/data/counter.txt') ? readFileSync('/data/counter.txt', 'utf8') : '0') + 1));
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(report));
}).listen(8080);
`;

describe('microVM drives: every volume kind, code squashfs cached', { skip: process.getuid?.() !== 0 ? 'needs root' : false, timeout: 400_000 }, () => {
  let stateDir: string;
  let work: string;
  let executor: MicroVmExecutor;
  let spec: ExecutionSpec;

  const fsImage = (kind: 'squash' | 'ext', text: string): string => {
    const dir = join(work, `${kind}-src`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'file.txt'), text);
    const out = join(work, `${kind}.img`);
    if (kind === 'squash') execFileSync('/usr/bin/mksquashfs', [dir, out, '-noappend', '-quiet', '-all-root']);
    else execFileSync('/usr/sbin/mkfs.ext4', ['-q', '-F', '-d', dir, out, '8M']);
    return out;
  };

  before(async () => {
    const images = await guestImages();
    stateDir = mkdtempSync(join(tmpdir(), 'vdrv-'));
    work = mkdtempSync(join(tmpdir(), 'vdrv-work-'));
    mkdirSync(join(work, 'code'));
    writeFileSync(join(work, 'code', 'main.mjs'), PROGRAM);
    executor = await MicroVmExecutor.create({
      kernel: images.kernel, initramfs: images.initramfs, defaultRuntime: images.runtimes.node, stateDir,
      network: { prefix: TAP_PREFIX }, accelerator: 'tcg', firewall: { table: `aleph_test_drives_${process.pid}` },
      // Generous: a loaded CI machine slows TCG boots a lot (a deadline, not a timing assertion).
      boot: { stallMs: 30_000, timeoutMs: 240_000 },
    });
    spec = {
      id: 'drives-test',
      code: { dir: join(work, 'code'), entrypoint: 'main.mjs', contentKey: 'zip-drives-test' },
      volumes: [
        { kind: 'immutable', source: fsImage('squash', 'from a squashfs image'), mount: '/opt/squash' },
        { kind: 'immutable', source: fsImage('ext', 'from an ext4 image'), mount: '/opt/ext' },
        { kind: 'ephemeral', sizeMib: 16, mount: '/mnt/scratch' },
        { kind: 'persistent', source: join(work, 'data'), sizeMib: 16, mount: '/data' },
      ],
      variables: {},
      resources: { vcpus: 1, memoryMib: 384 },
      internet: false,
    };
    mkdirSync(join(work, 'data'));
  });

  after(async () => {
    await disposeExecutor(executor, stateDir, work);
  });

  async function runOnce(): Promise<Record<string, unknown>> {
    const handle = await executor.start(spec);
    try {
      await handle.waitReady(240_000);
      const res = await fetch(`http://${handle.endpoint.host}:${handle.endpoint.port}/`);
      return (await res.json()) as Record<string, unknown>;
    } finally {
      await handle.stop(10_000);
    }
  }

  it('mounts each volume kind with its semantics, and packs the code once for two starts', async () => {
    assert.ok(executor.capabilities.volumeFormats.includes('ext4') && executor.capabilities.codeFormats.includes('squashfs'));
    const first = await runOnce();
    assert.equal(first.squashImage, 'from a squashfs image');
    assert.equal(first.squashImageWrite, 'error:EROFS');
    assert.equal(first.extImage, 'from an ext4 image');
    assert.equal(first.extImageWrite, 'error:EROFS');
    assert.equal(first.ephemeralBefore, false);
    assert.equal(first.ephemeralWrite, 'written');
    assert.equal(first.persistentBefore, 'error:ENOENT');
    assert.equal(executor.codeCache?.builds, 1);

    const second = await runOnce();
    assert.equal(second.ephemeralBefore, false, 'the ephemeral volume starts empty again');
    assert.equal(second.persistentBefore, '1', 'the persistent volume kept what the first run wrote');
    assert.equal(executor.codeCache?.builds, 1, 'the second start of the same code reused the cached squashfs');
    assert.deepEqual(readdirSync(join(stateDir, 'code-cache')).sort(), ['zip-drives-test.sha256', 'zip-drives-test.squashfs']);

    assert.deepEqual(tapNames(TAP_PREFIX), []);
    assert.deepEqual(qemuProcesses(stateDir), []);
    assert.deepEqual(readdirSync(stateDir).filter((e) => e !== 'code-cache'), []);
  });
});
