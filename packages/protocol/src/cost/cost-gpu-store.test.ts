/** GPU tiers and STOREs against pyaleph's worked examples (test_cost_service.py, test_forgotten_price.py). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GPU, gpuInstance, storeContent } from './fixtures.test-support.ts';
import { CostError, messageCost } from './index.ts';

const executions = (c: ReturnType<typeof messageCost>) => c.detail.filter((d) => d.type === 'EXECUTION').map((d) => [d.name, d.hold]);

describe('GPU instances (pyaleph test_cost_service)', () => {
  it('RTX 4090 (standard, 6 CU) with 8 vCPU 16 GiB: resources win, 8 CU × 280 = 2240 ALEPH', () => {
    const c = messageCost('INSTANCE', gpuInstance([GPU.rtx4090], 8, 16_384));
    assert.equal(c.product, 'instance_gpu_standard');
    assert.equal(c.computeUnits, 8);
    assert.equal(c.cost, '2240.000000000000000000');
    assert.deepEqual(executions(c), [['instance_gpu_standard', '2240.000000000000000000']]);
  });

  it('2 × A100 (premium, 16 CU each) 16 vCPU 32 GiB: 32 CU × 560 = 17920 ALEPH', () => {
    const c = messageCost('INSTANCE', gpuInstance([GPU.a100sxm4, GPU.a100sxm4], 16, 32_768));
    assert.equal(c.product, 'instance_gpu_premium');
    assert.equal(c.cost, '17920.000000000000000000');
    assert.deepEqual(executions(c), [['instance_gpu_premium', '17920.000000000000000000']]);
  });

  it('RTX 4090 + L40S (standard, 6 + 12 CU) 12 vCPU 24 GiB: 18 CU × 280 = 5040 ALEPH', () => {
    const c = messageCost('INSTANCE', gpuInstance([GPU.rtx4090, GPU.l40s], 12, 24_576));
    assert.equal(c.cost, '5040.000000000000000000');
    assert.deepEqual(executions(c), [['instance_gpu_standard', '5040.000000000000000000']]);
  });

  it('A100 + RTX 4090 (premium 16 CU + standard 6 CU): 8960 + 1680 = 10640 ALEPH, one line per tier', () => {
    const c = messageCost('INSTANCE', gpuInstance([GPU.a100sxm4, GPU.rtx4090], 12, 24_576));
    assert.equal(c.product, 'instance_gpu_premium');
    assert.equal(c.cost, '10640.000000000000000000');
    assert.deepEqual(executions(c), [
      ['instance_gpu_premium', '8960.000000000000000000'],
      ['instance_gpu_standard', '1680.000000000000000000'],
    ]);
  });

  it('GPU storage is priced with the premium product (no holding price): a 20 GiB rootfs holds 0, streams 0.000005558044444444/s', () => {
    const c = messageCost('INSTANCE', gpuInstance([GPU.rtx4090], 8, 16_384));
    const rootfs = c.detail.find((d) => d.type === 'EXECUTION_INSTANCE_VOLUME_ROOTFS');
    assert.equal(rootfs?.hold, '0.000000000000000000');
    assert.equal(rootfs?.stream, '0.000005558044444444');
  });

  it('GPU stream: RTX 4090 8 CU × 0.28/h = 0.000622222222222222 ALEPH/s', () => {
    const c = messageCost('INSTANCE', { ...gpuInstance([GPU.rtx4090], 8, 16_384), payment: { type: 'superfluid', receiver: '0x1' } });
    assert.equal(c.cost, '0.000622222222222222');
  });

  it('unknown device id ffff:ffff is a typed UNKNOWN_GPU error', () => {
    assert.throws(() => messageCost('INSTANCE', gpuInstance([GPU.unknown], 8, 16_384)), (e: unknown) => e instanceof CostError && e.code === 'UNKNOWN_GPU' && e.alephCode === 0);
  });

  it('10de:2685 is listed first as RTX 5090, which no tier prices: GPU_NOT_PRICED (pyaleph\'s first-match lookup)', () => {
    assert.throws(() => messageCost('INSTANCE', gpuInstance([GPU.rtx4090d], 8, 16_384)), (e: unknown) => e instanceof CostError && e.code === 'GPU_NOT_PRICED');
  });

  it('an empty GPU list is an ordinary instance: 1000 ALEPH', () => {
    const c = messageCost('INSTANCE', { ...gpuInstance([], 1, 2048) });
    assert.equal(c.product, 'instance');
    assert.equal(c.cost, '1000.000000000000000000');
  });
});

describe('STOREs (pyaleph test_cost_service, test_forgotten_price)', () => {
  it('credit STORE of 1 MiB is billed as 25 MiB: 25 × 0.17967489030626108/h = 0.001247742293793479 credits/s, size 1 reported', () => {
    const small = messageCost('STORE', storeContent(1, 'credit'));
    const floor = messageCost('STORE', storeContent(25, 'credit'));
    assert.equal(small.cost, '0.001247742293793479');
    assert.equal(small.cost, floor.cost);
    assert.equal(small.detail[0]?.sizeMib, 1);
    assert.equal(small.detail[0]?.type, 'STORAGE');
  });

  it('credit STORE of 50 MiB (above the floor) = 0.002495484587586959 credits/s', () => {
    assert.equal(messageCost('STORE', storeContent(50, 'credit')).cost, '0.002495484587586959');
  });

  it('hold STORE of 1 MiB: no floor, 0.333333333 ALEPH; 25 MiB: 8.333333325 ALEPH', () => {
    assert.equal(messageCost('STORE', storeContent(1, 'hold')).cost, '0.333333333000000000');
    assert.equal(messageCost('STORE', storeContent(25, 'hold')).cost, '8.333333325000000000');
  });

  it('STORE without payment is hold: 1 MiB = 0.333333333 ALEPH', () => {
    const c = messageCost('STORE', storeContent(1, undefined));
    assert.equal(c.paymentType, 'hold');
    assert.equal(c.cost, '0.333333333000000000');
  });

  it('a processed STORE is sized from its file: 1536 bytes = 0.00146484375 MiB × 0.333333333 = 0.000488281249511718 ALEPH', () => {
    const { estimated_size_mib: _e, ...content } = storeContent(0, 'hold');
    assert.equal(messageCost('STORE', content, { storeBytes: 1536 }).cost, '0.000488281249511718');
    assert.equal(messageCost('STORE', { ...content, size: 1536 }).cost, '0.000488281249511718');
  });

  it('a STORE of unknown size has no line and costs 0 (pyaleph: no file, no cost)', () => {
    const { estimated_size_mib: _e, ...content } = storeContent(0, 'credit');
    const c = messageCost('STORE', content);
    assert.deepEqual(c.detail, []);
    assert.equal(c.cost, '0.000000000000000000');
  });

  it('a forgotten 1 MiB STORE priced from its size (size/MiB float estimate): credit = the 25 MiB price', () => {
    const c = messageCost('STORE', storeContent((1024 * 1024) / (1024 * 1024), 'credit'));
    assert.equal(c.cost, '0.001247742293793479');
  });
});
