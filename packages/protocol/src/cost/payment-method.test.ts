/**
 * pyaleph's cutoffs (toolkit/costs.py, handlers/content/vm.py and store.py check_balance): free
 * STOREs and on-demand programs before 1743775079 (height 22196000), hold/stream refused for
 * instances and persistent programs from 1773187200, credits only from 1798761600.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { completeProgram, holdInstance, storeContent } from './fixtures.test-support.ts';
import { ALEPH_ERROR } from '../errors.ts';
import { DEFAULT_PRICING, paymentMethodCheck, pricingFrom, type PaymentMethodDecision } from './index.ts';

const pricing = DEFAULT_PRICING;
const BEFORE_FREE = 1_743_775_078;
const AFTER_FREE = 1_743_775_079;
const HOLD_REFUSED = 1_773_187_200;
const CREDIT_ONLY = 1_798_761_600;
const persistent = { ...completeProgram, on: { http: true, persistent: true } };
const pay = <T extends object>(c: T, type: string): T => ({ ...c, payment: { type } });

const check = (d: PaymentMethodDecision): string => (d.allowed ? `${d.check}${'reason' in d ? `:${d.reason}` : ''}` : `refused:${d.alephCode}`);

describe('payment method at processing', () => {
  it('on-demand program dated 1743775078 (before the cutoff) is free, even unpaid; 1743775079 is checked (hold)', () => {
    assert.equal(check(paymentMethodCheck('PROGRAM', completeProgram, { pricing, time: BEFORE_FREE })), 'none:free-before-cutoff');
    assert.equal(check(paymentMethodCheck('PROGRAM', completeProgram, { pricing, time: AFTER_FREE })), 'hold');
  });

  it('a confirmation height decides over the time: height 22195999 free, 22196000 checked', () => {
    assert.equal(check(paymentMethodCheck('PROGRAM', completeProgram, { pricing, time: 1_900_000_000, confirmationHeight: 22_195_999 })), 'none:free-before-cutoff');
    assert.equal(check(paymentMethodCheck('PROGRAM', completeProgram, { pricing, time: 0, confirmationHeight: 22_196_000 })), 'hold');
  });

  it('instances and persistent programs are never free: hold instance dated 1743775078 is checked (hold)', () => {
    assert.equal(check(paymentMethodCheck('INSTANCE', holdInstance, { pricing, time: BEFORE_FREE })), 'hold');
    assert.equal(check(paymentMethodCheck('PROGRAM', persistent, { pricing, time: BEFORE_FREE })), 'hold');
  });

  it('hold or stream instance dated 1773187200 is INVALID_PAYMENT_METHOD (202); 1773187199 is allowed', () => {
    for (const type of ['hold', 'superfluid']) {
      const d = paymentMethodCheck('INSTANCE', pay(holdInstance, type), { pricing, time: HOLD_REFUSED });
      assert.equal(check(d), `refused:${ALEPH_ERROR.INVALID_PAYMENT_METHOD}`);
      assert.ok(!d.allowed && d.code === 'INVALID_PAYMENT_METHOD' && d.alephCode === 202);
    }
    assert.equal(check(paymentMethodCheck('INSTANCE', holdInstance, { pricing, time: HOLD_REFUSED - 1 })), 'hold');
    assert.equal(check(paymentMethodCheck('INSTANCE', pay(holdInstance, 'superfluid'), { pricing, time: HOLD_REFUSED - 1 })), 'none:stream-checked-by-crn');
  });

  it('persistent program by hold dated 1773187200: 202; on-demand program by hold then: still allowed (hold)', () => {
    assert.equal(check(paymentMethodCheck('PROGRAM', persistent, { pricing, time: HOLD_REFUSED })), 'refused:202');
    assert.equal(check(paymentMethodCheck('PROGRAM', completeProgram, { pricing, time: HOLD_REFUSED })), 'hold');
  });

  it('credit instance dated 1773187200 is allowed (credit check)', () => {
    assert.equal(check(paymentMethodCheck('INSTANCE', pay(holdInstance, 'credit'), { pricing, time: HOLD_REFUSED })), 'credit');
  });

  it('from 1798761600 everything paid needs credits: hold on-demand program and hold STORE refused (202), credit allowed', () => {
    assert.equal(check(paymentMethodCheck('PROGRAM', completeProgram, { pricing, time: CREDIT_ONLY })), 'refused:202');
    assert.equal(check(paymentMethodCheck('STORE', storeContent(1, 'hold'), { pricing, time: CREDIT_ONLY, storeSizeMib: 1 })), 'refused:202');
    assert.equal(check(paymentMethodCheck('STORE', storeContent(1, 'credit'), { pricing, time: CREDIT_ONLY, storeSizeMib: 1 })), 'credit');
    assert.equal(check(paymentMethodCheck('PROGRAM', pay(completeProgram, 'credit'), { pricing, time: CREDIT_ONLY })), 'credit');
  });

  it('hold STORE of 25 MiB is free, 25.0001 MiB is checked (hold); a credit STORE of 1 MiB is checked (credit)', () => {
    assert.equal(check(paymentMethodCheck('STORE', storeContent(25, 'hold'), { pricing, time: AFTER_FREE, storeSizeMib: 25 })), 'none:small-hold-store');
    assert.equal(check(paymentMethodCheck('STORE', storeContent(25.0001, 'hold'), { pricing, time: AFTER_FREE, storeSizeMib: 25.0001 })), 'hold');
    assert.equal(check(paymentMethodCheck('STORE', storeContent(1, 'credit'), { pricing, time: AFTER_FREE, storeSizeMib: 1 })), 'credit');
  });

  it('STORE dated 1743775078 is free whatever its size', () => {
    assert.equal(check(paymentMethodCheck('STORE', storeContent(500, 'hold'), { pricing, time: BEFORE_FREE, storeSizeMib: 500 })), 'none:free-before-cutoff');
  });

  it('a private network moves the cutoffs: hold refused from 1000, credit only from 2000', () => {
    const custom = pricingFrom({ cutoffs: { holdAndStreamRefusedFromTime: 1000, creditOnlyFromTime: 2000, freeStoreAndProgramBeforeTime: 0 } });
    assert.equal(check(paymentMethodCheck('INSTANCE', holdInstance, { pricing: custom, time: 999 })), 'hold');
    assert.equal(check(paymentMethodCheck('INSTANCE', holdInstance, { pricing: custom, time: 1000 })), 'refused:202');
    assert.equal(check(paymentMethodCheck('PROGRAM', completeProgram, { pricing: custom, time: 1999 })), 'hold');
    assert.equal(check(paymentMethodCheck('PROGRAM', completeProgram, { pricing: custom, time: 2000 })), 'refused:202');
  });

  it('the free hold STORE size is part of the pricing input: 10 MiB limit makes a 12 MiB hold STORE checked', () => {
    const custom = pricingFrom({ freeHoldStoreMaxMib: 10 });
    assert.equal(check(paymentMethodCheck('STORE', storeContent(12, 'hold'), { pricing: custom, time: AFTER_FREE, storeSizeMib: 12 })), 'hold');
  });
});
