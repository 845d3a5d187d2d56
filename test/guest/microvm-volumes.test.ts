/**
 * Volumes of a microVM execution: an immutable directory (packed as squashfs, read-only), an
 * ephemeral ext4 scratch area (gone after stop) and a persistent ext4 image that keeps its data
 * across two executions. Two boots, one at a time.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionSpec } from '@aleph-nodes/vmm';
import { MicroVmExecutor } from '../../packages/vmm/src/microvm/index.ts';
import { dirEntries, guestImages, qemuProcesses, tapNames, disposeExecutor } from './helpers.ts';

const TAP_PREFIX = 'vtap';

const PROGRAM = `
import http from 'node:http';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
const attempt = (fn) => { try { return fn(); } catch (err) { return 'error:' + err.code; } };
http.createServer((req, res) => {
  const report = {
    immutable: attempt(() => readFileSync('/opt/assets/greeting.txt', 'utf8')),
    immutableWrite: attempt(() => { writeFileSync('/opt/assets/new.txt', 'x'); return 'written'; }),
    ephemeralBefore: existsSync('/mnt/scratch/note.txt'),
    ephemeralWrite: attempt(() => { writeFileSync('/mnt/scratch/note.txt', 'tmp'); return 'written'; }),
    persistentBefore: attempt(() => readFileSync('/data/counter.txt', 'utf8')),
  };
  const next = String(Number(existsSync('/data/counter.txt') ? readFileSync('/data/counter.txt', 'utf8') : '0') + 1);
  writeFileSync('/data/counter.txt', next);
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(report));
}).listen(8080);
`;

describe('microVM volumes', { timeout: 300_000 }, () => {
  let stateDir: string;
  let work: string;
  let executor: MicroVmExecutor;
  let spec: ExecutionSpec;

  before(async () => {
    const images = await guestImages();
    stateDir = mkdtempSync(join(tmpdir(), 'vvm-'));
    work = mkdtempSync(join(tmpdir(), 'vvm-work-'));
    mkdirSync(join(work, 'code'));
    writeFileSync(join(work, 'code', 'main.mjs'), PROGRAM);
    mkdirSync(join(work, 'assets'));
    writeFileSync(join(work, 'assets', 'greeting.txt'), 'hello from an immutable volume');
    executor = await MicroVmExecutor.create({
      kernel: images.kernel, initramfs: images.initramfs, defaultRuntime: images.runtimes.node, stateDir,
      network: { prefix: TAP_PREFIX }, accelerator: 'tcg', firewall: { table: 'aleph_test_volumes' },
      onEvent: (line) => process.stderr.write(`# ${line}\n`),
    });
    spec = {
      id: 'volumes-test',
      code: { dir: join(work, 'code'), entrypoint: 'main.mjs' },
      volumes: [
        { kind: 'immutable', source: join(work, 'assets'), mount: '/opt/assets' },
        { kind: 'ephemeral', sizeMib: 16, mount: '/mnt/scratch' },
        { kind: 'persistent', source: join(work, 'data.ext4'), sizeMib: 16, mount: '/data' },
      ],
      variables: {},
      resources: { vcpus: 1, memoryMib: 384 },
      internet: false,
    };
  });

  after(async () => {
    await disposeExecutor(executor, stateDir, work);
  });

  async function runOnce(): Promise<Record<string, unknown>> {
    const handle = await executor.start(spec);
    try {
      await handle.waitReady(120_000);
      const res = await fetch(`http://${handle.endpoint.host}:${handle.endpoint.port}/`);
      return (await res.json()) as Record<string, unknown>;
    } finally {
      await handle.stop(10_000);
    }
  }

  it('mounts immutable, ephemeral and persistent volumes with the right semantics', async () => {
    const first = await runOnce();
    assert.equal(first.immutable, 'hello from an immutable volume');
    assert.equal(first.immutableWrite, 'error:EROFS');
    assert.equal(first.ephemeralBefore, false);
    assert.equal(first.ephemeralWrite, 'written');
    assert.equal(first.persistentBefore, 'error:ENOENT');
    assert.ok(existsSync(join(work, 'data.ext4')), 'the persistent image stays on the host');

    const second = await runOnce();
    assert.equal(second.ephemeralBefore, false, 'the ephemeral volume starts empty again');
    assert.equal(second.persistentBefore, '1', 'the persistent volume kept what the first run wrote');

    assert.deepEqual(tapNames(TAP_PREFIX), []);
    assert.deepEqual(qemuProcesses(stateDir), []);
    assert.deepEqual(dirEntries(stateDir).filter((e) => e !== 'tap-leases'), []);
  });
});
