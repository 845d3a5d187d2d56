import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mayActFor, securityAllows } from './authorizations.ts';

const OWNER = '0x1111111111111111111111111111111111111111';
const DELEGATE = '0x2222222222222222222222222222222222222222';
const STRANGER = '0x3333333333333333333333333333333333333333';

describe('who may act for an owner (table)', () => {
  const cases: [string, Record<string, unknown>[] | undefined, Parameters<typeof securityAllows>[1], boolean][] = [
    ['no aggregate', undefined, { sender: DELEGATE, type: 'FORGET' }, false],
    ['listed, no filters', [{ address: DELEGATE }], { sender: DELEGATE, type: 'FORGET' }, true],
    ['listed, other case', [{ address: DELEGATE.toUpperCase().replace('0X', '0x') }], { sender: DELEGATE, type: 'STORE' }, true],
    ['someone else listed', [{ address: DELEGATE }], { sender: STRANGER, type: 'FORGET' }, false],
    ['type allowed', [{ address: DELEGATE, types: ['FORGET'] }], { sender: DELEGATE, type: 'FORGET' }, true],
    ['type not allowed', [{ address: DELEGATE, types: ['POST'] }], { sender: DELEGATE, type: 'FORGET' }, false],
    ['owner operation needs INSTANCE', [{ address: DELEGATE, types: ['POST'] }], { sender: DELEGATE, type: 'INSTANCE' }, false],
    ['chain mismatch', [{ address: DELEGATE, chain: 'SOL' }], { sender: DELEGATE, type: 'STORE', chain: 'ETH' }, false],
    ['channel allowed', [{ address: DELEGATE, channels: ['TEST'] }], { sender: DELEGATE, type: 'STORE', channel: 'TEST' }, true],
    ['channel not allowed', [{ address: DELEGATE, channels: ['TEST'] }], { sender: DELEGATE, type: 'STORE', channel: 'OTHER' }, false],
    ['no channel but channels required', [{ address: DELEGATE, channels: ['TEST'] }], { sender: DELEGATE, type: 'STORE', channel: null }, false],
    ['garbage entries', [null as unknown as Record<string, unknown>, { address: 42 }], { sender: DELEGATE, type: 'STORE' }, false],
  ];
  for (const [name, list, acting, expected] of cases) {
    it(`${name} → ${expected ? 'allowed' : 'refused'}`, () => {
      assert.equal(securityAllows(list === undefined ? undefined : { authorizations: list }, acting), expected);
    });
  }

  it('the owner itself needs no aggregate; a failed read refuses', async () => {
    const failing = { getAggregate: () => Promise.reject(new Error('down')) };
    assert.equal(await mayActFor(failing, OWNER, { sender: OWNER.toUpperCase().replace('0X', '0x') }), true);
    assert.equal(await mayActFor(failing, OWNER, { sender: DELEGATE }), false);
    const listing = { getAggregate: () => Promise.resolve({ authorizations: [{ address: DELEGATE }] }) };
    assert.equal(await mayActFor(listing, OWNER, { sender: DELEGATE, type: 'FORGET' }), true);
  });
});
