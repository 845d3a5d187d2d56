/**
 * Failover of the network end to end: one CCN (in this process) and three real CRNs (spawned
 * processes, `process` executor), registered and linked as the devnet does it. A persistent
 * program runs on exactly one CRN; `kill -9` of that CRN moves it to another within the CCN's
 * failover bound; the CRN that comes back does not run it any more. An INSTANCE is placed and
 * pushed like a persistent program.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildInlineMessage, EthAccount } from '@aleph-nodes/protocol';
import { silentLogger } from '@aleph-nodes/service';
import type { CcnNode } from '@aleph-nodes/ccn';
import { buildSampleZip, publishMessage, publishRuntime, storeFile } from '@aleph-nodes/cli';
import { isAlive } from '../helpers/process.ts';
import { eventually as waitFor, getJson as json, startNetwork, type NetworkCrn, type TestNetwork } from '../kit/index.ts';

const TAG = 'network-test';
const CHANNEL = 'NETWORK-TEST';
/**
 * Detection: 3 × (1 s + 2 s) = 9 s at worst, within the 30 s bound set below.
 * `NETWORK_TEST_DEFAULT_MONITOR=1` runs with the shipped defaults instead (10 s interval, 5 s
 * timeout, 3 failures, 55 s bound) to measure the failover time an operator gets.
 */
const MONITOR =
  process.env.NETWORK_TEST_DEFAULT_MONITOR === '1'
    ? { monitorIntervalSeconds: 10, monitorProbeTimeoutSeconds: 5, monitorFailuresBeforeDown: 3, failoverBoundSeconds: 55 }
    : { monitorIntervalSeconds: 1, monitorProbeTimeoutSeconds: 2, monitorFailuresBeforeDown: 3, failoverBoundSeconds: 30 };

type CrnProc = NetworkCrn;

interface AllocationsView {
  node_hash: string | null;
  allocations: { item_hash: string; type: string; crn: string | null; reason: string; previous_crn: string | null; push_status: string | null }[];
  crns: { hash: string; health: string; desired: { persistent_vms: string[]; instances: string[] }; push: { delivered: boolean } | null }[];
}


/** Dumped when a wait fails: what the CCN thinks of its CRNs. */
let state: (() => Promise<unknown>) | undefined;
const eventually = <T>(what: string, ms: number, check: () => Promise<T | undefined | false>): Promise<T> => waitFor(what, ms, check, state);

async function runningOn(crn: CrnProc): Promise<string[]> {
  return Object.keys(await json<Record<string, unknown>>(`${crn.url}/about/executions/list`));
}

