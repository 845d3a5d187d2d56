/**
 * The payment backdating hole: the payment cutoffs compare a message's `time`, which its sender
 * chooses. Since pyaleph's hold cutoff (1773187200) an INSTANCE must pay with credits; an attacker
 * who dates a hold INSTANCE before the cutoff and sends it now would escape it (judged as if sent
 * back then). Against a real CCN process with the DEFAULT cutoffs: the backdated hold instance is
 * refused with INVALID_PAYMENT_METHOD (202); the same attacker's honest-time hold instance is
 * refused the same way; its funded balance is untouched (nothing locked).
 *
 * Before the fix (cutoffs judged on the message time alone, or no payment check at all) the
 * backdated instance was processed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { AuthenticatedAlephHttpClient } from '@aleph-sdk/client';
import { importAccountFromPrivateKey } from '@aleph-sdk/ethereum';
import { ItemType } from '@aleph-sdk/message';
import { buildInlineMessage, EthAccount } from '@aleph-nodes/protocol';
import { startCcnProcess, type CcnProcess } from '../ccn/helpers/ccn-process.ts';
import { eventually } from '../helpers/eventually.ts';

const INVALID_PAYMENT_METHOD = 202;
/** pyaleph's cutoff for hold and stream instances (the CCN's default `holdAndStreamRefusedFromTime`). */
const HOLD_CUTOFF = 1_773_187_200;

describe('payments: a backdated message does not escape the cutoffs', () => {
  const oracle = EthAccount.generate();
  let ccn: CcnProcess;

  before(async () => {
    ccn = await startCcnProcess({ paymentChecks: true, balanceIndexers: [oracle.address], creditOracles: [oracle.address] });
  });
  after(async () => {
    await ccn?.stop();
  });

  const post = async (message: ReturnType<typeof buildInlineMessage>): Promise<number> =>
    (await fetch(`${ccn.url}/api/v0/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sync: true, message }) })).status;

  const settled = (hash: string) =>
    eventually('the message to leave pending', 60_000, async () => {
      const body = (await (await fetch(`${ccn.url}/api/v0/messages/${hash}`)).json()) as { status: string; error_code?: number; details?: { errors: unknown[] } };
      return body.status === 'pending' ? undefined : body;
    });

  it('refuses a hold INSTANCE dated before the hold cutoff with 202', async () => {
    const key = `0x${randomBytes(32).toString('hex')}`;
    const account = importAccountFromPrivateKey(key);
    const attacker = EthAccount.fromPrivateKey(key);
    const client = new AuthenticatedAlephHttpClient(account, ccn.url);
    assert.equal(await post(buildInlineMessage(oracle, 'POST', { type: 'balances-update', content: { chain: 'ETH', main_height: 1, balances: { [attacker.address]: 100_000_000 } } })), 200);
    const rootfs = await client.createStore({ fileObject: new Blob([new TextEncoder().encode('rootfs stand-in')]), storageEngine: ItemType.storage, channel: 'SEC', sync: true });

    const instance = (time: number) =>
      buildInlineMessage(
        attacker,
        'INSTANCE',
        {
          allow_amend: false,
          volumes: [],
          variables: {},
          resources: { vcpus: 1, memory: 2048, seconds: 30 },
          environment: { reproducible: false, internet: true, aleph_api: true, shared_cache: false, hypervisor: 'qemu' },
          rootfs: { parent: { ref: rootfs.item_hash, use_latest: true }, persistence: 'host', size_mib: 20_480 },
          payment: { chain: 'ETH', type: 'hold' },
        },
        { time, channel: 'SEC' },
      );

    const backdated = instance(HOLD_CUTOFF - 3600);
    await post(backdated);
    const body = await settled(backdated.item_hash);
    assert.equal(body.status, 'rejected');
    assert.equal(body.error_code, INVALID_PAYMENT_METHOD);

    const honest = instance(Date.now() / 1000);
    await post(honest);
    assert.equal((await settled(honest.item_hash)).error_code, INVALID_PAYMENT_METHOD);

    const balance = (await (await fetch(`${ccn.url}/api/v0/addresses/${attacker.address}/balance`)).json()) as { balance: number; locked_amount: number };
    assert.equal(balance.balance, 100_000_000);
    assert.equal(balance.locked_amount, 0);
  });
});
