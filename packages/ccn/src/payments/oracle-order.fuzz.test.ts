/**
 * Oracle posts replicate like any message, in any order: the payment state they set (token
 * balances, credit lots after FIFO debits and expiry, current flows) must be the same on every
 * CCN whatever order they arrived in. Property: the same random set of oracle posts (equal times
 * and heights included, posts from a stranger among them) fed to two fresh CCNs in two random
 * orders gives the same `stateDigest` (payments and balances parts).
 *
 * Each case runs two complete nodes, so the suite runs fuzzRuns() / 25 cases (20).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildInlineMessage, EthAccount, type AlephMessage } from '@aleph-nodes/protocol';
import { fuzzRuns } from '@aleph-nodes/protocol/testing';
import fc from 'fast-check';
import { feed, quiesce, type Arrival } from '../testing/order-harness.ts';
import { canonicalJson, stateDigest } from '../testing/state-digest.ts';
import { NOW, openPaymentNode } from './fixtures.test-support.ts';

const oracle = EthAccount.generate();
const stranger = EthAccount.generate();
const users = [EthAccount.generate().address, EthAccount.generate().address];

const postArb = fc.record({
  kind: fc.constantFrom('balance', 'distribution', 'expense', 'flow'),
  stranger: fc.boolean(),
  dt: fc.integer({ min: 0, max: 3 }),
  height: fc.nat({ max: 2 }),
  user: fc.nat({ max: 1 }),
  amount: fc.integer({ min: 1, max: 1000 }),
  expires: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
});
type PostSpec = typeof postArb extends fc.Arbitrary<infer T> ? T : never;

function build(spec: PostSpec, i: number): AlephMessage {
  const signer = spec.stranger && spec.kind !== 'balance' ? stranger : oracle;
  const user = users[spec.user] as string;
  const time = NOW - 100 + spec.dt;
  const tag = { nonce: i };
  if (spec.kind === 'balance') {
    return buildInlineMessage(signer, 'POST', { type: 'balances-update', content: { chain: 'ETH', main_height: spec.height, balances: { [user]: spec.amount }, ...tag } }, { time });
  }
  if (spec.kind === 'flow') {
    return buildInlineMessage(signer, 'POST', { type: 'aleph-flows-update', content: { chain: 'ETH', flows: [{ sender: user, receiver: users[1 - spec.user], rate_per_hour: String(spec.amount % 3) }] } }, { time });
  }
  if (spec.kind === 'expense') {
    return buildInlineMessage(signer, 'POST', { type: 'aleph_credit_expense', content: { expense: { credits: [{ address: user, amount: spec.amount, ref: `e${i}` }] } } }, { time, channel: 'ALEPH_CREDIT' });
  }
  const expiration = spec.expires === undefined ? undefined : (time + spec.expires) * 1000;
  const entry = { address: user, amount: spec.amount, price: '1', tx_hash: `0x${i}`, provider: 'p', ...(expiration ? { expiration } : {}) };
  return buildInlineMessage(signer, 'POST', { type: 'aleph_credit_distribution', content: { distribution: { credits: [entry], token: 'ALEPH', chain: 'ETH' } } }, { time, channel: 'ALEPH_CREDIT' });
}

async function stateAfter(messages: AlephMessage[]): Promise<string> {
  const node = await openPaymentNode('sqlite', oracle);
  try {
    await feed(node, messages.flatMap((message): Arrival[] => [{ kind: 'message', message }, { kind: 'settle' }]));
    await quiesce(node);
    const { state } = await stateDigest(node.stores);
    return canonicalJson({ payments: state.payments, balances: state.balances, statuses: (state.messages as { item_hash: string; status: string }[]).map((m) => [m.item_hash, m.status]) });
  } finally {
    await node.dispose();
  }
}

describe('oracle posts: order independence (property)', () => {
  it('the same oracle posts in two random orders give the same payment state', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(postArb, { minLength: 1, maxLength: 8 }), fc.array(fc.integer(), { minLength: 8, maxLength: 8 }), async (specs, keys) => {
        const messages = specs.map(build);
        const shuffled = messages.map((m, i) => ({ m, k: keys[i] ?? 0, i })).sort((a, b) => a.k - b.k || b.i - a.i).map((x) => x.m);
        assert.equal(await stateAfter(shuffled), await stateAfter(messages));
      }),
      { numRuns: Math.max(1, Math.floor(fuzzRuns() / 25)) },
    );
  });
});
