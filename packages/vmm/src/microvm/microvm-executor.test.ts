/** What the microVM executor refuses before booting anything (no QEMU runs in these tests). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecutorError } from '../executor.ts';
import type { ExecutionSpec } from '../executor.ts';
import { MicroVmExecutor } from './microvm-executor.ts';

async function setup(t: { after: (fn: () => Promise<void>) => void }) {
  const dir = await mkdtemp(join(tmpdir(), 'mvx-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const squashfs = join(dir, 'runtime.squashfs');
  await writeFile(squashfs, Buffer.concat([Buffer.from('hsqs'), Buffer.alloc(60)]));
  await writeFile(join(dir, 'vmlinuz'), 'k');
  await writeFile(join(dir, 'initramfs'), 'i');
  const code = join(dir, 'code');
  await mkdir(code);
  await writeFile(join(code, 'main.mjs'), '');
  const stateDir = join(dir, 'state');
  const executor = await MicroVmExecutor.create({ kernel: join(dir, 'vmlinuz'), initramfs: join(dir, 'initramfs'), defaultRuntime: squashfs, stateDir, accelerator: 'tcg', firewall: false });
  const spec = (overrides: Partial<ExecutionSpec> = {}): ExecutionSpec => ({
    id: 'mvx-1',
    code: { dir: code, entrypoint: 'main.mjs' },
    volumes: [],
    variables: {},
    resources: { vcpus: 1, memoryMib: 256 },
    internet: false,
    ...overrides,
  });
  return { dir, executor, spec, stateDir };
}

function rejectsWith(code: ExecutorError['code'], pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof ExecutorError);
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  };
}

describe('MicroVmExecutor (before boot)', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, () => {
  it('reports the configured accelerator without probing', async (t) => {
    const { executor } = await setup(t);
    assert.equal(executor.accelerator.accelerator, 'tcg');
    assert.equal(executor.name, 'microvm');
  });

  it('refuses a runtime that is not a squashfs image', async (t) => {
    const { dir, executor, spec, stateDir } = await setup(t);
    await writeFile(join(dir, 'plain.img'), 'not squashfs');
    await assert.rejects(executor.start(spec({ runtime: { path: join(dir, 'plain.img') } })), rejectsWith('START_FAILED', /not a squashfs image/));
    assert.deepEqual(await readdir(stateDir), [], 'nothing prepared');
  });

  it('refuses a missing entrypoint, bad ids and too many volumes', async (t) => {
    const { executor, spec } = await setup(t);
    await assert.rejects(executor.start(spec({ code: { dir: '/nonexistent', entrypoint: 'x.js' } })), rejectsWith('START_FAILED', /not a file of the code/));
    await assert.rejects(executor.start(spec({ id: 'Bad_Id' })), rejectsWith('INVALID_SPEC', /execution id/));
    const volumes = Array.from({ length: 5 }, (_, i) => ({ kind: 'ephemeral' as const, sizeMib: 8, mount: `/mnt/v${i}` }));
    await assert.rejects(executor.start(spec({ volumes })), rejectsWith('INVALID_SPEC', /at most 4 volumes/));
  });

  it('refuses instance specs with bad keys, host names, port forwards or root disks', async (t) => {
    const { dir, executor, spec, stateDir } = await setup(t);
    const disk = join(dir, 'root.ext4');
    // An ext4 superblock magic at byte 1080 is all the check before boot reads.
    const bytes = Buffer.alloc(2048);
    bytes.writeUInt16LE(0xef53, 1080);
    await writeFile(disk, bytes);
    const instance = {
      rootDisk: disk,
      authorizedKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAuuIAoh5s2CA3SI9rf15wTTzvwf8/kSNfjy5VOiJqYk me'],
      hostname: 'abc',
      portForwards: [{ hostPort: 24022, guestPort: 22, tcp: true, udp: false }],
    };
    await assert.rejects(executor.start(spec({ instance: { ...instance, authorizedKeys: ['not a key'] } })), rejectsWith('INVALID_SPEC', /not an OpenSSH public key/));
    await assert.rejects(executor.start(spec({ instance: { ...instance, hostname: 'bad host' } })), rejectsWith('INVALID_SPEC', /host name/));
    await assert.rejects(executor.start(spec({ instance: { ...instance, portForwards: [{ hostPort: 0, guestPort: 22, tcp: true, udp: false }] } })), rejectsWith('INVALID_SPEC', /between 1 and 65535/));
    await assert.rejects(executor.start(spec({ instance: { ...instance, rootDisk: join(dir, 'missing.ext4') } })), rejectsWith('START_FAILED', /is not a file/));
    await assert.rejects(executor.start(spec({ instance: { ...instance, rootDisk: join(dir, 'vmlinuz') } })), rejectsWith('START_FAILED', /not an ext4 image/));
    assert.deepEqual(await readdir(stateDir), [], 'nothing prepared');
  });

  it('does not adopt a record of another backend or of a gone VM', async (t) => {
    const { executor, spec } = await setup(t);
    await assert.rejects(executor.adopt({ backend: 'process', id: 'mvx-1', data: {} }, spec()), rejectsWith('UNSUPPORTED', /process/));
    assert.equal(await executor.adopt({ backend: 'microvm', id: 'mvx-1', data: { vm: null } }, spec()), undefined);
  });
});
