import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { makeZip, type ZipEntryInput } from '../testing/zip.ts';
import { safeUnzip, UnzipError } from './safe-unzip.ts';

const limits = { maxEntries: 100, maxTotalBytes: 1024 * 1024 };

describe('safeUnzip', () => {
  const root = mkdtempSync(join(tmpdir(), 'crn-unzip-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  const extract = async (entries: ZipEntryInput[], l = limits): Promise<string> => {
    const zip = join(root, `a${++n}.zip`);
    writeFileSync(zip, makeZip(entries));
    const dir = join(root, `out${n}`);
    await safeUnzip(zip, dir, l);
    return dir;
  };

  it('extracts files, directories, executable bits and inner symlinks', async () => {
    const dir = await extract([
      { name: 'src/', data: '' },
      { name: 'src/main.mjs', data: 'console.log(1)', deflate: true },
      { name: 'run.sh', data: '#!/bin/sh\n', mode: 0o755 },
      { name: 'link', data: 'src/main.mjs', symlink: true },
    ]);
    assert.equal(readFileSync(join(dir, 'src/main.mjs'), 'utf8'), 'console.log(1)');
    assert.equal(statSync(join(dir, 'run.sh')).mode & 0o777, 0o755);
    assert.equal(readlinkSync(join(dir, 'link')), 'src/main.mjs');
  });

  it('refuses path traversal and absolute names', async () => {
    await assert.rejects(extract([{ name: '../evil.txt', data: 'x' }]), /archive|path|invalid/i);
    assert.equal(existsSync(join(root, 'evil.txt')), false);
    await assert.rejects(extract([{ name: '/etc/evil', data: 'x' }]), /absolute|invalid/i);
  });

  it('refuses symlinks out of the tree, even via ..', async () => {
    await assert.rejects(extract([{ name: 'out', data: '/etc/passwd', symlink: true }]), UnzipError);
    await assert.rejects(extract([{ name: 'top', data: '.', symlink: true }, { name: 'up', data: 'top/..', symlink: true }]), UnzipError);
  });

  it('stops a zip bomb while streaming and caps the entry count', async () => {
    const zeros = new Uint8Array(4 * 1024 * 1024);
    await assert.rejects(extract([{ name: 'bomb.bin', data: zeros, deflate: true }]), /expands to more than/);
    const many = Array.from({ length: 101 }, (_, i) => ({ name: `f${i}`, data: '' }));
    await assert.rejects(extract(many), /entries/);
  });

  it('never writes through a symlink of the archive, even one pointing inside', async () => {
    await assert.rejects(
      extract([
        { name: 'src/', data: '' },
        { name: 'link', data: 'src', symlink: true },
        { name: 'link/evil.sh', data: 'x' },
      ]),
      (err: unknown) => err instanceof UnzipError && /link/.test(err.message),
    );
  });

  it('never writes through a link that was there before', async () => {
    const outside = join(root, 'outside-pre');
    mkdirSync(outside);
    const dir = join(root, 'pre-planted');
    mkdirSync(dir);
    symlinkSync(outside, join(dir, 'sub'));
    const zip = join(root, 'pre.zip');
    writeFileSync(zip, makeZip([{ name: 'sub/evil.sh', data: 'x' }]));
    await assert.rejects(safeUnzip(zip, dir, limits), UnzipError);
    writeFileSync(zip, makeZip([{ name: 'sub', data: 'x' }]));
    await assert.rejects(safeUnzip(zip, dir, limits), UnzipError);
    assert.deepEqual(readdirSync(outside), []);
  });

  it('refuses duplicate entries instead of overwriting, and names outside the tree rules', async () => {
    await assert.rejects(extract([{ name: 'a.js', data: '1' }, { name: 'a.js', data: '2' }]), /twice/);
    await assert.rejects(extract([{ name: 'a', data: '1' }, { name: 'a/b', data: '2' }]), UnzipError);
    await assert.rejects(extract([{ name: 'a/./b.js', data: 'x' }]), /archive entry/);
    await assert.rejects(extract([{ name: 'a\u0001b.js', data: 'x' }]), /archive entry/);
  });

  it('extracts the names real code trees have: dot files, spaces, non-ASCII', async () => {
    await extract([
      { name: '.env', data: 'x' },
      { name: 'node_modules/.bin/tool', data: 'y' },
      { name: 'docs/read me.txt', data: 'z' },
      { name: 'données.json', data: '{}' },
    ]);
  });

  it('refuses archives whose declared sizes exceed the cap before inflating them', async () => {
    await assert.rejects(extract([{ name: 'big.bin', data: 'small', deflate: true, declaredSize: 2 * 1024 * 1024 }]), /expands to more than/);
  });
});
