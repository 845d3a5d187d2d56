/**
 * Payments, CCN side, end to end: a real CCN process, the official SDK unchanged, an oracle key
 * that sets token balances with signed `balances-update` posts. An unfunded account's program and
 * instance are refused with pyaleph's BALANCE_INSUFFICIENT (5) and its details; funded, they are
 * processed and `locked_amount` shows their hold; when the balance drops they go `removing` with
 * `balance_insufficient` and a `removing_at`, a top-up within the grace brings them back, and once
 * the grace is over they are `removed`. Another owner's program stays processed throughout, and a
 * balance post from a key that is not the oracle changes nothing.
 *
 * Before payments were enforced the CCN processed every program and instance whatever the balance
 * (`locked_amount` was always 0).
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

const BALANCE_INSUFFICIENT = 5;
const CREDIT_INSUFFICIENT = 6;
const GRACE = 12;

interface StatusBody {
  status: string;
  error_code?: number;
  details?: { errors: Record<string, unknown>[] } | null;
  reason?: string;
  removing_at?: number;
}

interface Party {
  client: AuthenticatedAlephHttpClient;
  address: string;
}

function newParty(url: string): Party {
  const account = importAccountFromPrivateKey(`0x${randomBytes(32).toString('hex')}`);
  return { client: new AuthenticatedAlephHttpClient(account, url), address: account.address };
}

describe('CCN hold payments (real process, official SDK)', () => {
  const oracle = EthAccount.generate();
  const stranger = EthAccount.generate();
  let ccn: CcnProcess;
  let alice: Party;
  let bob: Party;
  let height = 1;

  const status = async (hash: string): Promise<StatusBody> => (await (await fetch(`${ccn.url}/api/v0/messages/${hash}`)).json()) as StatusBody;
  const until = (hash: string, wanted: string): Promise<StatusBody> =>
    eventually('the message status', 60_000, async () => {
      const body = await status(hash);
      return body.status === wanted ? body : undefined;
    });

  /** Publishes a signed balances-update and waits until it is processed. */
  const setBalance = async (address: string, amount: number, signer: EthAccount = oracle): Promise<string> => {
    const message = buildInlineMessage(signer, 'POST', { type: 'balances-update', content: { chain: 'ETH', main_height: height++, balances: { [address]: amount } } });
    const res = await fetch(`${ccn.url}/api/v0/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sync: true, message }) });
    assert.equal(res.status, 200, await res.text());
    return message.item_hash;
  };

  const balanceOf = async (address: string) =>
    (await (await fetch(`${ccn.url}/api/v0/addresses/${address}/balance`)).json()) as { balance: number; locked_amount: number; credit_balance: number };

  /** The newest rejected message of a type from an address (the SDK throws on a rejection). */
  const rejectedOf = async (address: string, type: string): Promise<string> => {
    const res = await fetch(`${ccn.url}/api/v0/messages.json?addresses=${address}&msgTypes=${type}&msgStatuses=rejected`);
    const body = (await res.json()) as { messages: { item_hash: string }[] };
    assert.ok(body.messages.length > 0, `no rejected ${type} of ${address}`);
    return (body.messages[0] as { item_hash: string }).item_hash;
  };

  const runtimeOf = async (party: Party): Promise<string> =>
    (await party.client.createStore({ fileObject: new Blob([new TextEncoder().encode(`runtime of ${party.address}`)]), storageEngine: ItemType.storage, channel: 'PAY', sync: true })).item_hash;

  const programOf = (party: Party, runtime: string, tag: string) =>
    party.client.createProgram({ file: new Blob([new TextEncoder().encode(`PK program ${tag}`)]), entrypoint: 'main:app', runtime, storageEngine: ItemType.storage, channel: 'PAY' });

  before(async () => {
    ccn = await startCcnProcess({
      paymentChecks: true,
      balanceIndexers: [oracle.address],
      creditOracles: [oracle.address],
      flowOracles: [oracle.address],
      // Hold instances are refused after pyaleph's cutoff (already past): this network still takes them.
      holdAndStreamRefusedFromTime: 4_000_000_000,
      creditOnlyFromTime: 4_000_000_000,
      paymentCheckIntervalSeconds: 2,
      removingGraceSeconds: GRACE,
    });
    alice = newParty(ccn.url);
    bob = newParty(ccn.url);
  });
  after(async () => {
    await ccn?.stop();
  });

  it('refuses an unfunded account’s program and instance with BALANCE_INSUFFICIENT and the amounts', async () => {
    const runtime = await runtimeOf(alice);
    await assert.rejects(programOf(alice, runtime, 'unfunded'));
    const program = await status(await rejectedOf(alice.address, 'PROGRAM'));
    assert.equal(program.error_code, BALANCE_INSUFFICIENT);
    assert.equal(program.details?.errors[0]?.account_balance, '0');
    assert.ok(Number(program.details?.errors[0]?.required_balance) > 0);

    // The SDK's instances pay with credits by default: no credits, CREDIT_INSUFFICIENT.
    await assert.rejects(alice.client.createInstance({ rootfs: { parent: { ref: runtime }, size_mib: 20_480 }, channel: 'PAY' }));
    const credit = await status(await rejectedOf(alice.address, 'INSTANCE'));
    assert.equal(credit.error_code, CREDIT_INSUFFICIENT);
    assert.equal(credit.details?.errors[0]?.min_runtime_days, 1);
    assert.equal(credit.details?.errors[0]?.account_credits, '0');

    await assert.rejects(alice.client.createInstance({ rootfs: { parent: { ref: runtime }, size_mib: 20_480 }, channel: 'PAY', payment: { chain: 'ETH', type: 'hold' } } as never));
    const hold = await status(await rejectedOf(alice.address, 'INSTANCE'));
    assert.equal(hold.error_code, BALANCE_INSUFFICIENT);
  });

  it('a balance from a key that is not the oracle changes nothing', async () => {
    await setBalance(alice.address, 1e9, stranger);
    assert.equal((await balanceOf(alice.address)).balance, 0);
  });

  let programs: string[] = [];
  let bobs = '';

  it('processes the funded ones and locks their hold', async () => {
    await setBalance(alice.address, 10_000_000);
    await setBalance(bob.address, 10_000_000);
    const runtime = await runtimeOf(alice);
    programs = [(await programOf(alice, runtime, 'a1')).item_hash, (await programOf(alice, runtime, 'a2')).item_hash];
    const instance = await alice.client.createInstance({ rootfs: { parent: { ref: runtime }, size_mib: 20_480 }, channel: 'PAY', payment: { chain: 'ETH', type: 'hold' } } as never);
    assert.equal((await status(instance.item_hash)).status, 'processed');
    for (const h of programs) assert.equal((await status(h)).status, 'processed');
    bobs = (await programOf(bob, await runtimeOf(bob), 'b1')).item_hash;
    assert.equal((await status(bobs)).status, 'processed');
    const { locked_amount, balance } = await balanceOf(alice.address);
    assert.equal(balance, 10_000_000);
    assert.ok(locked_amount > 0);
    const priced = (await (await fetch(`${ccn.url}/api/v0/price/${programs[0]}`)).json()) as { required_tokens: number };
    const instancePrice = (await (await fetch(`${ccn.url}/api/v0/price/${instance.item_hash}`)).json()) as { required_tokens: number };
    assert.ok(Math.abs(locked_amount - 2 * priced.required_tokens - instancePrice.required_tokens) < 1e-6, `${locked_amount} vs 2 × ${priced.required_tokens} + ${instancePrice.required_tokens}`);
    programs.push(instance.item_hash);
  });

  it('balance lowered → removing with the reason; top-up within the grace → processed again', async () => {
    await setBalance(alice.address, 0);
    for (const h of programs) {
      const body = await until(h, 'removing');
      assert.equal(body.reason, 'balance_insufficient');
      assert.ok(typeof body.removing_at === 'number' && body.removing_at > Date.now() / 1000 - GRACE);
    }
    await setBalance(alice.address, 10_000_000);
    for (const h of programs) await until(h, 'processed');
    assert.equal((await status(bobs)).status, 'processed');
  });

  it('balance lowered again and not topped up → removed after the grace; the other owner untouched', async () => {
    await setBalance(alice.address, 1);
    for (const h of programs) await until(h, 'removing');
    for (const h of programs) {
      const body = await until(h, 'removed');
      assert.equal(body.reason, 'balance_insufficient');
    }
    assert.equal((await status(bobs)).status, 'processed');
    assert.equal((await balanceOf(alice.address)).locked_amount, 0);
  });
});
