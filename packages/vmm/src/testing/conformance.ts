/**
 * The executor conformance suite: the behaviour the CRN supervisor relies on, checked against
 * any backend through the public interface only (no process or VM internals). The `process`
 * backend runs it in test/vmm; the microVM backend must pass it unchanged.
 *
 *   runExecutorConformance('process', async () => ({ executor, close }));
 *
 * The workload is a small Node.js HTTP server on port 8080 (the backend's runtime must provide
 * Node.js: the host for `process`, a runtime image for microVMs, passed as `runtime`).
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExecutorError, type ExecutionHandle, type ExecutionSpec, type Executor, type LogLine } from '../executor.ts';

export interface ConformanceTarget {
  executor: Executor;
  /** Runtime to pass in specs (a Node.js-capable root filesystem for microVMs). */
  runtime?: { path: string };
  /** A snapshot of the host resources the backend creates (namespaces, cgroups, taps...). */
  leftovers?(): unknown;
  close(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;

const SERVER = `
import http from 'node:http';
import { writeFileSync } from 'node:fs';
const hold = [];
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://workload');
  const json = (value) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(value)); };
  if (url.pathname === '/env') return json(process.env);
  if (url.pathname === '/echo') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => json({ method: req.method, path: url.pathname, query: url.search, header: req.headers['x-conformance'] ?? null, body: Buffer.concat(chunks).toString('utf8') }));
    return;
  }
  if (url.pathname === '/log') { console.log('log-line ' + url.searchParams.get('text')); return json({ ok: true }); }
  if (url.pathname === '/write-code') {
    try { writeFileSync(new URL('./written.txt', import.meta.url), 'x'); return json({ written: true }); }
    catch (err) { return json({ written: false, error: err.code }); }
  }
  if (url.pathname === '/crash') { console.error('conformance-crash-marker'); setTimeout(() => process.exit(3), 20); return json({ crashing: true }); }
  if (url.pathname === '/alloc') {
    const mb = Number(url.searchParams.get('mb'));
    for (let i = 0; i < mb; i += 16) { const b = Buffer.alloc(16 * 1024 * 1024, 1); hold.push(b); }
    return json({ allocated: mb });
  }
  res.end('hello from the workload');
});
server.listen(8080, '0.0.0.0', () => console.log('conformance workload listening'));
`;

const CRASH_ON_START = `
console.error('conformance-start-failure-marker');
process.exit(1);
`;

function httpUrl(handle: ExecutionHandle, path: string): string {
  const host = handle.endpoint.host.includes(':') ? `[${handle.endpoint.host}]` : handle.endpoint.host;
  return `http://${host}:${handle.endpoint.port}${path}`;
}

/** True when the workload no longer answers (the address may lead elsewhere once released). */
async function gone(handle: ExecutionHandle): Promise<boolean> {
  try {
    const res = await fetch(httpUrl(handle, '/'), { signal: AbortSignal.timeout(2000) });
    return (await res.text()) !== 'hello from the workload';
  } catch {
    return true;
  }
}

export function runExecutorConformance(name: string, makeTarget: () => Promise<ConformanceTarget>): void {
  describe(`executor conformance: ${name}`, () => {
    let target: ConformanceTarget;
    let codeDir: string;
    let crashDir: string;
    let before0: unknown;
    const started: ExecutionHandle[] = [];
    let counter = 0;

    const spec = (overrides: Partial<ExecutionSpec> = {}): ExecutionSpec => ({
      id: `conf-${process.pid}-${++counter}`,
      code: { dir: codeDir, entrypoint: 'server.mjs' },
      runtime: target.runtime,
      volumes: [],
      variables: { CONFORMANCE_VAR: 'visible value', ANOTHER: 'a=b c' },
      resources: { vcpus: 1, memoryMib: 256 },
      internet: false,
      ...overrides,
    });

    const start = async (s: ExecutionSpec): Promise<ExecutionHandle> => {
      const handle = await target.executor.start(s);
      started.push(handle);
      return handle;
    };

    before(async () => {
      target = await makeTarget();
      before0 = target.leftovers?.();
      codeDir = mkdtempSync(join(tmpdir(), 'conformance-code-'));
      writeFileSync(join(codeDir, 'server.mjs'), SERVER);
      crashDir = mkdtempSync(join(tmpdir(), 'conformance-crash-'));
      writeFileSync(join(crashDir, 'main.mjs'), CRASH_ON_START);
      // mkdtemp makes 0700 directories; workloads run unprivileged and must read their code.
      chmodSync(codeDir, 0o755);
      chmodSync(crashDir, 0o755);
    });

    after(async () => {
      for (const h of started) await h.stop(2000).catch(() => undefined);
      await target?.close();
      rmSync(codeDir, { recursive: true, force: true });
      rmSync(crashDir, { recursive: true, force: true });
    });

    it('declares what it can run, and refuses an instance when it does not boot instances', async () => {
      const caps = target.executor.capabilities;
      assert.equal(typeof caps.instances, 'boolean');
      assert.equal(typeof caps.runtimeImages, 'boolean');
      for (const flag of [caps.asgi, caps.ipv6]) assert.equal(typeof flag, 'boolean');
      // Every backend runs the encodings the CRN unpacks itself, and zip volumes.
      assert.ok(caps.codeFormats.includes('zip') && caps.codeFormats.includes('plain') && caps.volumeFormats.includes('zip'));
      if (caps.instances) return; // booting one is the instance suites' work (minutes under TCG)
      await assert.rejects(
        target.executor.start(spec({ instance: { rootDisk: join(codeDir, 'no-disk.img'), authorizedKeys: [], hostname: 'conformance', portForwards: [] } })),
        (err: unknown) => err instanceof ExecutorError,
      );
    });

    it('starts a workload that serves HTTP on its port, with its variables and nothing else', async () => {
      process.env.CONFORMANCE_HOST_ONLY = 'must not leak';
      const handle = await start(spec());
      assert.equal(handle.state, 'starting');
      await handle.waitReady(READY_TIMEOUT_MS);
      assert.equal(handle.state, 'running');
      const res = await fetch(httpUrl(handle, '/'));
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'hello from the workload');
      const env = (await (await fetch(httpUrl(handle, '/env'))).json()) as Record<string, string>;
      assert.equal(env.CONFORMANCE_VAR, 'visible value');
      assert.equal(env.ANOTHER, 'a=b c');
      assert.equal(env.CONFORMANCE_HOST_ONLY, undefined);
      await handle.stop();
    });

    it('passes method, query, headers and body through', async () => {
      const handle = await start(spec());
      await handle.waitReady(READY_TIMEOUT_MS);
      const res = await fetch(httpUrl(handle, '/echo?x=1'), { method: 'PUT', headers: { 'x-conformance': 'yes' }, body: 'payload bytes' });
      assert.deepEqual(await res.json(), { method: 'PUT', path: '/echo', query: '?x=1', header: 'yes', body: 'payload bytes' });
      const code = (await (await fetch(httpUrl(handle, '/write-code'))).json()) as { written: boolean };
      assert.equal(code.written, false, 'the code must be mounted read-only');
      await handle.stop();
    });

    it('streams log lines to subscribers and keeps recent ones', async () => {
      const handle = await start(spec());
      await handle.waitReady(READY_TIMEOUT_MS);
      const seen = new Promise<LogLine>((resolve) => {
        const off = handle.subscribeLogs((line) => {
          if (line.text.includes('log-line subscribed-text')) {
            off();
            resolve(line);
          }
        });
      });
      await fetch(httpUrl(handle, '/log?text=subscribed-text'));
      const line = await seen;
      assert.equal(line.stream, 'stdout');
      assert.ok(handle.recentLogs().some((l) => l.text.includes('conformance workload listening')));
      await handle.stop();
    });

    it('stops: the exit is reported as requested, the port closes, stop is idempotent', async () => {
      const handle = await start(spec());
      await handle.waitReady(READY_TIMEOUT_MS);
      await handle.stop();
      assert.equal(handle.state, 'stopped');
      const exit = await handle.exited;
      assert.equal(exit.requested, true);
      assert.ok(await gone(handle));
      await handle.stop();
      assert.equal(handle.state, 'stopped');
    });

    it('detects a crash and keeps the last log lines', async () => {
      const handle = await start(spec());
      await handle.waitReady(READY_TIMEOUT_MS);
      await fetch(httpUrl(handle, '/crash')).catch(() => undefined);
      const exit = await handle.exited;
      assert.equal(exit.requested, false);
      assert.equal(handle.state, 'failed');
      assert.ok(handle.recentLogs().some((l) => l.stream === 'stderr' && l.text.includes('conformance-crash-marker')));
    });

    it('reports a workload that exits on start, with its output', async () => {
      const handle = await start(spec({ code: { dir: crashDir, entrypoint: 'main.mjs' } }));
      await assert.rejects(handle.waitReady(READY_TIMEOUT_MS), (err: unknown) => {
        assert.ok(err instanceof ExecutorError);
        assert.equal(err.code, 'EXITED');
        assert.ok(err.logs.some((l) => l.text.includes('conformance-start-failure-marker')));
        return true;
      });
      await handle.exited;
      assert.equal(handle.state, 'failed');
    });

    it('enforces the memory limit', async () => {
      const handle = await start(spec({ resources: { vcpus: 1, memoryMib: 128 } }));
      await handle.waitReady(READY_TIMEOUT_MS);
      let allocated = false;
      try {
        const res = await fetch(httpUrl(handle, '/alloc?mb=512'), { signal: AbortSignal.timeout(60_000) });
        allocated = res.status === 200 && ((await res.json()) as { allocated?: number }).allocated === 512;
      } catch {
        allocated = false;
      }
      assert.equal(allocated, false, 'a 128 MiB workload must not hold 512 MiB');
      await handle.stop(2000);
    });

    it('restarts an execution under the same id after a stop', async () => {
      const s = spec();
      const first = await start(s);
      await first.waitReady(READY_TIMEOUT_MS);
      await first.stop();
      const second = await start(s);
      await second.waitReady(READY_TIMEOUT_MS);
      const res = await fetch(httpUrl(second, '/'));
      assert.equal(res.status, 200);
      await res.text();
      await second.stop();
    });

    it('re-adopts a detached workload from its adoption record', async () => {
      const s = spec();
      const handle = await start(s);
      await handle.waitReady(READY_TIMEOUT_MS);
      const record = JSON.parse(JSON.stringify(handle.adoptionRecord())) as ReturnType<ExecutionHandle['adoptionRecord']>;
      handle.detach();
      const adopted = await target.executor.adopt(record, s);
      assert.ok(adopted, 'a running workload must be adoptable');
      started.push(adopted);
      assert.equal(adopted.state, 'running');
      await adopted.waitReady(READY_TIMEOUT_MS);
      const res = await fetch(httpUrl(adopted, '/'));
      assert.equal(await res.text(), 'hello from the workload');
      await adopted.stop();
      assert.equal(await target.executor.adopt(record, s), undefined, 'a stopped workload is not adoptable');
    });

    it('leaves no host resources behind', { skip: false }, async () => {
      for (const h of started) await h.stop(2000).catch(() => undefined);
      if (!target.leftovers) return;
      assert.deepEqual(target.leftovers(), before0);
    });
  });
}
