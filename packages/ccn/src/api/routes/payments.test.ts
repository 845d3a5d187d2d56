import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildInlineMessage, EthAccount } from '@aleph-nodes/protocol';
import { openTestApi, type TestApi } from '../../testing/api.ts';

describe('payment routes', () => {
  const oracle = EthAccount.generate();
  const user = EthAccount.generate().address;
  const crn = EthAccount.generate().address;
  let api: TestApi;

  const submit = async (type: string, content: unknown, time: number): Promise<void> => {
    await api.processor.submit(buildInlineMessage(oracle, 'POST', { type, content }, { time, channel: 'ALEPH_CREDIT' }));
    await api.processor.settle();
  };
  const get = async (url: string) => {
    const res = await api.app.inject({ method: 'GET', url });
    return { status: res.statusCode, body: res.json() as Record<string, unknown> };
  };

  before(async () => {
    api = await openTestApi({ balanceIndexers: [oracle.address], creditOracles: [oracle.address], flowOracles: [oracle.address] });
    const now = Date.now() / 1000;
    await submit('balances-update', { chain: 'ETH', main_height: 1, balances: { [user]: '12.5' } }, now - 30);
    await submit('aleph_credit_distribution', { distribution: { credits: [{ address: user, amount: 500, price: '0.1', tx_hash: '0x1', provider: 'p' }], token: 'ALEPH', chain: 'ETH' } }, now - 20);
    await submit('aleph_credit_expense', { expense: { credits: [{ address: user, amount: 120, ref: 'x' }] } }, now - 10);
    await submit('aleph-flows-update', { chain: 'ETH', flows: [{ sender: user, receiver: crn, rate_per_hour: '1.25' }] }, now - 5);
  });
  after(async () => {
    await api.dispose();
  });

  it('balance: token balance, locked amount, credit balance', async () => {
    const { status, body } = await get(`/api/v0/addresses/${user}/balance`);
    assert.equal(status, 200);
    assert.deepEqual(body, { address: user, balance: 12.5, details: { ETH: 12.5 }, locked_amount: 0, credit_balance: 380 });
    assert.deepEqual((await get(`/api/v0/addresses/${EthAccount.generate().address}/balance`)).body.credit_balance, 0);
  });

  it('credit balances and history (newest first, expenses negative)', async () => {
    const balances = (await get('/api/v0/credit_balances')).body as { credit_balances: unknown[]; pagination_total: number };
    assert.deepEqual(balances.credit_balances, [{ address: user.toLowerCase(), credits: 380 }]);
    const history = (await get(`/api/v0/addresses/${user}/credit_history`)).body as { credit_history: { amount: number; origin: string }[] };
    assert.deepEqual(
      history.credit_history.map((h) => [h.amount, h.origin]),
      [
        [-120, 'expense'],
        [500, 'distribution'],
      ],
    );
  });

  it('flows, both ways, with their history on demand', async () => {
    const out = (await get(`/api/v0/addresses/${user}/flows`)).body as { outgoing: { receiver: string; rate_per_hour: string }[]; incoming: unknown[] };
    assert.deepEqual(
      out.outgoing.map((f) => [f.receiver, f.rate_per_hour]),
      [[crn.toLowerCase(), '1.25']],
    );
    assert.deepEqual(out.incoming, []);
    const inc = (await get(`/api/v0/addresses/${crn}/flows?history=true`)).body as { incoming: { sender: string }[]; history: unknown[] };
    assert.equal(inc.incoming[0]?.sender, user.toLowerCase());
    assert.equal(inc.history.length, 1);
  });

  it('bad input: a malformed address is 422, a malformed hash 400, a bad period 422', async () => {
    for (const url of ['/api/v0/addresses/not-an-address/balance', '/api/v0/addresses/0x12/flows', '/api/v0/addresses/not-an-address-but-long-enough/credit_history']) {
      const { status, body } = await get(url);
      assert.equal(status, 422, url);
      assert.equal((body.error as { code: string }).code, 'INVALID_PARAMETER');
    }
    assert.equal((await get('/api/v0/messages/xyz/consumed_credits')).status, 400);
    assert.deepEqual((await get(`/api/v0/messages/${'a'.repeat(64)}/consumed_credits`)).body, { item_hash: 'a'.repeat(64), consumed_credits: 0 });
    assert.equal((await get('/api/v0/payments/income?from=10&to=5')).status, 422);
    assert.equal((await get('/api/v0/payments/income?from=abc&to=5')).status, 422);
  });
});
