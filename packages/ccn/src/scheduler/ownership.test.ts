/**
 * The ownership rule as a table: workload (placed / new / amended) × its CCN live or down × its
 * CRN running it, gone or not probed yet × the others' room, and the split-brain resolution as
 * two CCNs compute it from their own views before and after a partition heals.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sha256Hex } from '@aleph-nodes/protocol';
import { decideOwnership, type CcnView, type OrphanState, type OwnershipInput } from './ownership.ts';
import type { CrnCapacity, Workload } from './placement.ts';
import { rankByRendezvous } from './rendezvous.ts';

const [A, B, C] = ['ccn-a', 'ccn-b', 'ccn-c'].map((s) => sha256Hex(s)) as [string, string, string];
const [a1, b1, c1] = ['crn-a1', 'crn-b1', 'crn-c1'].map((s) => sha256Hex(s)) as [string, string, string];
const W = sha256Hex('workload');

const roomy: CrnCapacity = { cpuCount: 4, totalMemoryMib: 8192, availableMemoryMib: 4096, availableDiskMib: 10_000, architecture: 'x86_64', vendor: 'GenuineIntel', features: [], gpuDeviceIds: [] };
const full: CrnCapacity = { ...roomy, availableMemoryMib: 64 };

const workload = (over: Partial<Workload> = {}): Workload => ({ itemHash: W, type: 'PROGRAM', vcpus: 1, memoryMib: 128, diskMib: 0, ...over });

function ccn(nodeHash: string, crn: string, over: Partial<CcnView> & { cap?: CrnCapacity; health?: 'healthy' | 'down' | 'unknown' } = {}): CcnView {
  return {
    nodeHash,
    live: true,
    schedules: over.live === false ? false : true,
    crns: [{ hash: crn, health: over.health ?? 'healthy', capacity: over.cap ?? roomy }],
    placements: new Map(),
    unplaced: new Set(),
    ...over,
  };
}

const parents = new Map([
  [a1, A],
  [b1, B],
  [c1, C],
]);

function decide(ccns: CcnView[], opts: { workloads?: Workload[]; orphan?: OrphanState; parents?: Map<string, string>; runningOnOrphan?: string } = {}) {
  const links = opts.parents ?? parents;
  const input: OwnershipInput = {
    workloads: opts.workloads ?? [workload()],
    ccns,
    parentOf: (h) => links.get(h) ?? null,
    crnInfo: (h) => ({ owner: '0x' + '1'.repeat(40), url: `http://${h.slice(0, 6)}` }),
    orphan: () => opts.orphan ?? 'unknown',
    runningOnOrphan: () => opts.runningOnOrphan,
  };
  return decideOwnership(input);
}

const placedOnA1 = (decidedAt = 100): Map<string, { crnHash: string; decidedAt: number }> => new Map([[W, { crnHash: a1, decidedAt }]]);
const firstOf = (...nodes: string[]): string => rankByRendezvous(W, nodes)[0] as string;

describe('ownership rule', () => {
  it('placed, its CCN live: that CCN manages it, whatever its CRN (it moves it among its own)', () => {
    for (const health of ['healthy', 'down', 'unknown'] as const) {
      const [o] = decide([ccn(A, a1, { placements: placedOnA1(), health }), ccn(B, b1), ccn(C, c1)]);
      assert.equal(o?.manager, A);
      assert.equal(o?.rule, 'claimed');
      assert.equal(o?.crnHash, a1);
    }
  });

  it('placed, its CCN down, its CRN still runs it or is not decided yet: nobody manages it', () => {
    for (const orphan of ['running', 'unknown'] as const) {
      const [o] = decide([ccn(A, a1, { live: false, placements: placedOnA1() }), ccn(B, b1), ccn(C, c1)], { orphan });
      assert.equal(o?.manager, null);
      assert.equal(o?.rule, 'unmanaged');
      assert.match(o?.reason ?? '', orphan === 'running' ? /still runs it/ : /probing its CRN/);
    }
  });

  it('placed, its CCN down and its CRN gone: the first live CCN in rendezvous rank with room adopts it', () => {
    const [o] = decide([ccn(A, a1, { live: false, placements: placedOnA1() }), ccn(B, b1), ccn(C, c1)], { orphan: 'gone' });
    assert.equal(o?.manager, firstOf(B, C));
    assert.equal(o?.rule, 'rendezvous');
    assert.match(o?.reason ?? '', /^orphaned: its CCN .* is down and its CRN .* does not run it; .* ranks first/);
    // Only C has room: C, whatever the rank.
    const [p] = decide([ccn(A, a1, { live: false, placements: placedOnA1() }), ccn(B, b1, { cap: full }), ccn(C, c1)], { orphan: 'gone' });
    assert.equal(p?.manager, C);
    // B's only CRN is down: C.
    const [q] = decide([ccn(A, a1, { live: false, placements: placedOnA1() }), ccn(B, b1, { health: 'down' }), ccn(C, c1)], { orphan: 'gone' });
    assert.equal(q?.manager, C);
  });

  it('unannounced: a CRN of a down CCN runs a workload nobody claims: it keeps running there, nobody places a second copy', () => {
    // A pushed W to a1 and died before its heartbeat said so.
    const [o] = decide([ccn(A, a1, { live: false }), ccn(B, b1), ccn(C, c1)], { runningOnOrphan: a1 });
    assert.equal(o?.manager, null);
    assert.equal(o?.rule, 'unmanaged');
    assert.match(o?.reason ?? '', /of a CCN that is down runs it/);
  });

  it('placed, its CCN down, its CRN re-linked to a live CCN: that CCN inherits it on that CRN', () => {
    const relinked = new Map(parents).set(a1, B);
    const [o] = decide([ccn(A, a1, { live: false, placements: placedOnA1() }), ccn(B, b1), ccn(C, c1)], { parents: relinked, orphan: 'gone' });
    assert.equal(o?.manager, B);
    assert.equal(o?.rule, 'inherited');
    assert.equal(o?.crnHash, a1);
  });

  it('a claim on a CRN the registry does not link to the claimant is no claim', () => {
    const [o] = decide([ccn(A, a1), ccn(B, b1, { placements: new Map([[W, { crnHash: a1, decidedAt: 100 }]]) })]);
    assert.notEqual(o?.rule, 'claimed');
    assert.equal(o?.manager, firstOf(A, B));
  });

  it('new: the first in rendezvous rank among live scheduling CCNs with room', () => {
    const [o] = decide([ccn(A, a1), ccn(B, b1), ccn(C, c1)]);
    assert.equal(o?.manager, firstOf(A, B, C));
    assert.equal(o?.rule, 'rendezvous');
    const first = firstOf(A, B, C);
    const views = (): CcnView[] => [ccn(A, a1), ccn(B, b1), ccn(C, c1)];
    // The first reports it unplaceable: the next in rank takes it.
    const withUnplaced = views().map((v) => (v.nodeHash === first ? { ...v, unplaced: new Set([W]) } : v));
    assert.equal(decide(withUnplaced)[0]?.manager, rankByRendezvous(W, [A, B, C])[1]);
    // The first does not schedule (scheduler off, or fenced for its clock): excluded.
    const notScheduling = views().map((v) => (v.nodeHash === first ? { ...v, schedules: false } : v));
    assert.equal(decide(notScheduling)[0]?.manager, rankByRendezvous(W, [A, B, C])[1]);
    // A CCN that is down is no candidate.
    const down = views().map((v) => (v.nodeHash === first ? { ...v, live: false, schedules: false } : v));
    assert.equal(decide(down)[0]?.manager, rankByRendezvous(W, [A, B, C])[1]);
  });

  it('new, nobody has room: the first of the live scheduling CCNs holds it (and says why)', () => {
    const [o] = decide([ccn(A, a1, { cap: full }), ccn(B, b1, { cap: full }), ccn(C, c1, { health: 'down' })]);
    assert.equal(o?.manager, firstOf(A, B, C));
    assert.equal(o?.rule, 'fallback');
    assert.match(o?.reason ?? '', /no live CCN reports a healthy CRN with room/);
  });

  it('nobody live and scheduling: no manager', () => {
    const [o] = decide([ccn(A, a1, { live: false }), ccn(B, b1, { schedules: false })]);
    assert.equal(o?.manager, null);
    assert.equal(o?.rule, 'none');
  });

  it('requirements: a workload that names a node goes to the CCN that links it', () => {
    const [o] = decide([ccn(A, a1), ccn(B, b1), ccn(C, c1)], { workloads: [workload({ requirements: { node: { node_hash: c1 } } })] });
    assert.equal(o?.manager, C);
  });

  it('an amend inherits the manager and CRN of the message it replaces', () => {
    const amend = sha256Hex('amend');
    const [o] = decide([ccn(A, a1, { placements: placedOnA1() }), ccn(B, b1)], { workloads: [workload({ itemHash: amend, replaces: [W] })] });
    assert.equal(o?.manager, A);
    assert.equal(o?.crnHash, a1);
  });

  it('two live claims: the later decision wins, then the rendezvous rank; the loser is named', () => {
    const b = new Map([[W, { crnHash: b1, decidedAt: 200 }]]);
    const [o] = decide([ccn(A, a1, { placements: placedOnA1(100) }), ccn(B, b1, { placements: b })]);
    assert.equal(o?.manager, B);
    assert.equal(o?.rule, 'contested');
    assert.deepEqual(o?.losers, [A]);
    assert.match(o?.reason ?? '', /the later decision/);
    const same = new Map([[W, { crnHash: b1, decidedAt: 100 }]]);
    const [p] = decide([ccn(A, a1, { placements: placedOnA1(100) }), ccn(B, b1, { placements: same })]);
    assert.equal(p?.manager, firstOf(A, B));
    assert.match(p?.reason ?? '', /higher rendezvous rank/);
  });

  it('a CCN that comes back with its old placement loses to the newer adoption', () => {
    // A placed W at 100, died; B adopted it at 300. A is live again and still has its record.
    const adopted = new Map([[W, { crnHash: b1, decidedAt: 300 }]]);
    const [o] = decide([ccn(A, a1, { placements: placedOnA1(100) }), ccn(B, b1, { placements: adopted })]);
    assert.equal(o?.manager, B);
    assert.deepEqual(o?.losers, [A]);
  });

  it('split brain: both sides place during a partition, both agree on one after it heals', () => {
    // During the partition each side has no heartbeat of the other: each is alone and places W.
    const x = decide([ccn(A, a1)]);
    const y = decide([ccn(B, b1)]);
    assert.equal(x[0]?.manager, A);
    assert.equal(y[0]?.manager, B);
    // Each recorded its decision (different times); healed, each computes with both claims.
    const aClaim = ccn(A, a1, { placements: new Map([[W, { crnHash: a1, decidedAt: 1000.25 }]]) });
    const bClaim = ccn(B, b1, { placements: new Map([[W, { crnHash: b1, decidedAt: 1003.5 }]]) });
    const atA = decide([aClaim, bClaim]);
    const atB = decide([bClaim, aClaim]);
    assert.equal(atA[0]?.manager, atB[0]?.manager);
    assert.equal(atA[0]?.manager, B);
    // A drops it; its next heartbeat has no claim: B keeps it, nobody else takes it.
    const afterDrop = decide([ccn(A, a1), bClaim]);
    assert.equal(afterDrop[0]?.manager, B);
    assert.equal(afterDrop[0]?.rule, 'claimed');
  });
});
