/**
 * Payments end to end, with the official SDK against the devnet (one CCN,
 * one CRN, process executor; short payment periods: CCN checks every 5 s, 20 s grace; CRN monitor
 * every 5 s, two confirmations). The oracle is driven with `ccn oracle`:
 * - an unfunded account's program and instance are refused with the reason (pyaleph's
 *   BALANCE_INSUFFICIENT, 5);
 * - a funded account's persistent program runs on the CRN;
 * - its balance lowered below what it holds → `removing` (balance_insufficient), then stopped on
 *   the CRN and `removed` after the grace; another account topped up within the grace keeps its
 *   program (back to `processed`, still running after the grace);
 * - a program paid with credits runs; its credits run out (the oracle's expense) → stopped;
 * - a program paid by a flow to the CRN runs; the flow cut → stopped;
 * - another owner's program is untouched throughout.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildInlineMessage, EthAccount } from '@aleph-nodes/protocol';
import { readKeyFile } from '@aleph-nodes/service';
import { publishMessage } from '@aleph-nodes/cli';
import { eventually, getJson } from '../helpers/eventually.ts';
import { PayDevnet, type User } from './helpers/pay-devnet.ts';

/** ALEPH that covers a persistent program's hold (1000 per compute unit) with room to spare. */
const FUNDED = '3000';
/** Below one persistent program's hold. */
const LOWERED = '10';
/** The grace is 20 s and the check every 5 s: removing→removed within ~30 s; generous bounds, no timing assertion. */
const LAPSE_MS = 90_000;
const RUN_MS = 60_000;

const net = new PayDevnet();
/** The other owner, whose program must run whatever happens to the others. */
let other: User;
let otherProgram = '';

async function fund(address: string, amount: string): Promise<void> {
  const r = await net.oracle('balance', address, amount);
  assert.equal(r.code, 0, `ccn oracle balance ${address} ${amount}: ${r.stdout}${r.stderr}`);
}

async function runs(hash: string, owner: string, what: string): Promise<void> {
  await eventually(`${what} running on the CRN`, RUN_MS, async () => (await net.running()).includes(hash) && (await net.answers(hash, owner)), () => net.running());
}

async function otherUntouched(): Promise<void> {
  assert.equal((await net.status(otherProgram)).status, 'processed', "the other owner's program is still processed");
  assert.ok((await net.running()).includes(otherProgram), "the other owner's program still runs");
  assert.ok(await net.answers(otherProgram, other.address), "the other owner's program still answers");
}

