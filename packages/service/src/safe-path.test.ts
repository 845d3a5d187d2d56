import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { resolveInside, UnsafePathError, writeFileInside } from './safe-path.ts';

describe('safe-path', () => {
  const base = mkdtempSync(join(tmpdir(), 'safe-path-'));
  after(() => rmSync(base, { recursive: true, force: true }));

  it('writes a nested file inside the root', () => {
    const root = join(base, 'ok');
    mkdirSync(root);
    const path = writeFileInside(root, 'a/b/c.sh', 'echo hi', 0o755);
    assert.equal(readFileSync(path, 'utf8'), 'echo hi');
  });

  it('refuses names the validator refuses, before touching the disk', () => {
    const root = join(base, 'names');
    mkdirSync(root);
    for (const rel of ['../escape', '/abs', 'a/../../b', '']) {
      assert.throws(() => writeFileInside(root, rel, 'x'), UnsafePathError);
    }
    assert.ok(!existsSync(join(base, 'escape')));
  });

  it('refuses a symlinked parent directory pointing outside', () => {
    const root = join(base, 'link-parent');
    const outside = join(base, 'outside-1');
    mkdirSync(root);
    mkdirSync(outside);
    symlinkSync(outside, join(root, 'sub'));
    assert.throws(() => writeFileInside(root, 'sub/evil', 'x'), UnsafePathError);
    assert.ok(!existsSync(join(outside, 'evil')));
  });

  it('refuses a symlink at the target itself', () => {
    const root = join(base, 'link-target');
    const outside = join(base, 'outside-2');
    mkdirSync(root);
    writeFileSync(outside, 'untouched');
    symlinkSync(outside, join(root, 'file'));
    assert.throws(() => writeFileInside(root, 'file', 'x'), UnsafePathError);
    assert.equal(readFileSync(outside, 'utf8'), 'untouched');
  });

  it('resolves without creating when asked not to', () => {
    const root = join(base, 'resolve');
    mkdirSync(root);
    assert.throws(() => resolveInside(root, 'missing/file'), UnsafePathError);
    assert.ok(resolveInside(root, 'file').endsWith('/resolve/file'));
  });
});
