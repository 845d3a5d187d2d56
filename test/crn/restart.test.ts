/**
 * Killing the supervisor with `kill -9` and starting it again keeps persistent workloads
 * served: the workload survives (same process) and the new supervisor re-adopts it from its
 * records. The supervisor runs as its own process (`crn start`, through the test kit), as in production.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuthenticatedAlephHttpClient } from '@aleph-sdk/client';
import { importAccountFromPrivateKey } from '@aleph-sdk/ethereum';
import type { CcnNode } from '@aleph-nodes/ccn';
import { EthAccount, signAllocationRequest } from '@aleph-nodes/protocol';
import { ProcessExecutor } from '@aleph-nodes/vmm';
import Database from 'better-sqlite3';
import { createRuntime, ECHO_PROGRAM, OWNER_KEY, publishWith, startCcnForCrn } from './helpers/nodes.ts';
import { eventually } from '../helpers/eventually.ts';
import { startNodeProcess, type NodeProcess } from '../kit/node-process.ts';

const scheduler = EthAccount.generate();

let pushes = 0;
async function allocate(url: string, persistent: string[]): Promise<Response> {
  const body = JSON.stringify({ persistent_vms: persistent, instances: [] });
  const iat = Math.floor(Date.now() / 1000) + pushes++;
  return fetch(`${url}/control/allocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: signAllocationRequest(scheduler, { method: 'POST', path: '/control/allocations', body, iat, target: { nodeHash: null, url } }) },
    body,
  });
}

describe('supervisor kill -9 and restart', () => {
  let ccn: CcnNode;
  let ccnDir: string;
  let dataDir: string;
  let settings: Record<string, unknown>;
  let current: NodeProcess | undefined;
  const spawnCrn = (): Promise<NodeProcess> => startNodeProcess('crn', settings, { dataDir });

  before(async () => {
    ({ ccn, dir: ccnDir } = await startCcnForCrn());
    dataDir = mkdtempSync(join(tmpdir(), 'crn-restart-'));
    settings = { executor: 'process', ccn: ccn.url, authorizedAllocationSigners: [scheduler.address] };
  });

  after(async () => {
    if (current?.running) {
      await allocate(current.url, []).catch(() => undefined);
      await current.stop();
    }
    // Whatever a failed test left running under this data dir goes too.
    const executor = new ProcessExecutor({ stateDir: join(dataDir, 'executions') });
    await executor.cleanupOrphans(new Set());
    await executor.close();
    await ccn?.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(ccnDir, { recursive: true, force: true });
  });

  it('keeps a persistent program served across kill -9 of the supervisor', async () => {
    current = await spawnCrn();
    await assert.rejects(spawnCrn(), /used by another running CRN/, 'a second supervisor on the same data dir is refused');
    const client = new AuthenticatedAlephHttpClient(importAccountFromPrivateKey(OWNER_KEY), ccn.url);
    const hash = await publishWith(client, await createRuntime(client), ECHO_PROGRAM, { persistent: true, variables: { FOO: 'survivor' } });
    const pushed = await allocate(current.url, [hash]);
    assert.equal(pushed.status, 200);
    await pushed.arrayBuffer();
    const before = (await (await fetch(`${current.url}/vm/${hash}/`)).json()) as { boot: string; foo: string };
    assert.equal(before.foo, 'survivor');

    await current.kill();

    current = await spawnCrn();
    const list = (await (await fetch(`${current.url}/about/executions/list`)).json()) as Record<string, { vm_type: string }>;
    assert.equal(list[hash]?.vm_type, 'persistent_program');
    const res = await fetch(`${current.url}/vm/${hash}/after-restart`);
    assert.equal(res.status, 200);
    const afterRestart = (await res.json()) as { boot: string; path: string };
    assert.equal(afterRestart.path, '/after-restart');
    assert.equal(afterRestart.boot, before.boot, 'the same workload process is re-adopted, not restarted');

    // A clean stop (SIGTERM) also leaves it running for the next start.
    await current.stop();
    current = await spawnCrn();
    const again = (await (await fetch(`${current.url}/vm/${hash}/`)).json()) as { boot: string };
    assert.equal(again.boot, before.boot);

    // Supervisor and workload both die: the next supervisor starts the workload again.
    await current.kill();
    const db = new Database(join(dataDir, 'crn.sqlite'), { readonly: true });
    const row = db.prepare('SELECT adoption FROM executions WHERE ref = ?').get(hash) as { adoption: string };
    db.close();
    const workloadPid = (JSON.parse(row.adoption) as { record: { data: { pid: number } } }).record.data.pid;
    process.kill(workloadPid, 'SIGKILL');
    current = await spawnCrn();
    const url = current.url;
    let reborn = '';
    await eventually('restart of a dead persistent workload', 30_000, async () => {
      const r = await fetch(`${url}/vm/${hash}/`);
      if (r.status !== 200) {
        await r.arrayBuffer();
        return false;
      }
      reborn = ((await r.json()) as { boot: string }).boot;
      return true;
    });
    assert.notEqual(reborn, before.boot);

    const stopped = await allocate(current.url, []);
    assert.deepEqual(((await stopped.json()) as { stopped: string[] }).stopped, [hash]);
  });
});
