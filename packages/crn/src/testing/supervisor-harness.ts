/**
 * A Supervisor on real parts that need no root: the FakeExecutor (a plain child process per
 * workload, conformance-checked), a FakeCcn on loopback read through the real CcnClient, the real
 * download cache and SQLite records in a temp dir. `restart()` builds a new Supervisor on the
 * same data dir, as a restarted CRN does.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@aleph-nodes/service';
import { FakeExecutor } from '@aleph-nodes/vmm/testing';
import { CcnClient } from '../ccn/ccn-client.ts';
import { PortForwardTable } from '../db/port-forwards.ts';
import { ExecutionRecords } from '../db/records.ts';
import { RetiredMessages } from '../db/retired.ts';
import type { Execution } from '../execution/execution.ts';
import { Supervisor, type SupervisorSettings } from '../execution/supervisor.ts';
import { DownloadCache } from '../storage/download-cache.ts';
import { FakeCcn } from './fake-ccn.ts';

export interface SupervisorHarness {
  supervisor: Supervisor;
  executor: FakeExecutor;
  records: ExecutionRecords;
  ccn: FakeCcn;
  /** The supervisor closes (persistent workloads keep running), a new one restores from the records. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function supervisorHarness(settings: Partial<SupervisorSettings> = {}): Promise<SupervisorHarness> {
  const ccn = await new FakeCcn().start();
  const dir = mkdtempSync(join(tmpdir(), 'crn-supervisor-unit-'));
  // The fake executor's workloads run as nobody under root: they must reach their code copies.
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'cache'));
  const build = (): { supervisor: Supervisor; executor: FakeExecutor; records: ExecutionRecords } => {
    const executor = new FakeExecutor({ stateDir: join(dir, 'executions'), capacity: { vcpus: 8, memoryMib: 2048 } });
    const records = new ExecutionRecords(join(dir, 'crn.sqlite'));
    const supervisor = new Supervisor({
      executor,
      ccn: new CcnClient(ccn.url, { statusCacheMs: 0 }),
      cache: new DownloadCache(join(dir, 'cache'), 256 * 1024 * 1024),
      records,
      retired: new RetiredMessages(records.database),
      portForwards: new PortForwardTable(records.database, { start: 24000, end: 24100 }),
      logger: silentLogger(),
      settings: {
        idleTimeoutSeconds: 60,
        startTimeoutSeconds: 30,
        stopTimeoutSeconds: 5,
        restartBackoffMaxSeconds: 1,
        capacity: { vcpus: 8, memoryMib: 1024, reservedDiskMib: 0, dataDir: dir },
        volumesDir: join(dir, 'volumes'),
        instancesDir: join(dir, 'instances'),
        maxDownloadBytes: 16 * 1024 * 1024,
        maxImageBytes: 16 * 1024 * 1024,
        instanceStartTimeoutSeconds: 60,
        instanceStopTimeoutSeconds: 5,
        unzip: { maxEntries: 100, maxTotalBytes: 16 * 1024 * 1024 },
        ccnUrl: ccn.url,
        ...settings,
      },
    });
    return { supervisor, executor, records };
  };
  let parts = build();
  const h: SupervisorHarness = {
    ...parts,
    ccn,
    async restart() {
      await parts.supervisor.close();
      parts.records.close();
      parts = build();
      Object.assign(h, parts);
      await parts.supervisor.restore();
    },
    async close() {
      await parts.supervisor.close({ stopPersistent: true });
      parts.records.close();
      await ccn.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}

/** GET `path` of a running execution's workload, as JSON. */
export async function callWorkload<T>(exec: Execution, path = '/'): Promise<T> {
  const endpoint = exec.handle?.endpoint;
  if (!endpoint) throw new Error(`execution ${exec.ref} has no endpoint`);
  const res = await fetch(`http://${endpoint.host}:${endpoint.port}${path}`, { signal: AbortSignal.timeout(5000) });
  return (await res.json()) as T;
}