describe('payments end to end (SDK, devnet, ccn oracle)', { timeout: 600_000 }, () => {
  before(async () => {
    await net.start();
    other = net.user();
    await fund(other.address, FUNDED);
    otherProgram = await net.persistentProgram(other, { type: 'hold' });
    await runs(otherProgram, other.address, "the other owner's program");
  });
  after(async () => {
    await net.stop();
    assert.deepEqual(net.leftovers(), [], 'no process of the devnet is left');
  });

  it("refuses an unfunded account's program and instance, with the reason", async () => {
    const poor = net.user();
    const program = await net.onDemandProgram(poor);
    const instance = await net.holdInstance(poor);
    for (const [what, hash] of [['program', program], ['instance', instance]] as const) {
      const status = await eventually(`the ${what} to be decided`, RUN_MS, async () => {
        const s = await net.status(hash);
        return s.status === 'pending' ? undefined : s;
      });
      assert.equal(status.status, 'rejected', `${what}: ${JSON.stringify(status)}`);
      assert.equal(status.error_code, 5, `${what}: pyaleph's BALANCE_INSUFFICIENT: ${JSON.stringify(status.details)}`);
      assert.match(JSON.stringify(status.details), /balance/i, `${what}: the details say what was missing`);
    }
    assert.ok(!(await net.running()).includes(program));
    await otherUntouched();
  });

  it("runs a funded account's persistent program", async () => {
    const rich = net.user();
    await fund(rich.address, FUNDED);
    const hash = await net.persistentProgram(rich, { type: 'hold' });
    assert.equal((await net.status(hash)).status, 'processed');
    await runs(hash, rich.address, 'the funded program');
    const balance = await net.balance(rich.address);
    assert.ok(balance.locked_amount > 0 && balance.locked_amount <= Number(FUNDED), `locked_amount ${balance.locked_amount}`);
    await otherUntouched();
  });

  it('balance lowered: removing, then stopped on the CRN and removed after the grace; a top-up within the grace keeps another', async () => {
    const lapsing = net.user();
    const topped = net.user();
    await Promise.all([fund(lapsing.address, FUNDED), fund(topped.address, FUNDED)]);
    const [lapsingProgram, toppedProgram] = await Promise.all([net.persistentProgram(lapsing, { type: 'hold' }), net.persistentProgram(topped, { type: 'hold' })]);
    await Promise.all([runs(lapsingProgram, lapsing.address, 'the lapsing program'), runs(toppedProgram, topped.address, 'the topped-up program')]);

    await Promise.all([fund(lapsing.address, LOWERED), fund(topped.address, LOWERED)]);
    const removing = await eventually('the lapsing program to go removing', LAPSE_MS, async () => {
      const s = await net.status(lapsingProgram);
      return s.status === 'removing' ? s : undefined;
    });
    assert.equal(removing.reason, 'balance_insufficient');
    await eventually('the topped-up program to go removing', LAPSE_MS, async () => (await net.status(toppedProgram)).status === 'removing');
    await fund(topped.address, FUNDED);

    const removed = await eventually('the lapsing program to be removed', LAPSE_MS, async () => {
      const s = await net.status(lapsingProgram);
      return s.status === 'removed' ? s : undefined;
    });
    assert.equal(removed.reason, 'balance_insufficient');
    await eventually('the removed program to stop on the CRN', LAPSE_MS, async () => !(await net.running()).includes(lapsingProgram), () => net.running());

    // The lapsed program's grace is over: the topped-up one, lowered at the same time, was given back.
    assert.equal((await net.status(toppedProgram)).status, 'processed');
    assert.ok((await net.running()).includes(toppedProgram), 'the topped-up program still runs');
    assert.ok(await net.answers(toppedProgram, topped.address));
    await otherUntouched();
  });

  it('credits run out: the program paid with credits is stopped', async () => {
    const user = net.user();
    const give = await net.oracle('credits', user.address, '5000000');
    assert.equal(give.code, 0, give.stdout + give.stderr);
    const hash = await net.persistentProgram(user, { type: 'credit' });
    assert.equal((await net.status(hash)).status, 'processed');
    await runs(hash, user.address, 'the credit program');

    // The oracle reports the spending (pyaleph's aleph_credit_expense) and leaves a few seconds' worth.
    const price = await getJson<{ cost: string; payment_type: string }>(`${net.ccn}/api/v0/price/${hash}`);
    assert.equal(price.payment_type, 'credit');
    const perSecond = Number(price.cost);
    const { credit_balance: credits } = await net.balance(user.address);
    const expense = Math.floor(credits - perSecond * 5);
    assert.ok(expense > 0, `credits ${credits}, ${perSecond}/s`);
    const oracle: EthAccount = readKeyFile(net.state.oracle.key_file);
    await publishMessage(
      net.ccn,
      buildInlineMessage(oracle, 'POST', { type: 'aleph_credit_expense', content: { expense: { credits: [{ address: user.address, amount: expense, ref: hash }] } } }, { channel: 'ALEPH_CREDIT' }),
    );
    await eventually('the credit program to stop on the CRN', LAPSE_MS, async () => !(await net.running()).includes(hash), () => net.running());
    assert.equal((await net.execution(hash))?.stop_reason, 'payment_lapsed', 'the execution list says the payment lapsed');
    const status = await net.status(hash);
    assert.ok(['removing', 'removed'].includes(status.status), `status ${status.status}`);
    assert.equal(status.reason, 'credit_insufficient');
    await otherUntouched();
  });

  it('a flow cut: the program paid by a flow to its CRN is stopped', async () => {
    const user = net.user();
    const receiver = net.crn.address;
    const flow = await net.oracle('flow', user.address, receiver, '1');
    assert.equal(flow.code, 0, flow.stdout + flow.stderr);
    const hash = await net.paygProgram(user);
    assert.equal((await net.status(hash)).status, 'processed');
    await runs(hash, user.address, 'the pay-as-you-go program');

    const cut = await net.oracle('flow', user.address, receiver, '0');
    assert.equal(cut.code, 0, cut.stdout + cut.stderr);
    await eventually('the pay-as-you-go program to stop on the CRN', LAPSE_MS, async () => !(await net.running()).includes(hash), () => net.running());
    // The CRN's execution list says why it stopped it.
    const execution = await net.execution(hash);
    assert.equal(execution?.stop_reason, 'payment_lapsed', JSON.stringify(execution));
    // `stop_detail` while the CRN still holds the execution, `last_error` once only its record is left.
    assert.match(String(execution?.stop_detail ?? execution?.last_error), /flow_insufficient/, JSON.stringify(execution));
    await otherUntouched();
  });
});
