/**
 * The scheduler with other CCNs (a scripted SchedulerNetwork over a real store): it decides
 * nothing before the first round of heartbeats, places what it manages, drops from its records
 * (and so from its CRN's set) what another CCN's later decision claims, inherits a down CCN's
 * workload on a CRN re-linked to it, and reports its placements for its heartbeat.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildInlineMessage, EthAccount, sha256Hex } from '@aleph-nodes/protocol';
import { silentLogger } from '@aleph-nodes/service';
import { ccnConfig } from '../config.ts';
import { HealthMonitor, type RoundFn } from '../monitor/health-monitor.ts';
import type { ProbeResult } from '../monitor/probes.ts';
import type { RegistrySnapshot } from '../registry/registry-service.ts';
import type { CcnEntry, CrnEntry } from '../registry/types.ts';
import { openTestStores, type TestStores } from '../testing/engines.ts';
import { insertProcessed } from '../testing/processed.ts';
import { until } from '../testing/until.ts';
import type { PushFn } from './allocation-pusher.ts';
import type { DesiredSet } from './crn-client.ts';
import type { SchedulerNetwork } from './managed.ts';
import type { CcnView } from './ownership.ts';
import { Scheduler } from './scheduler.ts';

const SELF = sha256Hex('self-ccn');
const OTHER = sha256Hex('other-ccn');
const [MINE, THEIRS, RELINKED] = ['mine', 'theirs', 'relinked'].map((s) => sha256Hex(`crn-${s}`)) as [string, string, string];
const capacity = { cpuCount: 4, totalMemoryMib: 8192, availableMemoryMib: 4000, availableDiskMib: 10_000, architecture: 'x86_64', vendor: 'GenuineIntel', features: [], gpuDeviceIds: [] };

describe('Scheduler with other CCNs', () => {
  let t: TestStores;
  const key = EthAccount.generate();
  const user = EthAccount.generate();
  const pushes: { url: string; set: DesiredSet }[] = [];
  let scheduler: Scheduler;
  let monitor: HealthMonitor;
  let markReady: () => void = () => undefined;
  let others: CcnView[] = [];
  let winnerRuns: 'running' | 'gone' | 'unknown' = 'unknown';
  let registryValue: { nodes: CcnEntry[]; resource_nodes: CrnEntry[] };
  const crnEntry = (hash: string, parent: string): CrnEntry => ({ hash, address: `http://${hash.slice(0, 8)}`, owner: '0x' + '1'.repeat(40), parent, status: 'linked' }) as CrnEntry;
  const lastSetOf = (hash: string): DesiredSet | undefined => [...pushes].reverse().find((p) => p.url === `http://${hash.slice(0, 8)}`)?.set;
  const network: SchedulerNetwork = {
    ready: new Promise<void>((resolve) => {
      markReady = resolve;
    }),
    views: () => others,
    orphan: () => 'gone',
    confirm: () => winnerRuns,
    runningOnOrphan: () => undefined,
    fenced: () => false,
  };
  const other = (placements: [string, string, number][], live = true): CcnView => ({
    nodeHash: OTHER,
    live,
    schedules: live,
    crns: [{ hash: THEIRS, health: 'healthy', capacity }],
    placements: new Map(placements.map(([item, crn, at]) => [item, { crnHash: crn, decidedAt: at }])),
    unplaced: new Set(),
  });

  before(async () => {
    t = await openTestStores('sqlite');
    registryValue = {
      nodes: [{ hash: SELF, owner: key.address } as CcnEntry, { hash: OTHER, owner: user.address } as CcnEntry],
      resource_nodes: [crnEntry(MINE, SELF), crnEntry(THEIRS, OTHER)],
    };
    const round: RoundFn = async () => {
      const p = (check: ProbeResult['check']): ProbeResult => ({ check, time: 0, latency: 0.001, ok: true, version: null, error: null });
      return { probes: [p('version'), p('login'), p('status'), p('usage')], capacity, version: null };
    };
    const push: PushFn = async (url, set) => {
      pushes.push({ url, set });
      return { status: 200, successful: [...set.persistent_vms, ...set.instances], failing: [], stopped: [], errors: {} };
    };
    const config = ccnConfig({ dataDir: t.dataDir, schedulerIntervalSeconds: 3600, allocationRetryBaseMs: 20, allocationRetryMaxMs: 50 });
    monitor = new HealthMonitor(t.stores.probes, { intervalMs: 5, failuresBeforeDown: 2, timeoutMs: 100, referenceVersion: '', diagnosticProgram: '' }, () => scheduler.trigger(), silentLogger(), round);
    const registry = { snapshot: async (): Promise<RegistrySnapshot> => ({ value: registryValue, outcomes: new Map(), created: 0, lastUpdated: 0, originalItemHash: '', lastUpdateItemHash: '' }) };
    scheduler = new Scheduler({ stores: t.stores, registry, account: key, config, monitor, log: silentLogger(), clock: () => Date.now() / 1000, push, network });
    monitor.start();
    scheduler.start();
  });

  after(async () => {
    markReady();
    await scheduler.stop();
    await monitor.stop();
    await t.dispose();
  });

  const persistent = (name: string) => buildInlineMessage(user, 'PROGRAM', { type: 'vm-function', on: { persistent: true }, resources: { vcpus: 1, memory: 128 }, metadata: { name } } as never, { time: 1 });

  it('decides nothing before the first round of heartbeats', async () => {
    await insertProcessed(t.stores, persistent('before-ready'));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(pushes.length, 0);
    assert.equal(scheduler.heartbeatState(), null, 'no heartbeat before a decision');
    markReady();
    await until(() => lastSetOf(MINE) !== undefined, 'the first push');
  });

  it('places what it manages and reports it for its heartbeat', async () => {
    const mine = (await t.stores.allocations.list())[0];
    assert.equal(mine?.crn_hash, MINE);
    await until(() => lastSetOf(MINE)?.persistent_vms.length === 1, 'pushed');
    const state = scheduler.heartbeatState();
    assert.equal(state?.nodeHash, SELF);
    assert.deepEqual(state?.crns.map((c) => [c.hash, c.workloads.map((w) => w.item_hash)]), [[MINE, [mine?.item_hash]]]);
    assert.equal(scheduler.ownership()?.list[0]?.manager, SELF);
  });

  it('drops a workload that another CCN claims with a later decision once that CCN\'s CRN runs it: its CRN is pushed a set without it', async () => {
    const [row] = await t.stores.allocations.list();
    const item = row?.item_hash as string;
    others = [other([[item, THEIRS, (row?.decided_at ?? 0) + 10]])];
    // The winner's CRN does not run it (yet, or ever: a CCN claiming what it does not run): kept.
    winnerRuns = 'gone';
    scheduler.trigger();
    await until(() => scheduler.ownership()?.list.some((o) => o.itemHash === item && o.manager === OTHER) === true, 'the contest seen');
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(lastSetOf(MINE)?.persistent_vms, [item], 'kept while the winner is not seen running it');
    assert.match(scheduler.ownership()?.list.find((o) => o.itemHash === item)?.reason ?? '', /keeps its copy until CRN/);
    winnerRuns = 'running';
    scheduler.trigger();
    await until(() => lastSetOf(MINE)?.persistent_vms.length === 0, 'the set without it');
    assert.deepEqual(await t.stores.allocations.list(), []);
    const o = scheduler.ownership()?.list.find((x) => x.itemHash === item);
    assert.equal(o?.manager, OTHER);
    assert.equal(o?.rule, 'contested');
  });

  it('inherits a down CCN\'s workload on a CRN re-linked to it, and keeps it there', async () => {
    const w = persistent('on-relinked');
    await insertProcessed(t.stores, w);
    registryValue = { ...registryValue, resource_nodes: [crnEntry(MINE, SELF), crnEntry(THEIRS, OTHER), crnEntry(RELINKED, SELF)] };
    others = [other([[w.item_hash, RELINKED, 5]], false)];
    scheduler.trigger();
    await until(() => lastSetOf(RELINKED)?.persistent_vms.includes(w.item_hash) === true, 'kept on the re-linked CRN');
    const row = (await t.stores.allocations.list()).find((r) => r.item_hash === w.item_hash);
    assert.equal(row?.crn_hash, RELINKED);
    // Inherited from the down CCN; once this node's own heartbeat reports the placement it is
    // simply its claim on its own CRN. Either way this node manages it, on the re-linked CRN.
    const o = scheduler.ownership()?.list.find((x) => x.itemHash === w.item_hash);
    assert.equal(o?.manager, SELF);
    assert.equal(o?.crnHash, RELINKED);
    assert.ok(o?.rule === 'inherited' || o?.rule === 'claimed', `rule ${o?.rule}`);
  });
});
