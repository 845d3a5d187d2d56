/**
 * Attacks on workload ownership through heartbeats, end to end: a real CCN process (A) with its
 * real CRN (A1, process executor) runs a persistent program. An attacker runs a "peer" that A
 * pulls heartbeats from (its syncPeers), and owns a registered CCN (M) with a linked CRN (M1,
 * the attacker's server, which runs nothing). The peer serves, round after round:
 * - a heartbeat for A's node with a forged signature, and one signed by M's key for A's node:
 *   refused, never in A's table;
 * - M's own, validly signed heartbeat claiming A's program on M1 with a later decision (which
 *   would win the contest), and one claiming it on A1 (a CRN M does not link), and one dated
 *   from the future: the only one A keeps is M's valid claim, and A does not give the program up
 *   because M1 is never seen running it.
 * Without the confirmation (earlier code of this branch: the later decision wins outright) A
 * dropped the program and A1 stopped it: nobody ran it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EthAccount, type AlephMessage } from '@aleph-nodes/protocol';
import { signHeartbeat, type HeartbeatPayload } from '../../packages/ccn/src/network/liveness-heartbeat.ts';
import { eventually } from '../helpers/eventually.ts';
import { freePort } from '../helpers/net.ts';
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
} from '../network/helpers/ccn-network.ts';

describe('forged and lying heartbeats do not take a workload away from its CCN', { timeout: 300_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'forged-heartbeats-'));
  const user = EthAccount.generate();
  const attacker = EthAccount.generate();
  let A: CcnNodeProc;
  let A1: CrnNodeProc;
  let evil: Server;
  let evilUrl = '';
  let mHash = '';
  let m1Hash = '';
  let program: AlephMessage;
  /** What the attacker's peer serves; rebuilt at each request (fresh times). */
  let serve: () => unknown[] = () => [];

  before(async () => {
    A = await prepareCcn(root, 'ccn-a', EthAccount.generate());
    const port = await freePort('127.0.0.41');
    evilUrl = `http://127.0.0.41:${port}`;
    // The attacker's peer and its CRN M1 in one server: heartbeats on one path, an empty execution list on the other.
    evil = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/api/v0/network/heartbeats') res.end(JSON.stringify({ now: Date.now() / 1000, heartbeats: serve() }));
      else if (req.url === '/about/executions/list') res.end('{}');
      else res.end('{}');
    });
    await new Promise<void>((resolve) => evil.listen(port, '127.0.0.41', resolve));
    await startCcnNode(A, [evilUrl]);
    A1 = await prepareCrn(root, 'crn-a1', '127.0.0.42', [A.url]);
    await startCrnNode(A1);
    A.hash = await registryOperation([A.url], A.key, 'create-node', { details: { name: 'ccn-a', multiaddress: '' } });
    mHash = await registryOperation([A.url], attacker, 'create-node', { details: { name: 'ccn-m', multiaddress: '' } });
    A1.hash = await registryOperation([A.url], EthAccount.generate(), 'create-resource-node', { details: { name: 'crn-a1', address: A1.url, type: 'compute' } });
    await registryOperation([A.url], A.key, 'link', { ref: A1.hash });
    m1Hash = await registryOperation([A.url], EthAccount.generate(), 'create-resource-node', { details: { name: 'crn-m1', address: evilUrl, type: 'compute' } });
    await registryOperation([A.url], attacker, 'link', { ref: m1Hash });
    const refs = await publishCode([A.url], user);
    program = programMessage(user, refs, { name: 'victim', persistent: true, greeting: 'still mine' });
    await publishTo([A.url], program);
    await eventually('A to place the program on A1', 60_000, async () => (await allocationsOf(A)).allocations.find((a) => a.item_hash === program.item_hash && a.crn === A1.hash && a.push_status === 'ok'));
  });

  after(async () => {
    try {
      await stopCrn(A1).catch(() => undefined);
      await A?.proc?.stop().catch(() => undefined);
      evil?.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('refuses forged heartbeats and keeps the workload against a valid but lying claim', async () => {
    const now = (): number => Date.now() / 1000;
    const base = (over: Partial<HeartbeatPayload>): HeartbeatPayload => ({ v: 1, node_hash: mHash, address: attacker.address, time: now(), url: evilUrl, schedules: true, crns: [], unplaced: [], ...over });
    const claim = (crn: string, decidedAt: number) => [{ hash: crn, health: 'healthy' as const, capacity: null, workloads: [{ item_hash: program.item_hash, decided_at: decidedAt }] }];
    serve = () => {
      const t = now();
      const forgedForA = signHeartbeat(attacker, base({ node_hash: A.hash, time: t, crns: [] }));
      return [
        // A's node, signed by the attacker's key with the attacker's address: wrong signer.
        forgedForA,
        // A's node and A's address, with the attacker's signature: bad signature.
        { payload: JSON.stringify(base({ node_hash: A.hash, address: A.key.address, time: t })), signature: forgedForA.signature },
        // M's own heartbeat claiming the program on A1 (not M's CRN), decided later: not a claim.
        // (Listed first of M's: the table keeps M's newest heartbeat, the one below.)
        signHeartbeat(attacker, base({ time: t - 0.5, crns: claim(A1.hash, t - 0.5) })),
        // M's own heartbeat, valid, claiming the program on M1 with a later decision.
        signHeartbeat(attacker, base({ time: t, crns: claim(m1Hash, t) })),
        // A decision dated after its heartbeat (to beat any later decision): refused.
        signHeartbeat(attacker, base({ time: t + 0.1, crns: claim(m1Hash, t + 3600) })),
      ];
    };
    // Several pull rounds of the attacker's peer.
    const contested = await eventually('A to see M\'s claim', 30_000, async () => {
      const w = (await networkView(A)).workloads.find((x) => x.item_hash === program.item_hash);
      return w?.rule === 'contested' ? w : undefined;
    });
    assert.equal(contested.manager, mHash, 'by the rule, M\'s later decision would win');
    assert.match(contested.reason, /keeps its copy until CRN/);
    await new Promise((r) => setTimeout(r, 10 * TIMINGS.heartbeatIntervalSeconds * 1000));
    const view = await networkView(A);
    const aEntry = view.ccns.find((c) => c.node_hash === A.hash);
    assert.equal(aEntry?.status, 'self');
    const heartbeats = (await (await fetch(`${A.url}/api/v0/network/heartbeats`)).json()) as { heartbeats: { payload: string }[] };
    const signers = heartbeats.heartbeats.map((h) => (JSON.parse(h.payload) as HeartbeatPayload).address.toLowerCase()).sort();
    assert.deepEqual(signers, [A.key.address.toLowerCase(), attacker.address.toLowerCase()].sort(), 'only A\'s own and M\'s valid heartbeat are kept');
    const kept = heartbeats.heartbeats.map((h) => JSON.parse(h.payload) as HeartbeatPayload).find((p) => p.node_hash === mHash);
    assert.ok(kept?.crns.every((c) => c.workloads.every((w) => w.decided_at <= kept.time)), 'the future-dated decision was refused');
    // The workload stays with A and keeps running on A1.
    const row = (await allocationsOf(A)).allocations.find((a) => a.item_hash === program.item_hash);
    assert.equal(row?.crn, A1.hash);
    assert.ok((await runningOn(A1)).includes(program.item_hash));
    assert.equal(await answers(A1, program.item_hash, 'still mine'), true);
  });
});
