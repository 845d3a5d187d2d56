/**
 * The registry is a pure replay in the total order (content time, then item_hash): every input
 * it reads gives the same result whatever order the messages were processed in, ties included.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeRegistry, orderEvents } from './rules.ts';
import type { RegistryEvent, RegistrySettings } from './types.ts';

const INDEXER = '0x00000000000000000000000000000000000000b1';
const SCORER = '0x00000000000000000000000000000000000000c1';
const OWNER = '0x00000000000000000000000000000000000000a1';
const SETTINGS: RegistrySettings = {
  tag: '',
  maxLinkedCrns: 3,
  ccnOwnerMinBalance: 10,
  stakerMinBalance: 1,
  ccnActivationStake: 100,
  balanceIndexers: [INDEXER],
  scoresSenders: [SCORER],
};

const h = (c: string): string => c.repeat(64);
const balances = (itemHash: string, time: number, height: number, amount: number): RegistryEvent => ({
  itemHash,
  sender: INDEXER,
  time,
  content: { type: 'balances-update', content: { chain: 'ETH', main_height: height, balances: { [OWNER]: amount } } },
});
const createNode = (itemHash: string, time: number): RegistryEvent => ({
  itemHash,
  sender: OWNER,
  time,
  content: { type: 'corechan-operation', address: OWNER, content: { action: 'create-node', tags: [], details: { name: 'n' } } },
});
const scores = (itemHash: string, time: number, node: string, toDate: number, score: number): RegistryEvent => ({
  itemHash,
  sender: SCORER,
  time,
  content: { type: 'aleph-scoring-scores', content: { tags: [], period: { from_date: toDate - 3600, to_date: toDate }, scores: { ccn: [{ node_id: node, total_score: score }], crn: [] } } },
});

/** Every permutation of a small list. */
function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

describe('registry replay order', () => {
  it('orders ties by item_hash', () => {
    const a = createNode(h('b'), 5);
    const b = createNode(h('a'), 5);
    assert.deepEqual(orderEvents([a, b]).map((e) => e.itemHash), [h('a'), h('b')]);
  });

  it('gives the same registry for every processing order of the same events', () => {
    const events = [balances(h('1'), 1, 1, 50), balances(h('2'), 2, 1, 60), balances(h('3'), 2, 0, 5), createNode(h('4'), 3), createNode(h('5'), 3), scores(h('6'), 4, h('4'), 7200, 0.5), scores(h('7'), 9, h('4'), 3600, 0.9)];
    const results = permutations(events).map((order) => JSON.stringify([computeRegistry(order, SETTINGS).value, [...computeRegistry(order, SETTINGS).outcomes.entries()].sort()]));
    assert.equal(new Set(results).size, 1);
  });

  it('balances: a stale height never wins; equal heights go to the later in the total order', () => {
    const { value } = computeRegistry([balances(h('1'), 1, 5, 50), balances(h('2'), 9, 4, 1), createNode(h('4'), 10)], SETTINGS);
    assert.equal(value.nodes.length, 1, 'the stale report (height 4) did not drop the balance below the minimum');
    const tie = computeRegistry([balances(h('2'), 1, 5, 50), balances(h('1'), 1, 5, 1), createNode(h('4'), 10)], SETTINGS);
    assert.equal(tie.value.nodes.length, 1, 'of two equal reports the greater hash is in effect');
  });

  it('scores: a late post for an older period does not replace a newer period', () => {
    const { value, outcomes } = computeRegistry([balances(h('1'), 1, 1, 50), createNode(h('4'), 2), scores(h('6'), 3, h('4'), 7200, 0.5), scores(h('7'), 9, h('4'), 3600, 0.9)], SETTINGS);
    assert.equal(value.nodes[0]?.score, 0.5);
    assert.match(outcomes.get(h('7'))?.reason ?? '', /older than the period in effect/);
  });
});
