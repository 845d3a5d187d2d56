/**
 * The promises file: valid against its schema, stated with the same limits in
 * docs/SPECIFICATION.md (so that the two cannot disagree), and applied to figures and judged by
 * `--check` by id (missed, kept, not measured, accelerator-specific bounds).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkPromises } from './check.ts';
import { applyPromises, loadPromises, promiseText, type BenchPromise } from './promises.ts';
import type { Figure, Report } from './report.ts';

const SPEC = fileURLToPath(new URL('../../../../docs/SPECIFICATION.md', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'promises-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Rows of the "## Promises" section: `| \`id\` | what | limit | … |`. */
function specRows(): Map<string, string[]> {
  const text = readFileSync(SPEC, 'utf8');
  const start = text.indexOf('\n## Promises\n');
  assert.ok(start >= 0, 'docs/SPECIFICATION.md has a "## Promises" section');
  const end = text.indexOf('\n## ', start + 1);
  const rows = new Map<string, string[]>();
  for (const line of text.slice(start, end < 0 ? undefined : end).split('\n')) {
    const m = /^\| `([^`]+)` \|(.*)\|$/.exec(line);
    if (!m) continue;
    assert.ok(!rows.has(m[1] as string), `${m[1]} stated once`);
    rows.set(m[1] as string, (m[2] as string).split(' | ').map((c) => c.trim()));
  }
  return rows;
}

function report(figures: Figure[], accelerator = 'none (no microVM scenario ran)', skipped: Report['skipped'] = []): Report {
  return { startedAt: '', quick: true, executor: 'process', host: { cpu: '', threads: 2, memoryGiB: 1, arch: 'x64', kernel: '', node: '', accelerator }, figures, skipped };
}

function fixture(promises: unknown): string {
  const path = join(dir, `p${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify({ promises }));
  return path;
}

const ratio = (id: string, op: BenchPromise['op'], limit: number, group: BenchPromise['group'] = 'ccn-files'): BenchPromise => ({ id, group, text: id, on: 'ratio', op, limit });

describe('bench promises', () => {
  it('docs/promises.json is valid and every promise is stated in SPECIFICATION.md with the same limit', () => {
    const promises = loadPromises();
    const rows = specRows();
    for (const p of promises) {
      const row = rows.get(p.id);
      assert.ok(row, `SPECIFICATION.md states ${p.id}`);
      assert.equal(row[0], promiseText(p), `${p.id}: the limit in SPECIFICATION.md`);
    }
    const ids = new Set(promises.map((p) => p.id));
    for (const id of rows.keys()) assert.ok(ids.has(id), `SPECIFICATION.md promises ${id}, which docs/promises.json does not`);
  });

  it('rejects a malformed file, an unknown field or group, and a duplicate id', () => {
    const good = ratio('a.b', '>=', 1);
    assert.throws(() => loadPromises(join(dir, 'missing.json')), /cannot read the promises file/);
    assert.throws(() => loadPromises(fixture([{ ...good, limit: 'one' }])), /invalid promises file.*limit/);
    assert.throws(() => loadPromises(fixture([{ ...good, group: 'elsewhere' }])), /invalid promises file.*group/);
    assert.throws(() => loadPromises(fixture([{ ...good, extra: 1 }])), /invalid promises file/);
    assert.throws(() => loadPromises(fixture([good, good])), /listed twice/);
    assert.deepEqual(loadPromises(fixture([good])), [good]);
  });

  it('states accelerator-specific limits that differ, in one canonical text', () => {
    const p: BenchPromise = { id: 'x.y', group: 'microvm', text: 't', on: 'value', op: '<=', limit: 10, unit: 'MiB', accelerators: { tcg: { on: 'value', op: '<=', limit: 40, unit: 'MiB' }, kvm: { on: 'value', op: '<=', limit: 10, unit: 'MiB' } } };
    assert.equal(promiseText(p), 'value ≤ 10 MiB (TCG: value ≤ 40 MiB)');
    assert.equal(promiseText(ratio('a.b', '>=', 0.8)), 'ratio ≥ 0.8');
  });

  it('targets come from the promises by id, under the run accelerator; a scenario target elsewhere is dropped', () => {
    const p: BenchPromise = { id: 'crn.x', group: 'microvm', text: 't', on: 'ratio', op: '<=', limit: 0.2, accelerators: { kvm: { on: 'value', op: '<', limit: 50, unit: 'ms' } } };
    const f: Figure = { id: 'crn.x', title: 't', unit: 'ms', value: 40, baseline: 100, ratio: 0.4 };
    const other: Figure = { id: 'crn.y', title: 't', unit: 'ms', value: 1, target: { text: 'hard-coded', met: true } };
    const [tcg, y] = applyPromises([f, other], [p], 'tcg (software emulation)');
    assert.deepEqual(tcg?.target, { text: 'ratio ≤ 0.2', met: false });
    assert.equal(y?.target, undefined);
    assert.deepEqual(applyPromises([f], [p], 'kvm (hardware)')[0]?.target, { text: 'value < 50 ms (KVM)', met: true });
  });

  it('--check: a missed promise, an unmeasured one and an absent ratio are problems; unselected groups are not', () => {
    const promises = [ratio('ccn.files.up', '>=', 0.8), ratio('ccn.files.down', '>=', 0.9), ratio('ccn.files.gone', '>=', 0.5), ratio('ccn.files.noratio', '<=', 1.5), ratio('crn.warm.z', '>=', 0.8, 'crn-warm-path')];
    const figures: Figure[] = [
      { id: 'ccn.files.up', title: 't', unit: 'MiB/s', value: 90, baseline: 100, ratio: 0.9 },
      { id: 'ccn.files.down', title: 't', unit: 'MiB/s', value: 50, baseline: 100, ratio: 0.5 },
      { id: 'ccn.files.noratio', title: 't', unit: 'ms', value: 0.3, baseline: -0.01 },
    ];
    const r = checkPromises(report(figures), promises, ['ccn-files']);
    assert.equal(r.kept, 1);
    assert.equal(r.problems.length, 3, r.problems.join('\n'));
    assert.match(r.problems[0] as string, /^MISSED ccn\.files\.down: ratio 0\.5, promise ratio ≥ 0\.9$/);
    assert.match(r.problems[1] as string, /^NOT MEASURED ccn\.files\.gone/);
    assert.match(r.problems[2] as string, /^MISSED ccn\.files\.noratio: ratio absent/);
    // The skip reason of the group is given with an unmeasured figure.
    const skipped = checkPromises(report([], undefined, [{ scenario: 'crn-warm-path', reason: 'failed: boom' }]), promises, ['crn-warm-path']);
    assert.deepEqual(skipped.problems, ['NOT MEASURED crn.warm.z (crn-warm-path): skipped crn-warm-path: failed: boom']);
    assert.deepEqual(checkPromises(report(figures), promises, ['ccn-ingest']).problems, []);
  });
});
