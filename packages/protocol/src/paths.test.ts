import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkEntrypoint, checkMountPoint, checkRelativePath, checkTreePath, volumeDirName } from './paths.ts';

describe('path validator (table)', () => {
  const relative: [string, boolean][] = [
    ['main.py', true],
    ['src/index.mjs', true],
    ['run.sh', true],
    ['a/b/c/d.js', true],
    ['.env-loader.js', false],
    ['-rf', false],
    ['../../../../tmp/x/evil.sh', false],
    ['/tmp/evil.sh', false],
    ['a/../b', false],
    ['a/./b', false],
    ['a//b', false],
    ['a/', false],
    ['', false],
    ['a b.sh', false],
    ['a\nb', false],
    ['a\0b', false],
    ['$(id).sh', false],
    ['a;b', false],
    ['é.js', false],
    ['x'.repeat(256), false],
    ['x'.repeat(255), true],
  ];
  for (const [value, ok] of relative) {
    it(`relative ${JSON.stringify(value.slice(0, 40))} → ${ok ? 'accepted' : 'refused'}`, () => {
      assert.equal(checkRelativePath(value).ok, ok);
    });
  }

  const mounts: [string, boolean][] = [
    ['/opt/packages', true],
    ['/opt/venv', true],
    ['/var/lib/example', true],
    ['/data', true],
    ['/data/x', true],
    ['/mnt/volume0', true],
    ['/home/user/state', true],
    ['/opt/code', false],
    ['/opt/code/lib', false],
    ['/opt', false],
    ['/', false],
    ['/usr/bin', false],
    ['/etc', false],
    ['/proc/self', false],
    ['/sys', false],
    ['/dev/shm', false],
    ['/tmp', false],
    ['/bin', false],
    ['/lib/x86_64-linux-gnu', false],
    ['/var/lib/../../usr/bin', false],
    ['/mnt/../usr/bin', false],
    ['/mnt//x', false],
    ['/mnt/x/', false],
    ['mnt/x', false],
    ['/mnt/a b', false],
    ['/datax', false],
  ];
  for (const [value, ok] of mounts) {
    it(`mount ${JSON.stringify(value)} → ${ok ? 'accepted' : 'refused'}`, () => {
      const check = checkMountPoint(value);
      assert.equal(check.ok, ok, check.ok ? 'accepted' : check.reason);
    });
  }

  it('ASGI entrypoints are module:attribute references', () => {
    assert.ok(checkEntrypoint('main:app', true).ok);
    assert.ok(checkEntrypoint('pkg.server:application', true).ok);
    assert.ok(!checkEntrypoint('../main:app', true).ok);
    assert.ok(!checkEntrypoint('main:app;import os', true).ok);
    assert.ok(!checkEntrypoint('main', true).ok);
    assert.ok(checkEntrypoint('main.py', false).ok);
    assert.ok(!checkEntrypoint('/main.py', false).ok);
  });

  const tree: [string, boolean][] = [
    ['.env', true],
    ['node_modules/.bin/tsc', true],
    ['docs/read me.txt', true],
    ['données/é.json', true],
    ['../x', false],
    ['a/../../x', false],
    ['/etc/passwd', false],
    ['a//b', false],
    ['a\\b', false],
    ['a\u0000b', false],
    ['a\nb', false],
    ['.', false],
  ];
  for (const [value, ok] of tree) {
    it(`tree path ${JSON.stringify(value)} → ${ok ? 'accepted' : 'refused'}`, () => {
      assert.equal(checkTreePath(value).ok, ok);
    });
  }

  it('volume names become one safe segment', () => {
    assert.equal(volumeDirName('state', 0), 'state');
    assert.equal(volumeDirName('', 2), 'unamed_volume_2');
    assert.equal(volumeDirName(undefined, 1), 'unamed_volume_1');
    assert.equal(volumeDirName('../..', 0), '_____');
    assert.equal(volumeDirName('a/b', 0), 'a_b');
    assert.equal(volumeDirName('x'.repeat(100), 0).length, 64);
  });

  it('reasons name the value and the rule', () => {
    const check = checkMountPoint('/usr/bin');
    assert.ok(!check.ok && /\/usr\/bin/.test(check.reason) && /below/.test(check.reason));
  });
});
