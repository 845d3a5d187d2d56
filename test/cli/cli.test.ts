/**
 * The operator commands as operators run them: `npx ccn` / `npx crn` from the repository root,
 * real processes, exit codes 0 (ok), 1 (failed), 2 (usage).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { jsonLine, run, RunningProcess } from '../helpers/process.ts';

const NPX = 'npx';
const dir = mkdtempSync(join(tmpdir(), 'cli-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

for (const name of ['ccn', 'crn'] as const) {
  describe(`npx ${name}`, () => {
    it('--help lists the commands and exits 0', async () => {
      const r = await run(NPX, [name, '--help']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /start/);
      assert.match(r.stdout, /config/);
    });

    it('a wrong flag value exits 2 and says why', async () => {
      const r = await run(NPX, [name, 'start', '--port', 'eighty']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /port/);
    });

    it('an unknown command exits 2', async () => {
      const r = await run(NPX, [name, 'frobnicate']);
      assert.equal(r.code, 2);
    });

    it('config --json lists every setting with its environment variable', async () => {
      const r = await run(NPX, [name, 'config', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const rows = JSON.parse(r.stdout) as { key: string; env: string }[];
      const port = rows.find((row) => row.key === 'port');
      assert.equal(port?.env, `${name.toUpperCase()}_PORT`);
    });

    it('an invalid configuration exits 2 before starting anything', async () => {
      const r = await run(NPX, [name, 'start', '--data-dir', join(dir, `${name}-bad`)], { env: { [`${name.toUpperCase()}_PORT`]: '-5' } });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /port/);
    });
  });
}

describe('npx ccn start', () => {
  it('serves until SIGTERM, then stops cleanly with exit 0', async () => {
    // The launcher itself, not npx: npm exec does not forward SIGTERM to the command it runs.
    const init = await run(NPX, ['ccn', 'init', '--data-dir', join(dir, 'ccn')]);
    assert.equal(init.code, 0, init.stderr);
    const node = new RunningProcess(process.execPath, ['packages/cli/bin/ccn.js', 'start', '--port', '0', '--p2p-port', '0', '--data-dir', join(dir, 'ccn')]);
    const ready = jsonLine(await node.waitForLine((l) => jsonLine(l)?.msg === 'ccn ready'));
    const url = ready?.url as string;
    const res = await fetch(`${url}/api/v0/messages.json`);
    assert.equal(res.status, 200);
    const exit = await node.stop('SIGTERM');
    assert.equal(exit.code, 0, node.stderr);
  });
});

describe('npx crn doctor', () => {
  it('--json reports the host, the KVM probe and every requirement; --strict exits 1 exactly when one fails', async () => {
    const { cpus } = await import('node:os');
    const r = await run(process.execPath, ['packages/cli/bin/crn.js', 'doctor', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as {
      ok: boolean;
      host: { cpu: { threads: number }; virtualization: { virtual: boolean } };
      kvm: { usable: boolean; detail: string };
      checks: { id: string; status: string }[];
    };
    assert.equal(report.host.cpu.threads, cpus().length);
    const ids = report.checks.map((c) => c.id);
    for (const id of ['bare-metal', 'kvm', 'arch', 'cpu', 'memory', 'storage', 'nvme', 'ipv4', 'ipv6', 'tun', 'cgroups', 'nftables']) assert.ok(ids.includes(id), id);
    assert.ok(report.checks.every((c) => c.status === 'pass' || c.status === 'fail'));
    assert.equal(report.checks.find((c) => c.id === 'kvm')?.status, report.kvm.usable ? 'pass' : 'fail');
    assert.equal(report.checks.find((c) => c.id === 'bare-metal')?.status, report.host.virtualization.virtual ? 'fail' : 'pass');
    assert.equal(report.ok, report.checks.every((c) => c.status === 'pass'));
    const strict = await run(process.execPath, ['packages/cli/bin/crn.js', 'doctor', '--strict']);
    assert.equal(strict.code, report.ok ? 0 : 1);
    assert.match(strict.stdout, /CHECK\s+RESULT/);
    const widest = Math.max(...strict.stdout.split('\n').map((l) => l.length));
    assert.ok(widest <= 100, `the table fits 100 columns (widest line: ${widest})`);
  });
});
