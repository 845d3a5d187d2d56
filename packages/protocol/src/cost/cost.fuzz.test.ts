/**
 * Arbitrary contents and pricing aggregates: the cost function throws nothing but a typed error,
 * and no total is ever negative, NaN or malformed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fuzzRuns } from '@aleph-nodes/protocol/testing';
import { isProtocolError } from '../errors.ts';
import { completeProgram, GPU, gpuInstance, holdInstance, storeContent } from './fixtures.test-support.ts';
import { DEFAULT_PRICE_AGGREGATE, isCostError, messageCost, paymentMethodCheck, pricingFrom, PRODUCT_TYPES, type CostMessageType, type MessageCost } from './index.ts';

const AMOUNT = /^-?\d+\.\d{18}$/;
const typed = (e: unknown): boolean => isProtocolError(e) || isCostError(e);

function assertSane(c: MessageCost): void {
  for (const key of ['hold', 'streamPerSecond', 'streamPerHour', 'creditPerSecond', 'creditPerHour', 'cost'] as const) {
    assert.match(c[key], AMOUNT, key);
    assert.ok(!c[key].startsWith('-'), `${key} is negative: ${c[key]}`);
  }
  for (const d of c.detail) for (const v of [d.hold, d.stream, d.credit]) assert.match(v, AMOUNT);
  assert.ok(Number.isFinite(Number(c.cost)));
}

const price = fc.oneof(
  fc.constantFrom('0', '0.05', '1000', '0.000000977', '1e3', '', '-1', 'x', '1e99', '0.17967489030626108'),
  fc.double({ noNaN: false }),
  fc.nat(),
  fc.constant(null),
);
const options = fc.record({ holding: price, payg: price, credit: price }, { requiredKeys: [] });
const product = fc.record(
  {
    price: fc.record({ storage: options, compute_unit: options }, { requiredKeys: [] }),
    compute_unit: fc.record({ vcpus: fc.integer({ min: -1, max: 64 }), disk_mib: fc.integer({ min: -1, max: 1e6 }), memory_mib: fc.integer({ min: -1, max: 1e5 }) }, { requiredKeys: [] }),
    tiers: fc.array(fc.record({ id: fc.string(), compute_units: fc.integer({ min: -1, max: 64 }), model: fc.constantFrom('A100', 'H100', 'RTX 4090', 'L40S', 'nope') }, { requiredKeys: [] }), { maxLength: 4 }),
  },
  { requiredKeys: [] },
);
const pricingAggregate = fc.oneof(
  fc.dictionary(fc.constantFrom(...PRODUCT_TYPES), fc.oneof(product, fc.anything()), { maxKeys: 8 }).map((d) => ({ ...DEFAULT_PRICE_AGGREGATE, ...d })),
  fc.dictionary(fc.constantFrom(...PRODUCT_TYPES), product, { maxKeys: 8 }),
  fc.anything(),
);
const settingsAggregate = fc.oneof(
  fc.constant(undefined),
  fc.record({ compatible_gpus: fc.array(fc.record({ name: fc.string(), model: fc.constantFrom('A100', 'RTX 4090', 'X'), vendor: fc.string(), device_id: fc.constantFrom(GPU.a100sxm4, GPU.rtx4090, 'ffff:ffff') }), { maxLength: 4 }) }),
  fc.anything(),
);

const size = fc.oneof({ arbitrary: fc.integer({ min: 0, max: 3_000_000 }), weight: 6 }, fc.integer({ min: -5, max: 5 }), fc.double(), fc.constant(undefined));
const volume = fc.oneof(
  { arbitrary: fc.record({ ref: fc.constantFrom('cafe'.repeat(16), 'x'), use_latest: fc.boolean(), mount: fc.string({ maxLength: 8 }), estimated_size_mib: size }, { requiredKeys: ['ref'] }), weight: 4 },
  { arbitrary: fc.record({ size_mib: size, mount: fc.string({ maxLength: 8 }), ephemeral: fc.boolean(), persistence: fc.constantFrom('host', 'store') }, { requiredKeys: ['size_mib'] }), weight: 4 },
  { arbitrary: fc.anything(), weight: 1 },
);
const resources = fc.record(
  { vcpus: fc.oneof({ arbitrary: fc.integer({ min: 1, max: 256 }), weight: 6 }, fc.integer({ min: -1, max: 300 }), fc.double()), memory: fc.oneof({ arbitrary: fc.integer({ min: 1, max: 1_048_576 }), weight: 6 }, fc.double()) },
  { requiredKeys: [] },
);
const payment = fc.oneof(fc.constant(undefined), fc.record({ type: fc.constantFrom('hold', 'superfluid', 'credit', 'bitcoin') }));
const content: fc.Arbitrary<[CostMessageType, unknown]> = fc.oneof(
  fc.tuple(
    fc.constant<CostMessageType>('INSTANCE'),
    fc.record({ resources, payment, volumes: fc.array(volume, { maxLength: 4 }), rootfs: fc.record({ parent: fc.constant(holdInstance.rootfs.parent), size_mib: size }), gpus: fc.array(fc.constantFrom(GPU.a100sxm4, GPU.rtx4090, GPU.l40s, GPU.a100sxm4, GPU.rtx4090, GPU.unknown), { maxLength: 3 }), confidential: fc.boolean() }).map(
      (r) => ({ ...gpuInstance(r.gpus, 1, 2048), resources: r.resources, payment: r.payment, volumes: r.volumes, rootfs: r.rootfs, environment: r.confidential ? { trusted_execution: { policy: 1 } } : {} }),
    ),
  ),
  fc.tuple(
    fc.constant<CostMessageType>('PROGRAM'),
    fc.record({ resources, payment, volumes: fc.array(volume, { maxLength: 4 }), persistent: fc.option(fc.boolean()), internet: fc.boolean(), est: size }).map((r) => ({
      ...completeProgram,
      resources: r.resources,
      payment: r.payment,
      volumes: r.volumes,
      on: { http: true, persistent: r.persistent },
      environment: { internet: r.internet },
      code: { ...completeProgram.code, estimated_size_mib: r.est },
    })),
  ),
  fc.tuple(fc.constant<CostMessageType>('STORE'), fc.record({ size, payment: fc.constantFrom<'hold' | 'credit' | undefined>('hold', 'credit', undefined) }).map((r) => storeContent(r.size as number, r.payment))),
  fc.tuple(fc.constantFrom<CostMessageType>('PROGRAM', 'INSTANCE', 'STORE'), fc.anything()),
);

describe('cost function (fuzz)', () => {
  it('arbitrary contents and pricing: a typed error or sane non-negative amounts', () => {
    fc.assert(
      fc.property(content, pricingAggregate, settingsAggregate, fc.option(fc.integer({ min: -1, max: 2 ** 40 })), ([type, c], agg, settings, fileBytes) => {
        const pricing = pricingFrom({ pricing: agg, settings });
        let cost: MessageCost;
        try {
          cost = messageCost(type, c, { pricing, fileSize: () => fileBytes ?? undefined, storeBytes: fileBytes ?? undefined });
        } catch (e) {
          assert.ok(typed(e), `untyped error: ${String(e)}`);
          return;
        }
        assertSane(cost);
      }),
      { numRuns: fuzzRuns() },
    );
  });

  it('the payment-method decision never throws anything but a typed error', () => {
    fc.assert(
      fc.property(content, fc.double(), fc.option(fc.nat()), fc.option(fc.double()), ([type, c], time, height, storeSizeMib) => {
        try {
          const d = paymentMethodCheck(type, c, { pricing: pricingFrom(), time, confirmationHeight: height ?? undefined, storeSizeMib: storeSizeMib ?? undefined });
          assert.equal(typeof d.allowed, 'boolean');
        } catch (e) {
          assert.ok(typed(e), `untyped error: ${String(e)}`);
        }
      }),
      { numRuns: fuzzRuns() },
    );
  });

  it('pricingFrom never throws on anything', () => {
    fc.assert(
      fc.property(fc.anything(), fc.anything(), fc.anything(), (p, s, cutoffs) => {
        const pricing = pricingFrom({ pricing: p, settings: s, cutoffs: cutoffs as never });
        assert.equal(pricing.products.instance.type, 'instance');
      }),
      { numRuns: fuzzRuns() },
    );
  });
});
