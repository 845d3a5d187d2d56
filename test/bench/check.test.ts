/**
 * `npm run bench -- --check`: its exit codes against tiny promises files whose outcome does not
 * depend on speed (a limit every run keeps, one no run can keep, a figure no scenario emits, a
 * group not selected). Apart from bench.test.ts so that each file stays within the runner's
 * per-file time on a loaded host; only the `cache` group runs (twice), no timed assertion.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { run } from '../helpers/process.ts';

const dir = mkdtempSync(join(tmpdir(), 'bench-check-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run bench -- --check', () => {
  it('--check exits 2 on bad arguments or a bad promises file, before running anything', async () => {
    const badGroup = await run(process.execPath, ['packages/cli/bin/bench.js', '--check', '--only', 'nope']);
    assert.equal(badGroup.code, 2, badGroup.stderr);
    assert.match(badGroup.stderr, /unknown scenario group nope/);
    const badFile = join(dir, 'bad-promises.json');
    writeFileSync(badFile, JSON.stringify({ promises: [{ id: 'crn.cache.process.cached_start_ms', group: 'cache', on: 'value', op: '~', limit: 0, text: 't' }] }));
    const bad = await run(process.execPath, ['packages/cli/bin/bench.js', '--check', '--only', 'cache', '--promises', badFile]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /invalid promises file/);
    assert.doesNotMatch(bad.stderr, /bench: cache-process/, 'nothing ran');
    const help = await run(process.execPath, ['packages/cli/bin/bench.js', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--check/);
  });

  it('--check exits 0 when every promise of the selected groups is kept, 1 on a missed or unmeasured one', async () => {
    const promises = (list: object[]): string => {
      const path = join(dir, `promises-${list.length}.json`);
      writeFileSync(path, JSON.stringify({ promises: list }));
      return path;
    };
    const kept = { id: 'crn.cache.process.cached_start_ms', group: 'cache', text: 'any start time', on: 'value', op: '>=', limit: 0, unit: 'ms' };
    const elsewhere = { id: 'ccn.files.upload_mib_per_s', group: 'ccn-files', text: 'not selected', on: 'ratio', op: '>=', limit: 1e9 };
    const ok = await run(process.execPath, ['packages/cli/bin/bench.js', '--quick', '--only', 'cache', '--check', '--promises', promises([kept, elsewhere])]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /check: 1 promise\(s\) kept, 0 missed or not measured/);
    const missed = { ...kept, op: '<', limit: 0 };
    const unmeasured = { id: 'crn.cache.process.never_emitted', group: 'cache', text: 'no scenario emits it', on: 'value', op: '>=', limit: 0 };
    const bad = await run(process.execPath, ['packages/cli/bin/bench.js', '--quick', '--only', 'cache', '--check', '--promises', promises([missed, unmeasured, elsewhere])]);
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /^check: MISSED crn\.cache\.process\.cached_start_ms: value [\d.]+, promise value < 0 ms$/m);
    assert.match(bad.stdout, /^check: NOT MEASURED crn\.cache\.process\.never_emitted \(cache\)/m);
    assert.doesNotMatch(bad.stdout, /ccn\.files/, 'a group not selected is not judged');
  });
});
