/**
 * Isolation specific to the process backend (the conformance suite covers the shared
 * behaviour): unprivileged per-workload identity, own pid namespace, read-only root and code,
 * volumes (a persistent one is an ext4 image), the network without `internet`, and cleanup of
 * every host resource. test/security/process-*.test.ts attack the sandbox.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ProcessExecutor, type ExecutionHandle, type ExecutionSpec } from '@aleph-nodes/vmm';

// Mount points exist only inside the jail: nothing is created at this path on the host.
const MNT = `/mnt/vmm-isolation-${process.pid}`;

const PROBE = `
import http from 'node:http';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
const attempt = (f) => { try { f(); return 'ok'; } catch (err) { return err.code; } };
http.createServer((req, res) => {
  const routes = readFileSync('/proc/net/route', 'utf8').trim().split('\\n').slice(1).map((l) => l.split('\\t')[1]);
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({
    uid: process.getuid(),
    pids: readdirSync('/proc').filter((n) => /^\\d+$/.test(n)).length,
    defaultRoute: routes.includes('00000000'),
    writeRoot: attempt(() => writeFileSync('/probe-root', 'x')),
    writeTmp: attempt(() => writeFileSync('/tmp/probe', 'x')),
    writeImmutable: attempt(() => writeFileSync('${MNT}/ro/probe', 'x')),
    readImmutable: attempt(() => readFileSync('${MNT}/ro/data.txt')),
    writeEphemeral: attempt(() => writeFileSync('${MNT}/scratch/probe', 'x')),
    persisted: attempt(() => readFileSync('${MNT}/state/counter')),
    writePersistent: attempt(() => writeFileSync('${MNT}/state/counter', 'kept')),
  }));
}).listen(8080, '0.0.0.0');
`;

describe('process executor isolation', () => {
  let root: string;
  let executor: ProcessExecutor;
  let spec: ExecutionSpec;
  const handles: ExecutionHandle[] = [];

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'vmm-isolation-'));
    chmodSync(root, 0o755);
    const code = join(root, 'code');
    const ro = join(root, 'ro');
    const state = join(root, 'state');
    for (const d of [code, ro, state]) mkdirSync(d, { mode: 0o755 });
    writeFileSync(join(code, 'probe.mjs'), PROBE);
    // Shipped without the executable bit: the executor makes entrypoints executable.
    writeFileSync(join(code, 'run.sh'), '#!/bin/sh\necho started by a shell entrypoint\nexec node /opt/code/probe.mjs\n', { mode: 0o644 });
    writeFileSync(join(ro, 'data.txt'), 'immutable');
    executor = new ProcessExecutor({ stateDir: join(root, 'executor') });
    spec = {
      id: `isolation-${process.pid}`,
      code: { dir: code, entrypoint: 'probe.mjs' },
      volumes: [
        { kind: 'immutable', source: ro, mount: `${MNT}/ro` },
        { kind: 'ephemeral', sizeMib: 8, mount: `${MNT}/scratch` },
        { kind: 'persistent', source: state, sizeMib: 8, mount: `${MNT}/state` },
      ],
      variables: {},
      resources: { vcpus: 1, memoryMib: 256 },
      internet: false,
    };
  });

  after(async () => {
    for (const h of handles) await h.stop(1000).catch(() => undefined);
    await executor.close();
    rmSync(root, { recursive: true, force: true });
  });

  const probe = async (): Promise<Record<string, unknown>> => {
    const handle = await executor.start(spec);
    handles.push(handle);
    await handle.waitReady(30_000);
    const res = await fetch(`http://${handle.endpoint.host}:${handle.endpoint.port}/`);
    const body = (await res.json()) as Record<string, unknown>;
    await handle.stop();
    return body;
  };

  it('runs unprivileged in its own pid namespace, with a read-only root and no route out', async () => {
    const first = await probe();
    assert.ok((first.uid as number) >= 1_800_000_000 && (first.uid as number) < 1_900_000_000, `a per-workload uid (${String(first.uid)})`);
    assert.ok((first.pids as number) < 10, `only the sandbox's processes are visible (${String(first.pids)})`);
    assert.equal(first.defaultRoute, false);
    assert.notEqual(first.writeRoot, 'ok');
    assert.equal(first.writeTmp, 'ok');
    assert.equal(first.readImmutable, 'ok');
    assert.notEqual(first.writeImmutable, 'ok');
    assert.equal(first.writeEphemeral, 'ok');
    assert.equal(first.persisted, 'ENOENT');
    assert.equal(first.writePersistent, 'ok');

    const second = await probe();
    assert.equal(second.persisted, 'ok', 'a persistent volume survives a restart');
    assert.deepEqual(readdirSync(join(root, 'state')), ['volume.ext4'], 'the volume is an image in its directory');
    assert.equal(existsSync(MNT), false, 'no mount point was created on the host');
    assert.deepEqual(executor.hostResources(), { netns: [], cgroups: [], leases: [] });
  });

  it('executes a non-JavaScript entrypoint directly', async () => {
    const handle = await executor.start({ ...spec, id: `${spec.id}-sh`, volumes: [], code: { ...spec.code, entrypoint: 'run.sh' } });
    handles.push(handle);
    await handle.waitReady(30_000);
    const res = await fetch(`http://${handle.endpoint.host}:${handle.endpoint.port}/`);
    assert.ok(((await res.json()) as { uid: number }).uid >= 1_800_000_000);
    assert.ok(handle.recentLogs().some((l) => l.text === 'started by a shell entrypoint'));
    await handle.stop();
  });
});
