/**
 * `npm run bench -- --quick` runs end to end and writes a well-formed report. No figure is
 * judged here: speed is for the report, never a test assertion (`--check`: check.test.ts).
 *
 * The microVM scenarios are limited to their smallest plan (`--vms 2 --bare-boots 1`: one first
 * start, one cold start, one bare boot) so that the test stays around two minutes under TCG;
 * every figure id of those sections is still checked. Where QEMU or root is missing they must
 * be listed as skipped with the reason.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { run } from '../helpers/process.ts';

const dir = mkdtempSync(join(tmpdir(), 'bench-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function qemuUsable(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('qemu-system-x86_64', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function nginxUsable(): boolean {
  try {
    accessSync('/usr/sbin/nginx', constants.X_OK);
    return process.getuid?.() === 0;
  } catch {
    return false;
  }
}

const NGINX = ['crn.warm.vs_nginx.added_p50', 'crn.warm.vs_nginx.throughput'];

const ALWAYS = [
  'ccn.ingest.sqlite.messages_per_s',
  'ccn.files.upload_mib_per_s',
  'ccn.files.download_mib_per_s',
  'crn.warm.64B.c1.p50_ms',
  'crn.warm.64B.c1.added_p50_ms',
  'crn.warm.64B.c32.rps',
  'crn.warm.1MiB.c32.rps',
  'crn.warm.64B.c32.crn_cpu_us_per_request',
  'crn.warm.rss_growth_1MiB_mib',
  'crn.cache.process.cached_start_ms',
];

const MICROVM = [
  'crn.cold_start.first_answer_ms',
  'crn.cold_start.added_ms',
  'crn.cold_start.bare_boot_to_init_ms',
  'crn.microvm.boot_retries',
  'crn.microvm.boot_failures',
  'crn.cache.microvm.cached_start_ms',
  'crn.density.programs_per_gib',
  'crn.density.host_mib_per_program',
  'crn.density.qemu_rss_mib',
  'crn.density.guest_ram_touched_mib',
  'crn.density.vmm_overhead_mib',
  'crn.density.vmm_overhead_without_tcg_cache_mib',
];

describe('npm run bench', () => {
  it('--quick --json writes every scenario it ran, with baselines and ratios', async () => {
    const out = join(dir, 'bench.json');
    const r = await run(process.execPath, ['packages/cli/bin/bench.js', '--quick', '--vms', '2', '--bare-boots', '1', '--json', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /FIGURE\s+VALUE\s+BASELINE\s+RATIO/);
    const report = JSON.parse(readFileSync(out, 'utf8')) as {
      quick: boolean;
      host: { threads: number; accelerator: string };
      figures: { id: string; title: string; unit: string; value: number; baseline?: number; ratio?: number; target?: { text: string; met: boolean } }[];
      skipped: { scenario: string; reason: string }[];
    };
    assert.equal(report.quick, true);
    assert.ok(report.host.threads > 0);
    assert.equal(typeof report.host.accelerator, 'string');
    // Scenarios that failed are listed as skipped with "failed:"; none of these may.
    assert.deepEqual(report.skipped.filter((s) => s.reason.startsWith('failed')), []);
    const ids = new Set(report.figures.map((f) => f.id));
    assert.equal(ids.size, report.figures.length, 'figure ids are unique');
    for (const id of ALWAYS) assert.ok(ids.has(id), `figure ${id}`);
    if (nginxUsable()) for (const id of NGINX) assert.ok(ids.has(id), `figure ${id}`);
    else assert.ok(report.skipped.some((s) => s.scenario === 'crn-warm-path vs nginx' && s.reason.length > 0), 'the nginx comparison skipped with a reason');
    if (qemuUsable()) {
      for (const id of MICROVM) assert.ok(ids.has(id), `figure ${id}`);
      assert.match(report.host.accelerator, /^(kvm|tcg) /);
    } else {
      for (const scenario of ['cold-start', 'density', 'cache-microvm']) {
        assert.ok(report.skipped.some((s) => s.scenario === scenario && s.reason.length > 0), `${scenario} skipped with a reason`);
      }
    }
    for (const f of report.figures) {
      assert.ok(f.title.length > 0 && f.unit.length > 0, `${f.id} title and unit`);
      assert.ok(Number.isFinite(f.value), `${f.id} value`);
      if (f.baseline !== undefined) assert.ok(Number.isFinite(f.baseline) && f.baseline > 0, `${f.id} baseline`);
      if (f.ratio !== undefined) assert.ok(Number.isFinite(f.ratio), `${f.id} ratio`);
      if (f.target !== undefined) assert.ok(f.target.text.length > 0 && typeof f.target.met === 'boolean', `${f.id} target`);
    }
  });
});
