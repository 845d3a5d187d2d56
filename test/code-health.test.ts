/**
 * The structural checks of the production code (issue 18's "Done means"): no import cycle, no
 * production file over 400 lines (scripts/check-structure.mjs), and no repeated block of
 * production code (jscpd, settings in .jscpd.json: 10 lines / 80 tokens or more). Each failure
 * names the files.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('code health', () => {
  it('has no import cycle and no production file over 400 lines', () => {
    const run = spawnSync(process.execPath, [join(root, 'scripts/check-structure.mjs')], { cwd: root, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stdout + run.stderr);
  });

  it('has no repeated block of production code', () => {
    const out = mkdtempSync(join(tmpdir(), 'jscpd-'));
    try {
      const run = spawnSync(join(root, 'node_modules/.bin/jscpd'), ['--config', join(root, '.jscpd.json'), '--output', out, 'packages'], { cwd: root, encoding: 'utf8' });
      assert.equal(run.status, 0, run.stdout + run.stderr);
      const report = JSON.parse(readFileSync(join(out, 'jscpd-report.json'), 'utf8')) as { duplicates: { firstFile: { name: string; start: number; end: number }; secondFile: { name: string; start: number; end: number } }[] };
      const clones = report.duplicates.map((d) => `${d.firstFile.name}:${d.firstFile.start}-${d.firstFile.end} = ${d.secondFile.name}:${d.secondFile.start}-${d.secondFile.end}`);
      assert.deepEqual(clones, []);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
