/**
 * Split brain ("a partition never makes two CCNs place the same workload twice for
 * longer than one reconciliation round"): two CCN processes, A with CRN A1 and B with CRN B1,
 * reach each other's heartbeats only through a relay in this test, which can cut the link (the
 * connection is dropped, as a partition would). Partitioned from the start, each CCN sees itself
 * alone; a new persistent program published to both is placed by both (A1 and B1 run it). The
 * link comes back: both hear the other's claim, agree on one manager (the later decision), and
 * the other drops its copy at its next round: one copy is left.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EthAccount, type AlephMessage } from '@aleph-nodes/protocol';
import { eventually as waitFor } from '../helpers/eventually.ts';
import { freePort } from '../helpers/net.ts';
import {
  allocationsOf,
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

/** A relay to `target` that drops every connection while `cut` is set. */
interface Link {
  url: string;
  server: Server;
  cut: boolean;
}

async function link(target: () => string): Promise<Link> {
  const port = await freePort('127.0.0.1');
  const l: Link = { url: `http://127.0.0.1:${port}`, server: undefined as unknown as Server, cut: true };
  l.server = createServer((req, res) => {
    if (l.cut) {
      req.socket.destroy();
      return;
    }
    fetch(`${target()}${req.url ?? '/'}`, { signal: AbortSignal.timeout(5000) }).then(
      async (upstream) => {
        res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
        res.end(Buffer.from(await upstream.arrayBuffer()));
      },
      () => req.socket.destroy(),
    );
  });
  await new Promise<void>((resolve) => l.server.listen(port, '127.0.0.1', resolve));
  return l;
}

let dump: (() => Promise<unknown>) | undefined;
const eventually = <T>(what: string, ms: number, check: () => Promise<T | undefined | false>): Promise<T> => waitFor(what, ms, check, dump);

describe('a partition heals into one copy of each workload', { timeout: 600_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'partition-test-'));
  const user = EthAccount.generate();
  let A: CcnNodeProc;
  let B: CcnNodeProc;
  let A1: CrnNodeProc;
  let B1: CrnNodeProc;
  let toA: Link;
  let toB: Link;
  let program: AlephMessage;

  dump = async () => ({
    a: await networkView(A).catch((e: Error) => e.message),
    b: await networkView(B).catch((e: Error) => e.message),
    a1: await runningOn(A1),
    b1: await runningOn(B1),
  });

  before(async () => {
    A = await prepareCcn(root, 'ccn-a', EthAccount.generate());
    B = await prepareCcn(root, 'ccn-b', EthAccount.generate());
    // Each CCN knows the other only through its relay.
    toA = await link(() => A.url);
    toB = await link(() => B.url);
    await startCcnNode(A, [toB.url]);
    await startCcnNode(B, [toA.url]);
    const both = [A.url, B.url];
    A1 = await prepareCrn(root, 'crn-a1', '127.0.0.31', [A.url]);
    B1 = await prepareCrn(root, 'crn-b1', '127.0.0.32', [B.url]);
    await startCrnNode(A1);
    await startCrnNode(B1);
    A.hash = await registryOperation(both, A.key, 'create-node', { details: { name: 'ccn-a', multiaddress: '' } });
    B.hash = await registryOperation(both, B.key, 'create-node', { details: { name: 'ccn-b', multiaddress: '' } });
    for (const [crn, ccn] of [
      [A1, A],
      [B1, B],
    ] as const) {
      crn.hash = await registryOperation(both, EthAccount.generate(), 'create-resource-node', { details: { name: crn.name, address: crn.url, type: 'compute' } });
      await registryOperation(both, ccn.key, 'link', { ref: crn.hash });
    }
    const refs = await publishCode(both, user);
    program = programMessage(user, refs, { name: 'split-brain', persistent: true, greeting: 'twice, then once' });
  });

  after(async () => {
    try {
      for (const c of [A1, B1]) await stopCrn(c).catch(() => undefined);
      for (const c of [A, B]) await c?.proc?.stop().catch(() => undefined);
      for (const l of [toA, toB]) l?.server.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('partitioned, each CCN places the new program on its own CRN', async () => {
    for (const c of [A, B]) {
      await eventually(`${c.name} to know its node`, 60_000, async () => (await networkView(c)).node_hash === c.hash);
    }
    for (const [me, other] of [
      [A, B],
      [B, A],
    ] as const) {
      const v = await networkView(me);
      assert.equal(v.ccns.find((x) => x.node_hash === other.hash)?.status, 'unknown', `${me.name} never heard ${other.name}`);
    }
    await publishTo([A.url, B.url], program);
    await eventually('both CRNs to run the program', 60_000, async () => (await runningOn(A1)).includes(program.item_hash) && (await runningOn(B1)).includes(program.item_hash));
  });

  it('healed, both agree on one manager and the other copy stops within a round', async (t) => {
    const decidedA = (await allocationsOf(A)).allocations.find((a) => a.item_hash === program.item_hash)?.decided_at ?? 0;
    const decidedB = (await allocationsOf(B)).allocations.find((a) => a.item_hash === program.item_hash)?.decided_at ?? 0;
    // The rule: the later decision keeps it (a tie would go by rendezvous rank).
    const winner = decidedA > decidedB ? A : B;
    const [winnerCrn, loserCrn] = winner === A ? [A1, B1] : [B1, A1];
    const healedAt = Date.now();
    toA.cut = false;
    toB.cut = false;
    // One round: each pulls the other's heartbeat (one interval), decides, pushes.
    await eventually('one copy left, both CCNs naming the same manager', 10 * TIMINGS.heartbeatIntervalSeconds * 1000 + 30_000, async () => {
      const [a, b] = [await networkView(A), await networkView(B)];
      const wa = a.workloads.find((w) => w.item_hash === program.item_hash);
      const wb = b.workloads.find((w) => w.item_hash === program.item_hash);
      return wa?.manager === winner.hash && wb?.manager === winner.hash && !(await runningOn(loserCrn)).includes(program.item_hash) && (await runningOn(winnerCrn)).includes(program.item_hash);
    });
    t.diagnostic(`split brain resolved ${((Date.now() - healedAt) / 1000).toFixed(1)} s after the link came back (heartbeat interval ${TIMINGS.heartbeatIntervalSeconds} s); ${winner.name} kept it (the later decision)`);
    const view = await networkView(winner);
    const w = view.workloads.find((x) => x.item_hash === program.item_hash);
    assert.equal(w?.rule === 'contested' || w?.rule === 'claimed', true);
    // And it stays so.
    await new Promise((r) => setTimeout(r, 3 * TIMINGS.heartbeatIntervalSeconds * 1000));
    assert.deepEqual([(await runningOn(A1)).includes(program.item_hash), (await runningOn(B1)).includes(program.item_hash)], [winner === A, winner === B]);
  });
});
