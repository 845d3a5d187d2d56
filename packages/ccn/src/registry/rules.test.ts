import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeRegistry } from './rules.ts';
import type { CorechannelValue, RegistryEvent, RegistrySettings } from './types.ts';

function registryValue(events: readonly RegistryEvent[], settings: RegistrySettings): CorechannelValue {
  return computeRegistry(events, settings).value;
}

const SETTINGS: RegistrySettings = {
  tag: 'mainnet',
  maxLinkedCrns: 2,
  ccnOwnerMinBalance: 200_000,
  stakerMinBalance: 10_000,
  ccnActivationStake: 500_000,
  balanceIndexers: ['0x00000000000000000000000000000000000000b1'],
  scoresSenders: ['0x00000000000000000000000000000000000000c1'],
};

const OWNER = '0x00000000000000000000000000000000000000a1';
const OTHER = '0x00000000000000000000000000000000000000a2';
const STAKER = '0x00000000000000000000000000000000000000a3';
const STAKER2 = '0x00000000000000000000000000000000000000a4';
const INDEXER = SETTINGS.balanceIndexers[0] as string;

let counter = 0;
function hash(label: string): string {
  return label.padEnd(64, '0').replace(/[^0-9a-f]/g, 'f');
}
function ev(sender: string, time: number, content: RegistryEvent['content'], itemHash?: string): RegistryEvent {
  counter += 1;
  return { itemHash: itemHash ?? hash(`e${counter.toString(16)}`), sender, time, content };
}
function op(sender: string, time: number, action: string, extra: { ref?: string; details?: Record<string, unknown>; tags?: string[] } = {}, itemHash?: string): RegistryEvent {
  return ev(
    sender,
    time,
    {
      type: 'corechan-operation',
      address: sender,
      ...(extra.ref ? { ref: extra.ref } : {}),
      content: { action, tags: extra.tags ?? [action, 'mainnet'], ...(extra.details ? { details: extra.details } : {}) },
    },
    itemHash,
  );
}
function balances(time: number, values: Record<string, number>): RegistryEvent {
  return ev(INDEXER, time, { type: 'balances-update', address: INDEXER, content: { chain: 'ETH', main_height: time, balances: values } });
}

const CCN = hash('aa01');
const CRN1 = hash('bb01');
const CRN2 = hash('bb02');
const CRN3 = hash('bb03');

function baseEvents(): RegistryEvent[] {
  return [
    balances(1, { [OWNER]: 250_000, [STAKER]: 300_000, [STAKER2]: 250_000 }),
    op(OWNER, 2, 'create-node', { details: { name: 'core', multiaddress: '/ip4/1.2.3.4/tcp/4025/p2p/QmX' } }, CCN),
    op(OTHER, 3, 'create-resource-node', { details: { name: 'crn1', address: 'https://crn1.example.org', type: 'compute' } }, CRN1),
    op(OTHER, 4, 'create-resource-node', { details: { name: 'crn2', address: 'https://crn2.example.org', type: 'compute' } }, CRN2),
    op(OTHER, 5, 'create-resource-node', { details: { name: 'crn3', address: 'https://crn3.example.org', type: 'compute' } }, CRN3),
  ];
}

