/**
 * The structural checks of the production code: no import cycle, no
 * production file over 400 lines (scripts/check-structure.mjs), and no repeated block of
 * production code (jscpd, settings in .jscpd.json: 10 lines / 80 tokens or more). Each failure
 * names the files. Every section citation of the code and docs resolves in docs/reference/
 * (scripts/check-citations.ts).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkCitations, checkText, loadReference } from '../scripts/check-citations.ts';
import { PY_VENVS } from './compat/helpers/python.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('code health', () => {
  it('has no import cycle, no production file over 400 lines, no guest agent import outside its boundary', () => {
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

  it('cites only sections of docs/reference/ documents', () => {
    assert.deepEqual(checkCitations(root).map((f) => `${f.file}:${f.line}: ${f.message}`), []);
  });

  it('reports a citation without a document, an unknown document or section, and a label the section lacks', () => {
    const S = '\u00a7';
    const docs = loadReference(root);
    const messages = (text: string): string[] => checkText('x.ts', text, docs).map((f) => f.message);
    assert.deepEqual(messages(`(crn-api.md ${S}3.5, ${S}3.6; aleph-protocol.md ${S}4.1–${S}4.3; network-payments-runtime.md ${S}1 "Missing file")`), []);
    assert.deepEqual(messages(`(reference ${S}7.2)`), [`${S} without a document: cite it as <document>.md ${S}N (docs/reference/)`]);
    assert.deepEqual(messages(`(nowhere.md ${S}1)`), ['nowhere.md is not a document of docs/reference/']);
    assert.deepEqual(messages(`(crn-api.md ${S}3.5, ${S}3.99)`), [`crn-api.md has no section ${S}3.99`]);
    assert.deepEqual(messages(`(crn-api.md ${S}3.5 "no such words here")`), [`crn-api.md ${S}3.5 does not mention "no such words here"`]);
  });

  it('scripts/setup-debian.sh makes the Python venvs where the compatibility tests look for them', () => {
    const lines = readFileSync(join(root, 'scripts/setup-debian.sh'), 'utf8').split('\n').map((l) => l.trim());
    // The default root, overridable from the environment.
    assert.ok(lines.includes(`ALEPH_PY_ROOT="\${ALEPH_PY_ROOT:-${PY_VENVS.root}}"`));
    assert.ok(lines.some((l) => l.startsWith(`py_venv ${PY_VENVS.sdk} aleph-sdk-python==`)));
    assert.ok(lines.some((l) => l.startsWith(`py_venv ${PY_VENVS.cli} aleph-client==`)));
  });
});
