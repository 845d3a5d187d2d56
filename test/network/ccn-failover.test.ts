/**
 * No single CCN is needed for scheduling, and CRNs outlive their CCN:
 * two CCN processes (A, B) that find each other over HTTP, CRN A1 linked to A, CRNs B1 and B2
 * linked to B (real processes, `process` executor). No CRN is told who may push it allocations:
 * each reads its linked CCN's key from the registry. Each CRN reads from both CCNs, its own first.
 *
 * A persistent program is placed by A (first by rendezvous rank) on A1. `kill -9` of A: B keeps
 * accepting messages, placing new workloads and serving; A1 keeps serving the program, and serves
 * an on-demand program published after A died (read from B). Then `kill -9` of A1 too: within the
 * adoption bound the program runs on one of B's CRNs. A and A1 come back: A1 re-adopts its old
 * copy, A hears B's newer decision and drops its own before pushing, so A1 stops it: the program
 * runs exactly once across all CRNs. Last, B and the CRN running the program are killed at the
 * same moment: A runs it on A1 within the bound.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EthAccount, type AlephMessage } from '@aleph-nodes/protocol';
import { getJson } from '../helpers/eventually.ts';
import { isAlive } from '../helpers/process.ts';
import { eventually as waitFor } from '../helpers/eventually.ts';
import {
  allocationsOf,
  answers,
  networkView,
  prepareCcn,
  prepareCrn,
  programMessage,
  publishCode,
  publishTo,
  registryOperation,
  runningOn,
  startCcnNode,
  startCrnNode,
  stopCrn,
  TIMINGS,
  type CcnNodeProc,
  type CrnNodeProc,
} from './helpers/ccn-network.ts';

let dump: (() => Promise<unknown>) | undefined;
const eventually = <T>(what: string, ms: number, check: () => Promise<T | undefined | false>): Promise<T> => waitFor(what, ms, check, dump);
/** Generous deadlines on a loaded machine: the bound itself is measured and reported, not asserted to the second. */
const SLACK_MS = 60_000;

