/**
 * The corechannel node registry served by a real CCN process (aleph-protocol.md §8.3): node operations
 * posted as messages, balances from a whitelisted indexer, the aggregate JSON shape, and how a
 * CRN finds its own hash.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AlephHttpClient } from '@aleph-sdk/client';
import { buildInlineMessage, EthAccount, type AlephMessage } from '@aleph-nodes/protocol';
import { startCcnProcess, type CcnProcess } from './helpers/ccn-process.ts';

interface Registry {
  nodes: { hash: string; owner: string; status: string; resource_nodes: string[]; stakers: Record<string, number>; total_staked: number }[];
  resource_nodes: { hash: string; status: string; parent: string | null; address: string }[];
}

describe('corechannel registry', () => {
  let ccn: CcnProcess;
  const indexer = EthAccount.generate();
  const ccnOwner = EthAccount.generate();
  const crnOwner = EthAccount.generate();
  const staker = EthAccount.generate();
  let time = 1_700_000_000;

  const submit = async (message: AlephMessage): Promise<void> => {
    const res = await fetch(`${ccn.url}/api/v0/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sync: true, message }),
    });
    assert.equal(res.status, 200, await res.text());
  };
  const operation = (account: EthAccount, action: string, extra: { ref?: string; details?: Record<string, unknown> } = {}): AlephMessage =>
    buildInlineMessage(
      account,
      'POST',
      { type: 'corechan-operation', ...(extra.ref ? { ref: extra.ref } : {}), content: { action, tags: [action, 'mainnet'], ...(extra.details ? { details: extra.details } : {}) } },
      { channel: 'FOUNDATION', time: (time += 1) },
    );
  const registry = async (): Promise<Registry> => {
    const res = await fetch(`${ccn.url}/api/v0/aggregates/${ccn.address}.json?keys=corechannel`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { address: string; data: { corechannel: Registry } };
    return body.data.corechannel;
  };

  before(async () => {
    ccn = await startCcnProcess({
      balanceIndexers: [indexer.address],
      ccnOwnerMinBalance: 1000,
      stakerMinBalance: 100,
      ccnActivationStake: 5000,
      maxLinkedCrns: 1,
    });
  });
  after(async () => {
    await ccn?.stop();
  });

  it('builds the registry from node operations and indexer balances', async () => {
    await submit(
      buildInlineMessage(
        indexer,
        'POST',
        { type: 'balances-update', content: { chain: 'ETH', main_height: 1, balances: { [ccnOwner.address]: 2000, [staker.address]: 6000 } } },
        { time: (time += 1) },
      ),
    );
    const createCcn = operation(ccnOwner, 'create-node', { details: { name: 'core', multiaddress: '/ip4/10.0.0.1/tcp/4025/p2p/QmTest' } });
    await submit(createCcn);
    const createCrn = operation(crnOwner, 'create-resource-node', { details: { name: 'crn', address: 'https://crn.example.org', type: 'compute' } });
    const createCrn2 = operation(crnOwner, 'create-resource-node', { details: { name: 'crn2', address: 'https://crn2.example.org', type: 'compute' } });
    await submit(createCrn);
    await submit(createCrn2);
    await submit(operation(ccnOwner, 'link', { ref: createCrn.item_hash }));
    // Beyond max_linked_crns (1 here) the link is ignored, with its reason visible.
    const tooMany = operation(ccnOwner, 'link', { ref: createCrn2.item_hash });
    await submit(tooMany);
    const outcome = (await (await fetch(`${ccn.url}/api/v0/nodes/operations/${tooMany.item_hash}`)).json()) as { status: string; reason: string };
    assert.equal(outcome.status, 'ignored');
    assert.match(outcome.reason, /max_linked_crns/);
    const strangerLink = operation(staker, 'link', { ref: createCrn2.item_hash });
    await submit(strangerLink);
    const nodes = (await (await fetch(`${ccn.url}/api/v0/nodes`)).json()) as Registry & { ignored_operations: { item_hash: string; reason: string }[] };
    assert.deepEqual(nodes.ignored_operations.map((o) => o.item_hash).sort(), [tooMany.item_hash, strangerLink.item_hash].sort());
    assert.equal(nodes.nodes.length, 1);
    assert.equal(nodes.resource_nodes.length, 2);

    let value = await registry();
    assert.equal(value.nodes.length, 1);
    assert.equal(value.nodes[0]?.hash, createCcn.item_hash);
    assert.equal(value.nodes[0]?.status, 'waiting');
    assert.deepEqual(value.nodes[0]?.resource_nodes, [createCrn.item_hash]);
    assert.deepEqual(
      value.resource_nodes.map((n) => [n.hash, n.status, n.parent]).sort(),
      [
        [createCrn.item_hash, 'linked', createCcn.item_hash],
        [createCrn2.item_hash, 'waiting', null],
      ].sort(),
    );

    await submit(operation(staker, 'stake', { ref: createCcn.item_hash }));
    value = await registry();
    assert.deepEqual(value.nodes[0]?.stakers, { [staker.address]: 6000 });
    assert.equal(value.nodes[0]?.status, 'active');

    // The SDK reads the registry like any aggregate.
    const sdk = new AlephHttpClient(ccn.url);
    const fetched = await sdk.fetchAggregate<Registry>(ccn.address, 'corechannel');
    assert.deepEqual(fetched, value);
  });

  it('lets a CRN find its own hash among its owner posts', async () => {
    const res = await fetch(`${ccn.url}/api/v0/posts.json?addresses=${crnOwner.address}&types=corechan-operation`);
    const body = (await res.json()) as { posts: { item_hash: string; content: { action: string; details?: { address?: string } } }[] };
    const mine = body.posts.find((p) => p.content.action === 'create-resource-node' && p.content.details?.address === 'https://crn.example.org');
    assert.ok(mine);
    const value = await registry();
    assert.ok(value.resource_nodes.some((n) => n.hash === mine.item_hash && n.address === 'https://crn.example.org'));
  });

  it('drops operations when forgotten', async () => {
    const before = await registry();
    const link = before.resource_nodes.find((n) => n.status === 'linked');
    assert.ok(link);
    const ops = (await (await fetch(`${ccn.url}/api/v0/messages.json?addresses=${ccnOwner.address}&contentTypes=corechan-operation&pagination=0`)).json()) as {
      messages: { item_hash: string; content: { ref?: string; content: { action: string } } }[];
    };
    const linkOp = ops.messages.find((m) => m.content.content.action === 'link' && m.content.ref === link.hash);
    assert.ok(linkOp);
    await submit(buildInlineMessage(ccnOwner, 'FORGET', { hashes: [linkOp.item_hash] }, { time: (time += 1) }));
    const after = await registry();
    assert.equal(after.resource_nodes.find((n) => n.hash === link.hash)?.status, 'waiting');
  });
});