describe('scheduler and failover with three CRNs', { timeout: 240_000 }, () => {
  const user = EthAccount.generate();
  let net: TestNetwork;
  let ccn: CcnNode;
  let crns: CrnProc[] = [];
  let program = '';
  let instance = '';

  const allocations = (): Promise<AllocationsView> => json<AllocationsView>(`${ccn.url}/api/v0/allocations`);
  state = allocations;

  before(async () => {
    net = await startNetwork({
      ccns: 1,
      crns: 3,
      tag: TAG,
      ccn: { schedulerIntervalSeconds: 2, allocationRetryBaseMs: 200, allocationRetryMaxMs: 2000, ...MONITOR },
      crn: { restartBackoffMaxSeconds: 2 },
    });
    ({ ccn, crns } = net);
  });

  after(async () => {
    // Persistent workloads outlive their supervisor: the network brings every CRN up, tells it to run nothing, stops it.
    await net?.close();
  });

  it('finds its node hash and its three linked CRNs, all healthy', async () => {
    const view = await eventually('three healthy CRNs', 30_000, async () => {
      const v = await allocations();
      return v.crns.length === 3 && v.crns.every((c) => c.health === 'healthy') ? v : undefined;
    });
    assert.match(view.node_hash ?? '', /^[0-9a-f]{64}$/);
    assert.deepEqual(view.crns.map((c) => c.hash).sort(), crns.map((c) => c.hash).sort());
    const nodes = await json<{ resource_node_health: Record<string, { health: string }> }>(`${ccn.url}/api/v0/nodes`);
    assert.deepEqual(Object.values(nodes.resource_node_health).map((h) => h.health), ['healthy', 'healthy', 'healthy']);
    // Every probe is recorded: node, check, latency, pass/fail, version seen, time.
    const { probes } = await json<{ probes: { node_hash: string; check: string; ok: boolean; latency: number | null; version: string | null; time: number }[] }>(
      `${ccn.url}/api/v0/allocations/probes?node_hash=${crns[0]?.hash}`,
    );
    assert.deepEqual([...new Set(probes.map((p) => p.check))].sort(), ['login', 'status', 'usage', 'version']);
    assert.ok(probes.every((p) => p.node_hash === crns[0]?.hash && p.ok && typeof p.latency === 'number' && p.time > 0));
    assert.ok(probes.filter((p) => p.check === 'version').every((p) => p.version === '1.14.0'));
  });

  it('runs a persistent program on exactly one CRN, with the reason recorded', async () => {
    const runtime = await publishRuntime(ccn.url, user, 'process', CHANNEL, silentLogger());
    const code = await storeFile(ccn.url, user, await buildSampleZip(), CHANNEL);
    const message = buildInlineMessage(
      user,
      'PROGRAM',
      {
        type: 'vm-function',
        allow_amend: false,
        metadata: { name: 'network-test-persistent' },
        on: { http: true, persistent: true },
        environment: { reproducible: false, internet: false, aleph_api: false, shared_cache: false },
        resources: { vcpus: 1, memory: 128, seconds: 30 },
        runtime: { ref: runtime, use_latest: true, comment: 'host Node.js (process executor)' },
        volumes: [],
        variables: { GREETING: 'persistent hello' },
        code: { encoding: 'zip', entrypoint: 'main.mjs', ref: code, use_latest: false },
      },
      { channel: CHANNEL },
    );
    await publishMessage(ccn.url, message);
    program = message.item_hash;

    const placed = await eventually('the program to be placed and pushed', 60_000, async () => {
      const row = (await allocations()).allocations.find((a) => a.item_hash === program);
      return row?.crn && row.push_status === 'ok' ? row : undefined;
    });
    assert.match(placed.reason, /placed on [0-9a-f]{12}: most free memory/);
    const host = crns.find((c) => c.hash === placed.crn) as CrnProc;
    for (const crn of crns) assert.equal((await runningOn(crn)).includes(program), crn === host, `the program runs on ${crn === host ? 'its CRN' : 'no other CRN'}`);
    const answer = await json<{ greeting: string }>(`${host.url}/vm/${program}/`);
    assert.equal(answer.greeting, 'persistent hello');
  });

  it('moves the program to another CRN after kill -9 of its CRN, and the CRN that comes back does not run it', async (t) => {
    const before = (await allocations()).allocations.find((a) => a.item_hash === program);
    const dead = crns.find((c) => c.hash === before?.crn) as CrnProc;
    const pid = dead.proc?.pid as number;
    const killedAt = Date.now();
    await dead.kill();
    const deadAt = Date.now() / 1000;
    assert.equal(isAlive(pid), false);

    // The bound is the CCN's own setting: detection + placement + the push that starts it.
    const moved = await eventually('the program to run on another CRN', MONITOR.failoverBoundSeconds * 1000, async () => {
      const row = (await allocations()).allocations.find((a) => a.item_hash === program);
      if (!row?.crn || row.crn === dead.hash || row.push_status !== 'ok') return undefined;
      const target = crns.find((c) => c.hash === row.crn) as CrnProc;
      const res = await fetch(`${target.url}/vm/${program}/`, { signal: AbortSignal.timeout(5000) });
      return res.status === 200 ? row : undefined;
    });
    const failoverSeconds = (Date.now() - killedAt) / 1000;
    t.diagnostic(`failover: the program answered on its new CRN ${failoverSeconds.toFixed(1)} s after kill -9 (bound ${MONITOR.failoverBoundSeconds} s)`);
    assert.equal(moved.previous_crn, dead.hash);
    assert.match(moved.reason, /^moved from [0-9a-f]{12} \(its CRN is down/);
    const view = await allocations();
    assert.equal(view.crns.find((c) => c.hash === dead.hash)?.health, 'down');
    // Probes started once the process was gone all failed (the round in flight at the kill may count too).
    const { probes } = await json<{ probes: { ok: boolean; latency: number | null; time: number }[] }>(`${ccn.url}/api/v0/allocations/probes?node_hash=${dead.hash}&from=${deadAt}`);
    assert.ok(probes.length >= 4 * (MONITOR.monitorFailuresBeforeDown - 1), `the failed probes of the dead CRN are recorded (${probes.length})`);
    assert.ok(probes.every((p) => !p.ok && p.latency === null), 'every probe of the dead CRN failed');
    const alive = crns.filter((c) => c !== dead);
    assert.deepEqual(
      (await Promise.all(alive.map(runningOn))).map((list) => list.includes(program)),
      alive.map((c) => c.hash === moved.crn),
      'exactly one live CRN runs it',
    );

    // The killed CRN comes back (re-adopting what it ran); the CCN pushes it its new set, without the program.
    await dead.start();
    await eventually('the returning CRN to stop the moved program', 60_000, async () => {
      const v = await allocations();
      const entry = v.crns.find((c) => c.hash === dead.hash);
      return entry?.health === 'healthy' && entry.push?.delivered === true && !(await runningOn(dead)).includes(program);
    });
    const after = await allocations();
    assert.equal(after.allocations.find((a) => a.item_hash === program)?.crn, moved.crn, 'the program stays where it moved');
    assert.deepEqual(after.crns.find((c) => c.hash === dead.hash)?.desired, { persistent_vms: [], instances: [] });
    const running = await Promise.all(crns.map(runningOn));
    assert.equal(running.filter((list) => list.includes(program)).length, 1, 'no duplicate anywhere');
  });

  it('places an INSTANCE on exactly one CRN and pushes it in that CRN\'s instances', async (t) => {
    const rootfs = await storeFile(ccn.url, user, new TextEncoder().encode('rootfs stand-in: the process executor boots no disk image'), CHANNEL);
    const message = buildInlineMessage(
      user,
      'INSTANCE',
      {
        allow_amend: false,
        metadata: { name: 'network-test-instance' },
        environment: { internet: false, aleph_api: false, reproducible: false, shared_cache: false },
        resources: { vcpus: 1, memory: 128, seconds: 30 },
        rootfs: { parent: { ref: rootfs, use_latest: true }, persistence: 'host', size_mib: 64 },
        volumes: [],
      },
      { channel: CHANNEL },
    );
    await publishMessage(ccn.url, message);
    instance = message.item_hash;
    const row = await eventually('the instance to be placed and pushed', 60_000, async () => {
      const r = (await allocations()).allocations.find((a) => a.item_hash === instance);
      return r?.crn && r.push_status !== null ? r : undefined;
    });
    assert.equal(row.type, 'INSTANCE');
    const view = await allocations();
    const holders = view.crns.filter((c) => c.desired.instances.includes(instance));
    assert.deepEqual(holders.map((c) => c.hash), [row.crn]);
    assert.ok(view.crns.every((c) => !c.desired.persistent_vms.includes(instance)));
    t.diagnostic(`instance ${instance.slice(0, 12)} placed on ${row.crn?.slice(0, 12)}; the CRN answered: ${row.push_status}`);
  });
});
