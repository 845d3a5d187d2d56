/** The CCN side of costs: the pricing read from the node's own aggregates, file sizes from its STOREs. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildInlineMessage, DEFAULT_PRICE_AGGREGATE, EthAccount, PRICING_AGGREGATE_OWNER, sha256Hex } from '@aleph-nodes/protocol';
import { ccnConfig } from './config.ts';
import { costOfContent, loadPricing, storeFileBytes } from './pricing.ts';
import { openTestStores, type TestStores } from './testing/engines.ts';

describe('CCN pricing', () => {
  let test: TestStores;
  const alice = EthAccount.generate();
  const owner = EthAccount.generate();
  const config = ccnConfig({ dataDir: '/unused', pricingOwner: owner.address });

  /** A STORE processed with a file of `size` bytes, amending `ref` when given. */
  const store = async (size: number, time: number, ref?: string, status: 'processed' | 'pending' = 'processed'): Promise<string> => {
    const m = buildInlineMessage(alice, 'STORE', { item_type: 'storage', item_hash: sha256Hex(`file ${time}`), ...(ref ? { ref } : {}) }, { time });
    await test.stores.messages.insertPending(m, m, time);
    if (status === 'processed') {
      await test.stores.messages.markProcessed(m.item_hash, {
        content: m.item_content as string, content_time: time, size, owner_lc: alice.address.toLowerCase(), content_type: null,
        content_ref: ref ?? null, content_key: null, content_item_hash: sha256Hex(`file ${time}`), payment_type: null, tags: [], refs: ref ? [ref] : [],
      });
    }
    return m.item_hash;
  };

  before(async () => {
    test = await openTestStores('sqlite');
  });
  after(async () => {
    await test?.dispose();
  });

  it('sizes a reference by its STORE, or by its newest amend with use_latest; unknown and pending ones are unknown', async () => {
    const original = await store(100, 1000);
    await store(300, 2000, original);
    await store(200, 1500, original);
    const pending = await store(50, 3000, undefined, 'pending');
    assert.equal(await storeFileBytes(test.stores, original, false), 100);
    assert.equal(await storeFileBytes(test.stores, original, true), 300);
    assert.equal(await storeFileBytes(test.stores, sha256Hex('nothing'), true), undefined);
    assert.equal(await storeFileBytes(test.stores, pending, false), undefined);
  });

  it('prices a program whose code is a held STORE of 3 MiB (0.15 ALEPH, inside the included disk): 400 ALEPH', async () => {
    const code = await store(3 * 1024 * 1024, 4000);
    const program = {
      address: alice.address, time: 1, type: 'vm-function', allow_amend: false, on: { http: true },
      environment: { internet: true }, resources: { vcpus: 1, memory: 128 },
      code: { encoding: 'zip', entrypoint: 'main:app', ref: code, use_latest: false },
      runtime: { ref: sha256Hex('no runtime'), use_latest: true, comment: '' },
    };
    const cost = await costOfContent(test.stores, await loadPricing(test.stores, config), 'PROGRAM', program, undefined);
    assert.equal(cost.cost, '400.000000000000000000');
    assert.equal(cost.detail.find((d) => d.type === 'EXECUTION_PROGRAM_VOLUME_CODE')?.hold, '0.150000000000000000');
    assert.equal(cost.detail.some((d) => d.type === 'EXECUTION_PROGRAM_VOLUME_RUNTIME'), false);
  });

  it('reads the pricing aggregate of the configured owner only; an invalid entry falls back with a warning', async () => {
    assert.deepEqual((await loadPricing(test.stores, config)).warnings, []);
    const cheap = { ...DEFAULT_PRICE_AGGREGATE.program, price: { ...DEFAULT_PRICE_AGGREGATE.program.price, compute_unit: { holding: '10', payg: '0', credit: '0' } } };
    await test.stores.aggregates.insert(sha256Hex('other'), PRICING_AGGREGATE_OWNER, 'pricing', 10, { program: cheap });
    assert.equal((await loadPricing(test.stores, config)).products.program.computeUnitPrice?.holding.toString(), '200');
    await test.stores.aggregates.insert(sha256Hex('mine'), owner.address, 'pricing', 10, { program: cheap, instance: { price: 'free' } });
    const pricing = await loadPricing(test.stores, config);
    assert.equal(pricing.products.program.computeUnitPrice?.holding.toString(), '10');
    assert.equal(pricing.products.instance.computeUnitPrice?.holding.toString(), '1000');
    assert.ok(pricing.warnings.some((w) => w.startsWith('pricing.instance is invalid')));
    assert.equal(pricing.limits.freeHoldStoreMaxMib, 25);
    assert.equal(pricing.cutoffs.holdAndStreamRefusedFromTime, 1_773_187_200);
  });
});
