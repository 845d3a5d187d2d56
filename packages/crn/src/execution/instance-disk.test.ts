import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ensureRootDisk, ext4ImageProblem, removeInstanceData, rootDiskPath } from './instance-disk.ts';

const MIB = 1024 * 1024;

/** A small real ext4 image holding /etc/hello, made without mounting (`mke2fs -d`). */
function makeImage(dir: string, name: string, sizeMib: number): string {
  const content = join(dir, `${name}-content`);
  mkdirSync(join(content, 'etc'), { recursive: true });
  writeFileSync(join(content, 'etc', 'hello'), 'hello from the parent\n');
  const path = join(dir, `${name}.ext4`);
  execFileSync('mke2fs', ['-q', '-F', '-t', 'ext4', '-d', content, path, `${sizeMib}M`]);
  return path;
}

/** Block count × block size, as the file system itself reports it. */
function fsBytes(path: string): number {
  const out = execFileSync('dumpe2fs', ['-h', path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const count = Number(/Block count:\s+(\d+)/.exec(out)?.[1]);
  const size = Number(/Block size:\s+(\d+)/.exec(out)?.[1]);
  return count * size;
}

const readFile = (image: string, file: string): string => execFileSync('debugfs', ['-R', `cat ${file}`, image], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });

describe('instance root disk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'crn-instance-disk-'));
  const instances = join(dir, 'instances');
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('copies the parent, grows the file system to size_mib and keeps the content', async () => {
    const parent = makeImage(dir, 'parent', 8);
    const disk = await ensureRootDisk(instances, 'vm1', parent, 32);
    assert.equal(disk, rootDiskPath(instances, 'vm1'));
    assert.equal(statSync(disk).size, 32 * MIB);
    assert.equal(fsBytes(disk), 32 * MIB);
    assert.equal(readFile(disk, '/etc/hello'), 'hello from the parent\n');
    assert.equal(fsBytes(parent), 8 * MIB, 'the parent in the cache is untouched');
    assert.deepEqual(readdirSync(join(instances, 'vm1')), ['rootfs.ext4'], 'no temporary file is left');
  });

  it('keeps an existing disk on later starts (the owner data survives restarts)', async () => {
    const parent = makeImage(dir, 'parent2', 8);
    const disk = await ensureRootDisk(instances, 'vm2', parent, 16);
    // The owner writes into the disk (as the guest would); a second start must not recreate it.
    execFileSync('debugfs', ['-w', '-R', 'mkdir /root-data', disk], { stdio: 'ignore' });
    await ensureRootDisk(instances, 'vm2', parent, 16);
    assert.match(execFileSync('debugfs', ['-R', 'ls -l /', disk], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }), /root-data/);
  });

  it('refuses a parent larger than size_mib, and an image that is not ext4', async () => {
    const parent = makeImage(dir, 'big', 16);
    await assert.rejects(ensureRootDisk(instances, 'vm3', parent, 8), (err: Error & { code?: string }) => err.code === 'INVALID_IMAGE' && /larger than rootfs.size_mib/.test(err.message));
    const notImage = join(dir, 'runtime.squashfs');
    writeFileSync(notImage, Buffer.concat([Buffer.from('hsqs'), Buffer.alloc(4096)]));
    await assert.rejects(ensureRootDisk(instances, 'vm4', notImage, 8), (err: Error & { code?: string }) => err.code === 'INVALID_IMAGE' && /squashfs/.test(err.message));
    const random = join(dir, 'random.bin');
    writeFileSync(random, Buffer.alloc(64 * 1024, 7));
    assert.match(ext4ImageProblem(random) ?? '', /not a raw ext4 disk image/);
    assert.match(ext4ImageProblem(join(dir, 'missing')) ?? '', /cannot be read/);
    assert.equal(existsSync(rootDiskPath(instances, 'vm3')), false);
    assert.equal(existsSync(rootDiskPath(instances, 'vm4')), false);
  });

  it('removes everything kept for an instance', async () => {
    const parent = makeImage(dir, 'parent5', 8);
    await ensureRootDisk(instances, 'vm5', parent, 8);
    removeInstanceData(instances, 'vm5');
    assert.equal(existsSync(join(instances, 'vm5')), false);
  });
});
