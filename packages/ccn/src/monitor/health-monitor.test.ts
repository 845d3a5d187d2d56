/** Health from probe rounds: N failed rounds in a row mark a CRN down, a passing round brings it back; every probe is recorded. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '@aleph-nodes/service';
import { openTestStores, type TestStores } from '../testing/engines.ts';
import type { CrnHealth } from '../scheduler/placement.ts';
import { HealthMonitor, type RoundFn } from './health-monitor.ts';
import { probeRound, type ProbeResult } from './probes.ts';
import { until } from '../testing/until.ts';

const CRN = 'c'.repeat(64);


describe('HealthMonitor', () => {
  let t: TestStores;
  before(async () => {
    t = await openTestStores('sqlite');
  });
  after(async () => {
    await t.dispose();
  });

  it('marks a CRN down after N failed rounds in a row, and healthy again after a passing one', async () => {
    // Scripted rounds: pass, fail, fail, pass (resets), fail, fail, fail (down), pass (back).
    const script = [true, false, false, true, false, false, false, true];
    let rounds = 0;
    const round: RoundFn = async () => {
      const ok = script[rounds] ?? true;
      rounds += 1;
      const p = (check: ProbeResult['check']): ProbeResult => ({ check, time: rounds, latency: ok ? 0.01 : null, ok, version: ok && check === 'version' ? '1.14.0' : null, error: ok ? null : 'connection refused' });
      return {
        probes: [p('version'), p('login'), p('status'), p('usage')],
        capacity: ok ? { cpuCount: 2, totalMemoryMib: 4096, availableMemoryMib: 2048, availableDiskMib: 1000, architecture: 'x86_64', vendor: 'GenuineIntel', features: [], gpuDeviceIds: [] } : undefined,
        version: ok ? '1.14.0' : null,
      };
    };
    const changes: [CrnHealth, CrnHealth][] = [];
    const monitor = new HealthMonitor(
      t.stores.probes,
      { intervalMs: 1, failuresBeforeDown: 3, timeoutMs: 100, referenceVersion: '', diagnosticProgram: '' },
      (_h, from, to) => changes.push([from, to]),
      silentLogger(),
      round,
    );
    monitor.setTargets([{ hash: CRN, url: 'http://crn', owner: '0x1' }]);
    assert.equal(monitor.view({ hash: CRN, url: 'http://crn', owner: '0x1' }).health, 'unknown');
    monitor.start();
    await until(() => rounds >= script.length && changes.length >= 3, 'the scripted rounds');
    await monitor.stop();
    assert.deepEqual(changes, [
      ['unknown', 'healthy'],
      ['healthy', 'down'],
      ['down', 'healthy'],
    ]);
    assert.equal(monitor.status(CRN)?.version, '1.14.0');
    const rows = await t.stores.probes.list({ nodeHash: CRN });
    assert.ok(rows.length >= script.length * 4, 'every probe of every round is recorded');
    assert.deepEqual([...new Set(rows.map((r) => r.check))].sort(), ['login', 'status', 'usage', 'version']);
    assert.ok(rows.some((r) => r.ok === 0 && r.error === 'connection refused' && r.latency === null));
  });
});

describe('probeRound', () => {
  it('probes the Server header, /about/login (401), /status/config, usage and the diagnostic program', async () => {
    const hits: string[] = [];
    const server = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.setHeader('server', 'aleph-vm/1.14.0');
      if (req.url === '/about/login') return void res.writeHead(401).end('{"success":false}');
      if (req.url === '/status/config') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"version":"1.14.0"}');
      if (req.url === '/about/usage/system') {
        return void res.writeHead(200).end(JSON.stringify({ cpu: { count: 4 }, mem: { total_kB: 8 * 1048576, available_kB: 4 * 1048576 }, disk: { total_kB: 1e9, available_kB: 5e8 }, properties: { cpu: { architecture: 'x86_64', vendor: 'AuthenticAMD', features: ['sev'] } } }));
      }
      if (req.url === `/vm/${'d'.repeat(64)}/`) return void res.writeHead(500).end('diag broken');
      res.writeHead(200).end('<html></html>');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const result = await probeRound(url, { timeoutMs: 2000, referenceVersion: '', diagnosticProgram: 'd'.repeat(64) });
      const byCheck = Object.fromEntries(result.probes.map((p) => [p.check, p]));
      assert.equal(byCheck.version?.ok, true);
      assert.equal(byCheck.version?.version, '1.14.0');
      assert.equal(byCheck.login?.ok, true);
      assert.equal(byCheck.status?.ok, true);
      assert.equal(byCheck.usage?.ok, true);
      assert.equal(byCheck.diagnostic?.ok, false);
      assert.equal(byCheck.diagnostic?.error, 'HTTP 500');
      assert.ok(result.probes.every((p) => typeof p.latency === 'number' && p.latency >= 0));
      // The self report for the CRN list; this usage report lacks aleph-vm's full shape: not kept.
      assert.deepEqual(result.report, { version: '1.14.0', payment_receiver_address: null, qemu_support: null, confidential_support: null, gpu_support: null });
      assert.equal(result.systemUsage, undefined);
      assert.deepEqual(result.capacity, { cpuCount: 4, totalMemoryMib: 8192, availableMemoryMib: 4096, availableDiskMib: 488281, architecture: 'x86_64', vendor: 'AuthenticAMD', features: ['sev'], gpuDeviceIds: [] });
      // With a reference version, /status/check/version is probed instead of /status/config.
      hits.length = 0;
      const withRef = await probeRound(url, { timeoutMs: 2000, referenceVersion: '1.2.0', diagnosticProgram: '' });
      assert.ok(hits.includes('/status/check/version?reference=1.2.0'));
      assert.equal(withRef.probes.length, 4);
      // …and /status/config is read for the self report alone (no probe record of it).
      assert.ok(hits.includes('/status/config'));
      assert.equal(withRef.report?.version, '1.14.0');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('a dead CRN fails every probe without a latency', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    await new Promise((r) => server.close(r));
    const result = await probeRound(`http://127.0.0.1:${port}`, { timeoutMs: 1000, referenceVersion: '', diagnosticProgram: '' });
    assert.ok(result.probes.every((p) => !p.ok && p.latency === null && p.error));
    assert.equal(result.capacity, undefined);
  });
});