describe('corechannel registry rules', () => {
  it('creates nodes with the reference JSON shape', () => {
    const value = registryValue(baseEvents(), SETTINGS);
    assert.equal(value.nodes.length, 1);
    assert.equal(value.resource_nodes.length, 3);
    const ccn = value.nodes[0];
    assert.ok(ccn);
    assert.equal(ccn.hash, CCN);
    assert.equal(ccn.owner, OWNER);
    assert.equal(ccn.reward, OWNER);
    assert.equal(ccn.status, 'waiting');
    assert.deepEqual(ccn.resource_nodes, []);
    assert.deepEqual(Object.keys(ccn).sort(), [
      'address', 'authorized', 'banner', 'decentralization', 'description', 'has_bonus', 'hash', 'inactive_since', 'locked', 'manager',
      'multiaddress', 'name', 'owner', 'performance', 'picture', 'registration_url', 'resource_nodes', 'reward', 'score', 'score_updated',
      'stakers', 'status', 'stream_reward', 'terms_and_conditions', 'time', 'total_staked',
    ]);
    const crn = value.resource_nodes.find((n) => n.hash === CRN1);
    assert.equal(crn?.status, 'waiting');
    assert.equal(crn?.parent, null);
    assert.equal(crn?.type, 'compute');
  });

  it('ignores a CCN creation without the owner balance, or without the network tag', () => {
    const poor = registryValue([op(OWNER, 2, 'create-node', { details: { name: 'x', multiaddress: '' } })], SETTINGS);
    assert.equal(poor.nodes.length, 0);
    const untagged = registryValue(
      [balances(1, { [OWNER]: 250_000 }), op(OWNER, 2, 'create-node', { details: { name: 'x' }, tags: ['create-node', 'testnet'] })],
      SETTINGS,
    );
    assert.equal(untagged.nodes.length, 0);
    const anyTag = registryValue([op(OWNER, 2, 'create-node', { details: { name: 'x' }, tags: [] })], { ...SETTINGS, tag: '', ccnOwnerMinBalance: 0 });
    assert.equal(anyTag.nodes.length, 1);
  });

  it('reports why an operation was ignored', () => {
    const tooMany = op(OWNER, 12, 'link', { ref: CRN3 });
    const stranger = op(STAKER, 13, 'drop-node', { ref: CRN1 });
    const { outcomes } = computeRegistry(
      [...baseEvents(), op(OWNER, 10, 'link', { ref: CRN1 }), op(OWNER, 11, 'link', { ref: CRN2 }), tooMany, stranger],
      SETTINGS,
    );
    assert.equal(outcomes.get(CCN)?.status, 'applied');
    assert.equal(outcomes.get(tooMany.itemHash)?.status, 'ignored');
    assert.match(outcomes.get(tooMany.itemHash)?.reason ?? '', /max_linked_crns/);
    assert.equal(outcomes.get(stranger.itemHash)?.action, 'drop-node');
    assert.match(outcomes.get(stranger.itemHash)?.reason ?? '', /owner/);
  });

  it('links CRNs up to max_linked_crns and unlinks them', () => {
    const events = [
      ...baseEvents(),
      op(OWNER, 10, 'link', { ref: CRN1 }),
      op(OWNER, 11, 'link', { ref: CRN2 }),
      op(OWNER, 12, 'link', { ref: CRN3 }),
    ];
    let value = registryValue(events, SETTINGS);
    assert.deepEqual(value.nodes[0]?.resource_nodes, [CRN1, CRN2]);
    assert.equal(value.resource_nodes.find((n) => n.hash === CRN1)?.status, 'linked');
    assert.equal(value.resource_nodes.find((n) => n.hash === CRN1)?.parent, CCN);
    assert.equal(value.resource_nodes.find((n) => n.hash === CRN3)?.status, 'waiting');

    // The CRN owner may unlink; a stranger may not.
    value = registryValue([...events, op(STAKER, 13, 'unlink', { ref: CRN2 }), op(OTHER, 14, 'unlink', { ref: CRN1 })], SETTINGS);
    assert.deepEqual(value.nodes[0]?.resource_nodes, [CRN2]);
    assert.equal(value.resource_nodes.find((n) => n.hash === CRN1)?.parent, null);
  });

  it('activates a CCN once stakers hold enough, and follows live balances', () => {
    const events = [...baseEvents(), op(STAKER, 10, 'stake', { ref: CCN }), op(STAKER2, 11, 'stake', { ref: CCN })];
    let value = registryValue(events, SETTINGS);
    assert.deepEqual(value.nodes[0]?.stakers, { [STAKER]: 300_000, [STAKER2]: 250_000 });
    assert.equal(value.nodes[0]?.total_staked, 550_000);
    assert.equal(value.nodes[0]?.status, 'active');

    // A staker falling below the staking minimum loses its stake; the CCN goes back to waiting.
    value = registryValue([...events, balances(12, { [STAKER2]: 5_000 })], SETTINGS);
    assert.deepEqual(value.nodes[0]?.stakers, { [STAKER]: 300_000 });
    assert.equal(value.nodes[0]?.status, 'waiting');
  });

  it('drops a CCN whose owner balance falls, unlinking its CRNs', () => {
    const events = [...baseEvents(), op(OWNER, 10, 'link', { ref: CRN1 }), balances(11, { [OWNER]: 1 })];
    const value = registryValue(events, SETTINGS);
    assert.equal(value.nodes.length, 0);
    const crn = value.resource_nodes.find((n) => n.hash === CRN1);
    assert.equal(crn?.status, 'waiting');
    assert.equal(crn?.parent, null);
  });

  it('lets only the owner drop a node', () => {
    const events = [...baseEvents(), op(OWNER, 10, 'link', { ref: CRN1 }), op(OWNER, 11, 'drop-node', { ref: CRN2 }), op(OTHER, 12, 'drop-node', { ref: CRN1 })];
    const value = registryValue(events, SETTINGS);
    assert.deepEqual(value.resource_nodes.map((n) => n.hash).sort(), [CRN2, CRN3].sort());
    assert.deepEqual(value.nodes[0]?.resource_nodes, []);
  });

  it('blanks a CRN address whose hostname is already used', () => {
    const dup = hash('bb04');
    const value = registryValue(
      [...baseEvents(), op(STAKER, 6, 'create-resource-node', { details: { name: 'copy', address: 'https://crn1.example.org/', type: 'compute' } }, dup)],
      SETTINGS,
    );
    assert.equal(value.resource_nodes.find((n) => n.hash === dup)?.address, '');
  });

  it('applies amends by the owner or manager to editable fields only', () => {
    const amend = (sender: string, time: number, details: Record<string, unknown>): RegistryEvent =>
      ev(sender, time, { type: 'amend', address: sender, ref: CRN1, content: { action: 'create-resource-node', tags: ['mainnet'], details } });
    const value = registryValue(
      [...baseEvents(), amend(OTHER, 10, { name: 'renamed', manager: STAKER, owner: STAKER }), amend(STAKER, 11, { description: 'by manager' }), amend(OWNER, 12, { name: 'stranger' })],
      SETTINGS,
    );
    const crn = value.resource_nodes.find((n) => n.hash === CRN1);
    assert.equal(crn?.name, 'renamed');
    assert.equal(crn?.owner, OTHER);
    assert.equal(crn?.manager, STAKER);
    assert.equal(crn?.description, 'by manager');
  });

  it('takes scores from the scoring address only', () => {
    const scorer = SETTINGS.scoresSenders[0] as string;
    const scores = (sender: string, time: number, score: number): RegistryEvent =>
      ev(sender, time, {
        type: 'aleph-scoring-scores',
        address: sender,
        content: { tags: ['mainnet'], scores: { ccn: [{ node_id: CCN, total_score: score, performance: 0.5, decentralization: 0.4 }], crn: [] } },
      });
    const value = registryValue([...baseEvents(), scores(scorer, 10, 0.9), scores(OTHER, 11, 0.1)], SETTINGS);
    assert.equal(value.nodes[0]?.score, 0.9);
    assert.equal(value.nodes[0]?.performance, 0.5);
    assert.equal(value.nodes[0]?.inactive_since, null);
    const inactive = registryValue([...baseEvents(), scores(scorer, 10, 0.001)], SETTINGS);
    assert.equal(inactive.nodes[0]?.inactive_since, 10);
  });

  it('is a function of the ordered events, whatever order they arrive in', () => {
    const events = [...baseEvents(), op(OWNER, 10, 'link', { ref: CRN1 }), op(STAKER, 11, 'stake', { ref: CCN }), op(OWNER, 12, 'link', { ref: CRN3 })];
    const expected = registryValue(events, SETTINGS);
    const reversed = registryValue([...events].reverse(), SETTINGS);
    assert.deepEqual(reversed, expected);
  });

  it('refuses each bad stake, unstake, balance and score input with a reason', () => {
    const poor = '0x00000000000000000000000000000000000000a5';
    const stakeNoBalance = op(poor, 10, 'stake', { ref: CCN });
    const stake = op(STAKER, 11, 'stake', { ref: CCN });
    const unstakeTooMuch = op(STAKER, 12, 'unstake', { ref: CCN, details: { amount: 300_001 } });
    const unstakeOther = op(STAKER2, 13, 'unstake', { ref: CCN });
    const unstakeUnknown = op(STAKER, 14, 'unstake', { ref: CRN1 });
    const forgedBalance = ev(OTHER, 15, { type: 'balances-update', address: OTHER, content: { chain: 'ETH', balances: { [OTHER]: 1e9 } } });
    const scorer = SETTINGS.scoresSenders[0] as string;
    const unknownScores = ev(scorer, 16, {
      type: 'aleph-scoring-scores',
      address: scorer,
      content: { tags: ['mainnet'], scores: { ccn: [{ node_id: CCN, total_score: 0.9 }], crn: [{ node_id: 'f'.repeat(64), total_score: 1 }] } },
    });
    const strangerScores = ev(OTHER, 17, { type: 'aleph-scoring-scores', address: OTHER, content: { tags: ['mainnet'], scores: { ccn: [], crn: [] } } });
    const { outcomes, value } = computeRegistry(
      [...baseEvents(), stakeNoBalance, stake, unstakeTooMuch, unstakeOther, unstakeUnknown, forgedBalance, unknownScores, strangerScores],
      SETTINGS,
    );
    const reason = (e: RegistryEvent): string => `${outcomes.get(e.itemHash)?.status}: ${outcomes.get(e.itemHash)?.reason ?? ''}`;
    assert.match(reason(stakeNoBalance), /^ignored: the staker holds 0 ALEPH, less than the 10000/);
    assert.equal(reason(stake), 'applied: ');
    assert.match(reason(unstakeTooMuch), /^ignored: cannot unstake 300001 ALEPH: the sender stakes 300000 ALEPH on this node/);
    assert.match(reason(unstakeOther), /^ignored: the sender does not stake on this node/);
    assert.match(reason(unstakeUnknown), /^ignored: no core channel node/);
    assert.match(reason(forgedBalance), /^ignored: balances from an address that is not a balance oracle/);
    assert.match(reason(unknownScores), /^applied: scores for unknown nodes skipped: crn f{64}/);
    assert.match(reason(strangerScores), /^ignored: scores from an address that is not a scores sender/);
    // The stake stayed (the bad unstake changed nothing), the forged balance did not count.
    assert.deepEqual(value.nodes[0]?.stakers, { [STAKER]: 300_000 });
    assert.equal(value.nodes[0]?.score, 0.9);
  });

  it('with a 0 staking minimum (development network), a stake still needs a balance', () => {
    const settings = { ...SETTINGS, stakerMinBalance: 0 };
    const noBalance = op('0x00000000000000000000000000000000000000a6', 10, 'stake', { ref: CCN });
    const { outcomes } = computeRegistry([...baseEvents(), noBalance], settings);
    assert.match(outcomes.get(noBalance.itemHash)?.reason ?? '', /holds no ALEPH/);
    const unstakeAll = op(STAKER, 12, 'unstake', { ref: CCN, details: { amount: 300_000 } });
    const applied = computeRegistry([...baseEvents(), op(STAKER, 11, 'stake', { ref: CCN }), unstakeAll], settings);
    assert.equal(applied.outcomes.get(unstakeAll.itemHash)?.status, 'applied');
    assert.deepEqual(applied.value.nodes[0]?.stakers, {});
  });
});
