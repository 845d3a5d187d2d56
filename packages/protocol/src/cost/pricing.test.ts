/** The pricing model: published aggregates override the defaults as pyaleph reads them; rounding as Python's Decimal. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GPU, gpuInstance, holdInstance, storeContent } from './fixtures.test-support.ts';
import {
  costString,
  CostError,
  Dec,
  DEFAULT_PRICE_AGGREGATE,
  DEFAULT_PRICING,
  exactDecimalOfNumber,
  formatCost,
  messageCost,
  pricingFrom,
  sumCosts,
} from './index.ts';

const instancePrice = (overrides: Record<string, unknown>) => ({ ...DEFAULT_PRICE_AGGREGATE.instance, ...overrides });

describe('pricing aggregate', () => {
  it('absent aggregates give pyaleph\'s defaults, without warnings', () => {
    assert.deepEqual(pricingFrom().warnings, []);
    assert.equal(DEFAULT_PRICING.products.instance.computeUnitPrice?.holding.toString(), '1000');
    assert.equal(DEFAULT_PRICING.products.instance.computeUnit?.diskMib, 20_480);
    assert.equal(DEFAULT_PRICING.settings.compatibleGpus.length, 19);
  });

  it('a published instance price of 500 ALEPH per CU: 1 CU instance holds 500', () => {
    const pricing = pricingFrom({ pricing: { ...DEFAULT_PRICE_AGGREGATE, instance: instancePrice({ price: { ...DEFAULT_PRICE_AGGREGATE.instance.price, compute_unit: { holding: '500', payg: '0.02', credit: '7200' } } }) } });
    assert.deepEqual(pricing.warnings, []);
    assert.equal(messageCost('INSTANCE', holdInstance, { pricing }).cost, '500.000000000000000000');
    // 7200 credits/h = 2 credits/s exactly.
    assert.equal(messageCost('INSTANCE', { ...holdInstance, payment: { type: 'credit' } }, { pricing }).cost, '2.000000000000000000');
  });

  it('a published compute unit of 4096 MiB: a 4 GiB instance is 1 CU, 1000 ALEPH; included disk per CU follows it', () => {
    const pricing = pricingFrom({ pricing: { instance: instancePrice({ compute_unit: { vcpus: 1, disk_mib: 40_960, memory_mib: 4096 } }) } });
    const c = messageCost('INSTANCE', { ...holdInstance, resources: { vcpus: 1, memory: 4096 }, rootfs: { ...holdInstance.rootfs, size_mib: 40_960 } }, { pricing });
    assert.equal(c.computeUnits, 1);
    assert.equal(c.cost, '1000.000000000000000000');
  });

  it('products absent from a published aggregate keep their default, with a warning (pyaleph would fail)', () => {
    const pricing = pricingFrom({ pricing: { instance: DEFAULT_PRICE_AGGREGATE.instance } });
    assert.ok(pricing.warnings.some((w) => w.includes('pricing.program is absent')));
    assert.equal(messageCost('STORE', storeContent(1, 'hold'), { pricing }).cost, '0.333333333000000000');
  });

  it('an invalid product (negative or non-numeric price) keeps its default, with a warning', () => {
    for (const holding of ['-5', 'abc', -5, '1e99']) {
      const pricing = pricingFrom({ pricing: { instance: instancePrice({ price: { storage: { holding: '0.05' }, compute_unit: { holding } } }) } });
      assert.ok(pricing.warnings.some((w) => w.startsWith('pricing.instance is invalid')), String(holding));
      assert.equal(messageCost('INSTANCE', holdInstance, { pricing }).cost, '1000.000000000000000000');
    }
  });

  it('a JSON-number price is its exact binary value, as Python\'s Decimal(float): 0.1 per CU holds 0.100000000000000005', () => {
    const pricing = pricingFrom({ pricing: { instance: instancePrice({ price: { storage: { holding: 0 }, compute_unit: { holding: 0.1 } } }) } });
    assert.equal(messageCost('INSTANCE', holdInstance, { pricing }).cost, '0.100000000000000005');
  });

  it('a product with no tiers has no compute unit for pyaleph: 2048 MiB per CU and no included disk (rootfs 20480 × 0.05 = 1024 extra)', () => {
    const { tiers: _t, ...noTiers } = DEFAULT_PRICE_AGGREGATE.instance;
    const pricing = pricingFrom({ pricing: { instance: noTiers } });
    assert.equal(messageCost('INSTANCE', holdInstance, { pricing }).cost, '2024.000000000000000000');
  });

  it('a product without a compute-unit price cannot price an executable: PRICING_INCOMPLETE', () => {
    const pricing = pricingFrom({ pricing: { instance: { price: { storage: { holding: '0.05' } } } } });
    assert.deepEqual(pricing.warnings.filter((w) => w.startsWith('pricing.instance ')), []);
    assert.throws(() => messageCost('INSTANCE', holdInstance, { pricing }), (e: unknown) => e instanceof CostError && e.code === 'PRICING_INCOMPLETE');
  });

  it('a pricing aggregate that is not an object is ignored with a warning', () => {
    const pricing = pricingFrom({ pricing: ['nope'] });
    assert.ok(pricing.warnings.length > 0);
    assert.equal(messageCost('INSTANCE', holdInstance, { pricing }).cost, '1000.000000000000000000');
  });
});

describe('settings aggregate', () => {
  it('a published GPU list prices a device the defaults do not know', () => {
    const settings = { compatible_gpus: [{ name: 'Test', model: 'RTX 4090', vendor: 'NVIDIA', device_id: 'abcd:0001' }] };
    const pricing = pricingFrom({ settings });
    assert.equal(messageCost('INSTANCE', gpuInstance(['abcd:0001'], 8, 16_384), { pricing }).cost, '2240.000000000000000000');
    // The published list replaces the defaults, as pyaleph: the A100's id is now unknown.
    assert.throws(() => messageCost('INSTANCE', gpuInstance([GPU.a100sxm4], 8, 16_384), { pricing }), CostError);
  });

  it('a published settings aggregate without compatible_gpus has none (pyaleph\'s .get default)', () => {
    const pricing = pricingFrom({ settings: { community_wallet_address: '0x1' } });
    assert.deepEqual(pricing.settings.compatibleGpus, []);
    assert.equal(pricing.settings.communityWalletAddress, '0x1');
  });

  it('an invalid GPU list keeps the defaults, with a warning', () => {
    const pricing = pricingFrom({ settings: { compatible_gpus: 'all' } });
    assert.equal(pricing.settings.compatibleGpus.length, 19);
    assert.ok(pricing.warnings.some((w) => w.includes('compatible_gpus')));
  });
});

describe('decimal rounding as Python\'s Decimal', () => {
  it('0.055 / 3600 in 28 digits = 0.00001527777777777777777777777778, formatted (floor, 18 dp) 0.000015277777777777', () => {
    const v = new Dec('0.055').div(3600);
    assert.equal(v.toString(), '0.00001527777777777777777777777778');
    assert.equal(costString(v), '0.000015277777777777');
  });

  it('a negative amount floors away from zero: -0.0000055580444444444 → -0.000005558044444445', () => {
    assert.equal(costString(new Dec('-0.0000055580444444444')), '-0.000005558044444445');
  });

  it('negative zero prints as 0.000000000000000000', () => {
    assert.equal(costString(new Dec(0).neg()), '0.000000000000000000');
    assert.equal(formatCost(new Dec('-0')).isNegative(), false);
  });

  it('Decimal(float): 0.05 = 0.05000000000000000277555756156289135105907917022705078125, 2^-1074 and integers exact', () => {
    assert.equal(exactDecimalOfNumber(0.05), '0.05000000000000000277555756156289135105907917022705078125');
    assert.equal(exactDecimalOfNumber(123.456), '123.4560000000000030695446184836328029632568359375');
    assert.equal(exactDecimalOfNumber(2 ** 60), '1152921504606846976');
    assert.ok(exactDecimalOfNumber(5e-324).endsWith('4940656458412465441765687928682213723650598026143247644255856825006755072702087518652998363616359923797965646954457177309266567103559397963987747960107818781263007131903114045278458171678489821036887186360569987307230500063874091535649843873124733972731696151400317153853980741262385655911710266585566867681870395603106249319452715914924553293054565444011274801297099995419319894090804165633245247571478690147267801593552386115501348035264934720193790268107107491703332226844753335720832431936092382893458368060106011506169809753078342277318329247904982524730776375927247874656084778203734469699533647017972677717585125660551199131504891101451037862738167250955837389733598993664809941164205702637090279242767544565229087538682506419718265533447265625'));
    assert.equal(exactDecimalOfNumber(-0.5), '-0.5');
  });

  it('sums round in 28 digits then floor: 1000 + 0.000015277777777777 = 1000.000015277777777777', () => {
    assert.equal(sumCosts(['1000', '0.000015277777777777']).toFixed(18), '1000.000015277777777777');
  });
});
