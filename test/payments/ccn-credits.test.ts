/**
 * Credits on the CCN, end to end: a real CCN process, the official SDK (whose instances
 * pay with credits by default), an oracle key publishing pyaleph's `aleph_credit_distribution` and
 * `aleph_credit_expense` posts on ALEPH_CREDIT. Without a day of credits the instance is refused
 * (CREDIT_INSUFFICIENT, 6); with them it is processed and consumes credits per payment period
 * (`/api/v0/messages/{h}/consumed_credits`, `/addresses/{a}/credit_history`, `credit_balance`);
 * when the credits run out it goes `removing` (`credit_insufficient`), then `removed` after the
 * grace. A credit post from another key changes nothing.
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

const CREDIT_INSUFFICIENT = 6;

describe('CCN credits (real process, official SDK)', () => {
  const oracle = EthAccount.generate();
  const stranger = EthAccount.generate();
  let ccn: CcnProcess;
  let client: AuthenticatedAlephHttpClient;
  let address: string;

  const get = async <T>(path: string): Promise<T> => (await (await fetch(`${ccn.url}${path}`)).json()) as T;
  const publish = async (signer: EthAccount, type: string, content: unknown): Promise<void> => {
    const message = buildInlineMessage(signer, 'POST', { type, content }, { channel: 'ALEPH_CREDIT' });
    const res = await fetch(`${ccn.url}/api/v0/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sync: true, message }) });
    assert.equal(res.status, 200, await res.text());
  };
  const distribute = (signer: EthAccount, amount: number) =>
    publish(signer, 'aleph_credit_distribution', { distribution: { credits: [{ address, amount, price: '0.01', tx_hash: `0x${randomBytes(8).toString('hex')}`, provider: 'test' }], token: 'ALEPH', chain: 'ETH' } });
  const creditBalance = async () => (await get<{ credit_balance: number }>(`/api/v0/addresses/${address}/balance`)).credit_balance;
  const until = (hash: string, wanted: string) =>
    eventually('the message status', 60_000, async () => {
      const body = await get<{ status: string; reason?: string }>(`/api/v0/messages/${hash}`);
      return body.status === wanted ? body : undefined;
    });

  before(async () => {
    ccn = await startCcnProcess({ paymentChecks: true, balanceIndexers: [oracle.address], creditOracles: [oracle.address], flowOracles: [oracle.address], paymentCheckIntervalSeconds: 2, removingGraceSeconds: 8 });
    const account = importAccountFromPrivateKey(`0x${randomBytes(32).toString('hex')}`);
    client = new AuthenticatedAlephHttpClient(account, ccn.url);
    address = account.address;
  });
  after(async () => {
    await ccn?.stop();
  });

  let rootfs = '';
  let instance = '';

  it('refuses a credit instance without a day of credits; a stranger’s distribution gives none', async () => {
    rootfs = (await client.createStore({ fileObject: new Blob([new TextEncoder().encode('rootfs stand-in')]), storageEngine: ItemType.storage, channel: 'PAY', sync: true })).item_hash;
    await distribute(stranger, 10_000_000);
    assert.equal(await creditBalance(), 0);
    await assert.rejects(client.createInstance({ rootfs: { parent: { ref: rootfs }, size_mib: 20_480 }, channel: 'PAY' }));
    const rejected = await get<{ messages: { item_hash: string }[] }>(`/api/v0/messages.json?addresses=${address}&msgTypes=INSTANCE&msgStatuses=rejected`);
    const body = await get<{ error_code: number; details: { errors: { required_credits: string }[] } }>(`/api/v0/messages/${rejected.messages[0]?.item_hash}`);
    assert.equal(body.error_code, CREDIT_INSUFFICIENT);
    assert.ok(Number(body.details.errors[0]?.required_credits) > 0);
  });

  it('processes it with credits, and consumes them per period', async () => {
    await distribute(oracle, 1_000_000);
    assert.equal(await creditBalance(), 1_000_000);
    instance = (await client.createInstance({ rootfs: { parent: { ref: rootfs }, size_mib: 20_480 }, channel: 'PAY' })).item_hash;
    assert.equal((await get<{ status: string }>(`/api/v0/messages/${instance}`)).status, 'processed');
    const consumed = await eventually('credits to be consumed', 60_000, async () => {
      const c = (await get<{ consumed_credits: number }>(`/api/v0/messages/${instance}/consumed_credits`)).consumed_credits;
      return c > 0 ? c : undefined;
    });
    assert.ok((await creditBalance()) <= 1_000_000 - consumed);
    const history = await get<{ credit_history: { amount: number; origin: string; credit_ref: string }[] }>(`/api/v0/addresses/${address}/credit_history`);
    assert.ok(history.credit_history.some((h) => h.origin === 'consumption' && h.credit_ref === instance && h.amount < 0));
    assert.ok(history.credit_history.some((h) => h.amount === 1_000_000));
    const listed = await get<{ credit_balances: { address: string; credits: number }[] }>('/api/v0/credit_balances');
    assert.ok(listed.credit_balances.some((c) => c.address === address.toLowerCase()));
  });

  it('credits run out → removing (credit_insufficient) → removed after the grace', async () => {
    await publish(oracle, 'aleph_credit_expense', { expense: { credits: [{ address, amount: 1_000_000 }] } });
    assert.equal(await creditBalance(), 0);
    assert.equal((await until(instance, 'removing')).reason, 'credit_insufficient');
    assert.equal((await until(instance, 'removed')).reason, 'credit_insufficient');
  });
});