describe('scheduling survives the loss of a CCN; CRNs outlive their CCN', { timeout: 900_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'ccn-failover-test-'));
  const user = EthAccount.generate();
  let A: CcnNodeProc;
  let B: CcnNodeProc;
  let A1: CrnNodeProc;
  let B1: CrnNodeProc;
  let B2: CrnNodeProc;
  const crns = (): CrnNodeProc[] => [A1, B1, B2];
  let refs: { runtime: string; code: string };
  let program: AlephMessage;
  const GREETING = 'persistent across CCNs';

  dump = async () => {
    const out: Record<string, unknown> = {};
    for (const c of [A, B]) out[c.name] = await networkView(c).catch((e: Error) => e.message);
    for (const c of crns()) out[c.name] = await runningOn(c);
    return out;
  };

  before(async () => {
    A = await prepareCcn(root, 'ccn-a', EthAccount.generate());
    B = await prepareCcn(root, 'ccn-b', EthAccount.generate());
    await startCcnNode(A, [B.url]);
    await startCcnNode(B, [A.url]);
    const both = [A.url, B.url];
    A1 = await prepareCrn(root, 'crn-a1', '127.0.0.21', [A.url, B.url]);
    B1 = await prepareCrn(root, 'crn-b1', '127.0.0.22', [B.url, A.url]);
    B2 = await prepareCrn(root, 'crn-b2', '127.0.0.23', [B.url, A.url]);
    for (const c of crns()) await startCrnNode(c);
    A.hash = await registryOperation(both, A.key, 'create-node', { details: { name: 'ccn-a', multiaddress: '' } });
    B.hash = await registryOperation(both, B.key, 'create-node', { details: { name: 'ccn-b', multiaddress: '' } });
    for (const crn of crns()) {
      crn.hash = await registryOperation(both, EthAccount.generate(), 'create-resource-node', { details: { name: crn.name, address: crn.url, type: 'compute' } });
      await registryOperation(both, crn === A1 ? A.key : B.key, 'link', { ref: crn.hash });
    }
    refs = await publishCode(both, user);
  });

  after(async () => {
    try {
      for (const c of crns()) {
        // A CRN killed with -9 left its workloads running: started again, it re-adopts them, and
        // its stop (stopWorkloadsOnExit) stops them.
        if (c && c.proc && !c.proc.running) await startCrnNode(c).catch(() => undefined);
        await stopCrn(c).catch(() => undefined);
      }
      for (const c of [A, B]) await c?.proc?.stop().catch(() => undefined);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('each CCN sees the other live, with its linked CRNs healthy', async () => {
    for (const [me, other, linked] of [
      [A, B, [B1, B2]],
      [B, A, [A1]],
    ] as const) {
      await eventually(`${me.name} to see ${other.name} live with healthy CRNs`, 60_000, async () => {
        const v = await networkView(me);
        const o = v.ccns.find((c) => c.node_hash === other.hash);
        return o?.status === 'live' && linked.every((crn) => o.crns.some((c) => c.hash === crn.hash && c.health === 'healthy'));
      });
    }
    const heartbeats = await getJson<{ heartbeats: unknown[] }>(`${A.url}/api/v0/network/heartbeats`);
    assert.equal(heartbeats.heartbeats.length, 2, 'A serves its own heartbeat and B\'s');
  });

  it('places a new persistent program once: the CCN first by rendezvous rank puts it on its CRN', async () => {
    program = programMessage(user, refs, { name: 'ccn-failover-persistent', persistent: true, greeting: GREETING, firstIn: [A.hash, B.hash] });
    await publishTo([A.url, B.url], program);
    const row = await eventually('A to place the program on A1 and push it', 60_000, async () => {
      const r = (await allocationsOf(A)).allocations.find((a) => a.item_hash === program.item_hash);
      return r?.crn === A1.hash && r.push_status === 'ok' ? r : undefined;
    });
    assert.match(row.reason, /placed on/);
    // Once A's heartbeat announces its decision, B sees A's claim (before that, B computes the same manager by rank).
    const atB = await eventually('B to see A claim it', 30_000, async () => {
      const w = (await networkView(B)).workloads.find((x) => x.item_hash === program.item_hash);
      return w?.manager === A.hash && w.rule === 'claimed' ? w : undefined;
    });
    assert.equal(atB.crn, A1.hash);
    assert.equal((await allocationsOf(B)).allocations.some((a) => a.item_hash === program.item_hash), false, 'B keeps no record of it');
    assert.deepEqual(await Promise.all(crns().map(async (c) => (await runningOn(c)).includes(program.item_hash))), [true, false, false]);
    assert.equal(await answers(A1, program.item_hash, GREETING), true);
  });

  it('kill -9 of CCN A: B keeps accepting, placing and serving; A1 keeps serving and reads from B', async (t) => {
    const pid = A.proc?.pid as number;
    await A.proc?.kill();
    assert.equal(isAlive(pid), false);
    const killedAt = Date.now();
    // A new persistent program that ranks A first: B places it once A is down for B.
    const second = programMessage(user, refs, { name: 'after-a-died', persistent: true, greeting: 'placed by B', firstIn: [A.hash, B.hash] });
    await publishTo([B.url], second);
    const messages = await getJson<{ messages: { item_hash: string }[] }>(`${B.url}/api/v0/messages.json?hashes=${second.item_hash}`);
    assert.equal(messages.messages[0]?.item_hash, second.item_hash, 'B accepted and serves the message');
    // A1 still serves the persistent program (it needs no CCN for that).
    assert.equal(await answers(A1, program.item_hash, GREETING), true);
    // An on-demand program published to B only: A1 must read it from B (its first CCN is dead).
    const onDemand = programMessage(user, refs, { name: 'on-demand-after-a-died', persistent: false, greeting: 'read from B' });
    await publishTo([B.url], onDemand);
    await eventually('A1 to serve an on-demand program read from B', 60_000, () => answers(A1, onDemand.item_hash, 'read from B'));

    const placed = await eventually('B to place the new program once A is down', TIMINGS.ccnDownAfterSeconds * 1000 + SLACK_MS, async () => {
      const r = (await allocationsOf(B)).allocations.find((a) => a.item_hash === second.item_hash);
      return r?.crn && r.push_status === 'ok' ? r : undefined;
    });
    t.diagnostic(`a new workload that ranks the dead CCN first was placed by B ${((Date.now() - killedAt) / 1000).toFixed(1)} s after kill -9 of A (down after ${TIMINGS.ccnDownAfterSeconds} s)`);
    assert.ok([B1.hash, B2.hash].includes(placed.crn as string));
    const view = await networkView(B);
    assert.equal(view.ccns.find((c) => c.node_hash === A.hash)?.status, 'down');
    // A is down but A1 runs the program: nobody adopts it.
    const w = view.workloads.find((x) => x.item_hash === program.item_hash);
    assert.equal(w?.manager, null);
    assert.match(w?.reason ?? '', /still runs it|probing its CRN/);
    assert.equal(await answers(A1, program.item_hash, GREETING), true);
    for (const c of [B1, B2]) assert.equal((await runningOn(c)).includes(program.item_hash), false, `${c.name} does not run a copy`);
  });

  it('kill -9 of A1 too: the program runs on one of B\'s CRNs within the adoption bound', async (t) => {
    await A1.proc?.kill();
    const killedAt = Date.now();
    const target = await eventually('the program to run on B1 or B2', TIMINGS.adoptionTimeoutSeconds * 1000 + SLACK_MS, async () => {
      const r = (await allocationsOf(B)).allocations.find((a) => a.item_hash === program.item_hash);
      const crn = [B1, B2].find((c) => c.hash === r?.crn);
      return crn && (await answers(crn, program.item_hash, GREETING)) ? crn : undefined;
    });
    const seconds = (Date.now() - killedAt) / 1000;
    t.diagnostic(`adoption: the program answered on ${target.name} ${seconds.toFixed(1)} s after kill -9 of its CRN (A died earlier; bound adoptionTimeoutSeconds = ${TIMINGS.adoptionTimeoutSeconds} s)`);
    const w = (await networkView(B)).workloads.find((x) => x.item_hash === program.item_hash);
    assert.equal(w?.manager, B.hash);
    const others = [B1, B2].filter((c) => c !== target);
    for (const c of others) assert.equal((await runningOn(c)).includes(program.item_hash), false);
  });

  it('A and A1 come back: A drops its stale placement; the program runs exactly once', async (t) => {
    const back = Date.now();
    await startCrnNode(A1);
    await startCcnNode(A, [B.url]);
    await eventually('exactly one CRN to run the program, with A agreeing that B manages it', 120_000, async () => {
      const running = await Promise.all(crns().map(runningOn));
      const copies = running.filter((list) => list.includes(program.item_hash)).length;
      const atA = (await networkView(A)).workloads.find((x) => x.item_hash === program.item_hash);
      return copies === 1 && atA?.manager === B.hash && !running[0]?.includes(program.item_hash);
    });
    t.diagnostic(`after the restart of A and A1: one copy left ${((Date.now() - back) / 1000).toFixed(1)} s after they were started again`);
    const logs = A.proc?.logs ?? [];
    assert.ok(logs.some((l) => l.msg === 'placement dropped: another CCN manages it' && l.workload === program.item_hash), 'A dropped its own record');
    assert.equal(logs.some((l) => l.msg === 'placement decided' && l.workload === program.item_hash), false, 'A never placed it again');
    assert.equal((await allocationsOf(A)).allocations.some((a) => a.item_hash === program.item_hash), false);
    // Still once a few rounds later.
    await new Promise((r) => setTimeout(r, 3 * TIMINGS.heartbeatIntervalSeconds * 1000));
    const running = await Promise.all(crns().map(runningOn));
    assert.equal(running.filter((list) => list.includes(program.item_hash)).length, 1);
  });

  it('kill -9 of a CCN and of the CRN running the program at the same moment: the other CCN runs it within the bound', async (t) => {
    const row = (await allocationsOf(B)).allocations.find((a) => a.item_hash === program.item_hash);
    const host = [B1, B2].find((c) => c.hash === row?.crn) as CrnNodeProc;
    assert.ok(host, 'B runs the program on one of its CRNs');
    const killedAt = Date.now();
    await Promise.all([B.proc?.kill(), host.proc?.kill()]);
    await eventually('A to run the program on A1', TIMINGS.adoptionTimeoutSeconds * 1000 + SLACK_MS, async () => {
      const r = (await allocationsOf(A)).allocations.find((a) => a.item_hash === program.item_hash);
      return r?.crn === A1.hash && (await answers(A1, program.item_hash, GREETING));
    });
    const seconds = (Date.now() - killedAt) / 1000;
    t.diagnostic(`adoption after a simultaneous kill -9 of CCN B and its CRN ${host.name}: the program answered on A1 ${seconds.toFixed(1)} s later (bound adoptionTimeoutSeconds = ${TIMINGS.adoptionTimeoutSeconds} s; B down after ${TIMINGS.ccnDownAfterSeconds} s)`);
    const w = (await networkView(A)).workloads.find((x) => x.item_hash === program.item_hash);
    assert.equal(w?.manager, A.hash);
  });
});
