/**
 * The network side of issue 6 end to end: one CCN (in this process) and three real CRNs (spawned
 * processes, `process` executor), registered and linked as the devnet does it. A persistent
 * program runs on exactly one CRN; `kill -9` of that CRN moves it to another within the CCN's
 * failover bound; the CRN that comes back does not run it any more. An INSTANCE is placed and
 * pushed like a persistent program.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildInlineMessage, EthAccount } from '@aleph-nodes/protocol';
import { loadOrCreateKeyFile, silentLogger } from '@aleph-nodes/service';
import { ccnConfig, startCcn, type CcnNode } from '@aleph-nodes/ccn';
import { createCoreNode, createResourceNode, linkResourceNode, publishMessage, publishRuntime, buildSampleZip, storeFile } from '@aleph-nodes/cli';
import { pushAllocations } from '../../packages/ccn/src/scheduler/crn-client.ts';
import { isAlive, jsonLine, RunningProcess } from '../helpers/process.ts';
import { eventually as waitFor, getJson as json } from '../helpers/eventually.ts';
import { freePort } from '../helpers/net.ts';

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

interface CrnProc {
  index: number;
  url: string;
  port: number;
  dir: string;
  configPath: string;
  hash: string;
  proc: RunningProcess | undefined;
}

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
  const root = mkdtempSync(join(tmpdir(), 'network-test-'));
  const ccnKeyFile = join(root, 'ccn.key');
  const ccnAccount = loadOrCreateKeyFile(ccnKeyFile).account;
  const user = EthAccount.generate();
  let ccn: CcnNode;
  const crns: CrnProc[] = [];
  let program = '';
  let instance = '';

  async function startCrnProcess(crn: CrnProc): Promise<void> {
    const proc = new RunningProcess(process.execPath, ['--import', 'tsx', 'packages/crn/src/main.ts', crn.configPath]);
    crn.proc = proc;
    await proc.waitForLine((l) => jsonLine(l)?.msg === 'crn ready');
  }

  const allocations = (): Promise<AllocationsView> => json<AllocationsView>(`${ccn.url}/api/v0/allocations`);
  state = allocations;

  before(async () => {
    ccn = await startCcn(
      ccnConfig({
        dataDir: join(root, 'ccn'),
        paymentChecks: false, // the test's users hold no tokens; payments are tested in test/payments
        keyFile: ccnKeyFile,
        port: 0,
        p2pPort: 0,
        logLevel: 'silent',
        registryTag: TAG,
        ccnOwnerMinBalance: 0,
        stakerMinBalance: 0,
        ccnActivationStake: 0,
        schedulerIntervalSeconds: 2,
        allocationRetryBaseMs: 200,
        allocationRetryMaxMs: 2000,
        ...MONITOR,
      }),
      { logger: silentLogger() },
    );
    for (let i = 0; i < 3; i++) {
      const dir = join(root, `crn-${i + 1}`);
      mkdirSync(dir, { recursive: true });
      // The registry gives one CRN per host (a second node on a host gets no address), so each
      // CRN has its own loopback address, as in the devnet.
      const host = `127.0.0.${i + 2}`;
      const port = await freePort(host);
      const configPath = join(root, `crn-${i + 1}.json`);
      writeFileSync(
        configPath,
        JSON.stringify({ host, port, domain: host, executor: 'process', dataDir: dir, ccn: ccn.url, authorizedAllocationSigners: [ccn.address], logLevel: 'warn', restartBackoffMaxSeconds: 2, enforcePayments: false }),
      );
      const crn: CrnProc = { index: i, url: `http://${host}:${port}`, port, dir, configPath, hash: '', proc: undefined };
      crns.push(crn);
      await startCrnProcess(crn);
    }
    // Registration as the devnet does it: the CCN key creates the CCN, each CRN owner its node, the CCN links them.
    await createCoreNode(ccn.url, ccnAccount, TAG, { name: 'test-ccn', multiaddress: '' });
    for (const crn of crns) {
      crn.hash = await createResourceNode(ccn.url, EthAccount.generate(), TAG, { name: `test-crn-${crn.index + 1}`, address: crn.url });
      await linkResourceNode(ccn.url, ccnAccount, TAG, crn.hash);
    }
  });

  after(async () => {
    // Persistent workloads outlive their supervisor: bring every CRN up, tell it to run nothing, stop it.
    try {
      await ccn?.close();
      for (const crn of crns) {
        try {
          if (!crn.proc || crn.proc.child.exitCode !== null || crn.proc.child.signalCode !== null) await startCrnProcess(crn);
          // Signed as the CCN would, a second past its last push (the CRN refuses older or repeated iats).
          await pushAllocations(ccnAccount, crn.url, { persistent_vms: [], instances: [] }, 60_000, { crnHash: crn.hash, iat: Math.floor(Date.now() / 1000) + 1 }).catch(() => undefined);
          await eventually('the CRN to stop its workloads', 30_000, async () => (await runningOn(crn)).length === 0).catch(() => undefined);
        } finally {
          await crn.proc?.stop('SIGTERM');
        }
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
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
    const pid = dead.proc?.child.pid as number;
    const killedAt = Date.now();
    dead.proc?.child.kill('SIGKILL');
    await dead.proc?.closed;
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
    await startCrnProcess(dead);
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
