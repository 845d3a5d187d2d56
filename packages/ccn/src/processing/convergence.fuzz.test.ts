/**
 * Same state everywhere, as a property: the same set of valid signed messages
 * of every kind, fed to several fresh CCN stores in different random orders (files arriving late,
 * dependencies arriving after their dependants have run out of retries), ends in the same
 * derived state on every node once processing is quiescent: the same statuses and errors,
 * forgotten_by, aggregates, posts and their latest amend, registry, balances, file pins
 * (testing/state-digest.ts).
 *
 * Each case runs several complete nodes, so the suite runs fuzzRuns() / 25 cases (20), and
 * `npm run fuzz` 400; PostgreSQL runs a few cases beside SQLite.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { fuzzRuns } from '@aleph-nodes/protocol/testing';
import fc from 'fast-check';
import type { EngineName } from '../testing/engines.ts';
import { feed, openOrderNode, quiesce, type Arrival, type OrderNode } from '../testing/order-harness.ts';
import { buildScenario, newCast, registrySettings, specArb, T0, type Scenario } from '../testing/scenario.ts';
import { stateDifferences, stateDigest } from '../testing/state-digest.ts';

const cast = newCast();
const SLOTS = 64;

const orderArb = fc.record({
  keys: fc.array(fc.integer(), { minLength: SLOTS, maxLength: SLOTS }),
  actions: fc.array(fc.nat({ max: 9 }), { minLength: SLOTS, maxLength: SLOTS }),
});
type Order = typeof orderArb extends fc.Arbitrary<infer T> ? T : never;

/** The natural order: files first, every message in the order it was built, settled one by one. */
function naturalArrivals(s: Scenario): Arrival[] {
  return [
    ...s.files.map((f): Arrival => ({ kind: 'file', hash: f.hash, bytes: f.bytes })),
    ...s.messages.flatMap((message): Arrival[] => [{ kind: 'message', message }, { kind: 'settle' }]),
  ];
}

/**
 * A shuffled order: messages and late files permuted by `keys`; after each arrival the worker may
 * run (settle), time may jump past every retry (pause), or the next arrival comes at once.
 */
function shuffledArrivals(s: Scenario, order: Order): Arrival[] {
  const items: Arrival[] = [
    ...s.messages.map((message): Arrival => ({ kind: 'message', message })),
    ...s.files.filter((f) => f.late).map((f): Arrival => ({ kind: 'file', hash: f.hash, bytes: f.bytes })),
  ];
  const early = s.files.filter((f) => !f.late).map((f): Arrival => ({ kind: 'file', hash: f.hash, bytes: f.bytes }));
  const sorted = items.map((item, i) => ({ item, key: order.keys[i] ?? i, i })).sort((a, b) => a.key - b.key || a.i - b.i);
  const out: Arrival[] = [...early];
  sorted.forEach(({ item }, i) => {
    out.push(item);
    const action = order.actions[i] ?? 0;
    if (action >= 8) out.push({ kind: 'pause' });
    else if (action >= 5) out.push({ kind: 'settle' });
  });
  return out;
}

async function runNodes(engine: EngineName, scenario: Scenario, arrivals: Arrival[][]): Promise<void> {
  const nodes: OrderNode[] = [];
  try {
    for (const _ of arrivals) nodes.push(await openOrderNode(engine, T0 + 100, { balanceIndexers: [cast.indexer.address] }));
    const digests = [];
    for (const [i, node] of nodes.entries()) {
      await feed(node, arrivals[i] as Arrival[]);
      await quiesce(node);
      digests.push(await stateDigest(node.stores, { registry: registrySettings(cast) }));
    }
    const first = digests[0] as Awaited<ReturnType<typeof stateDigest>>;
    for (const [i, d] of digests.entries()) {
      if (d.digest === first.digest) continue;
      const kinds = scenario.messages.map((m) => `${m.item_hash.slice(0, 8)} ${m.type} ${m.item_content?.slice(0, 160)}`).join('\n');
      assert.fail(`node ${i} differs from node 0:\n${stateDifferences(first.state, d.state).join('\n')}\nmessages:\n${kinds}`);
    }
  } finally {
    for (const node of nodes) await node.dispose();
  }
}

describe('order independence (property)', () => {
  after(() => undefined);

  it('ends in the same state on 3 SQLite nodes fed in different orders', async () => {
    await fc.assert(
      fc.asyncProperty(specArb, fc.array(orderArb, { minLength: 2, maxLength: 2 }), async (spec, orders) => {
        const scenario = buildScenario(cast, spec);
        await runNodes('sqlite', scenario, [naturalArrivals(scenario), ...orders.map((o) => shuffledArrivals(scenario, o))]);
      }),
      { numRuns: Math.max(1, Math.floor(fuzzRuns() / 25)) },
    );
  });

  it('ends in the same state on SQLite and PostgreSQL nodes fed in different orders', async () => {
    await fc.assert(
      fc.asyncProperty(specArb, orderArb, async (spec, order) => {
        const scenario = buildScenario(cast, spec);
        await runNodes('postgres', scenario, [naturalArrivals(scenario), shuffledArrivals(scenario, order)]);
      }),
      { numRuns: Math.max(1, Math.floor(fuzzRuns() / 100)) },
    );
  });
});
