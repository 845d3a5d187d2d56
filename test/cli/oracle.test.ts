/**
 * `ccn oracle` against real CCN processes. `balance` with a CCN whose balanceIndexers is the oracle's key:
 * the post is published, processed and in effect (the balance route reports it), exit 0; the
 * same post signed by another key is processed as a plain post and the command says it is not in
 * effect, exit 1; bad arguments exit 2 naming the argument; an unreachable CCN exits 1. `credits`
 * and `flow` with a CCN whose creditOracles and flowOracles are the oracle: credits given (and
 * refused from another key), a flow set and ended.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EthAccount } from '@aleph-nodes/protocol';
import { startCcnProcess, type CcnProcess } from '../ccn/helpers/ccn-process.ts';
import { run } from '../helpers/process.ts';
import { pickFreePort } from '@aleph-nodes/cli';

const dir = mkdtempSync(join(tmpdir(), 'oracle-cli-'));
const oracle = EthAccount.generate();
const stranger = EthAccount.generate();
const user = EthAccount.generate().address;
const oracleKey = join(dir, 'oracle.key');
const strangerKey = join(dir, 'stranger.key');
let ccn: CcnProcess;

before(async () => {
  writeFileSync(oracleKey, `${oracle.exportPrivateKey()}\n`, { mode: 0o600 });
  writeFileSync(strangerKey, `${stranger.exportPrivateKey()}\n`, { mode: 0o600 });
  ccn = await startCcnProcess({ balanceIndexers: [oracle.address] });
});
after(async () => {
  await ccn?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function balanceOf(address: string): Promise<{ balance: number; details: Record<string, number> }> {
  const res = await fetch(`${ccn.url}/api/v0/addresses/${address}/balance`);
  assert.equal(res.status, 200);
  return (await res.json()) as { balance: number; details: Record<string, number> };
}

const oracleCmd = (args: string[]) => run('npx', ['ccn', 'oracle', ...args]);

describe('ccn oracle balance', () => {
  it('sets the balance and exits 0 once the CCN has applied it', async () => {
    const r = await oracleCmd(['balance', user.toLowerCase(), '12.5', '--key-file', oracleKey, '--ccn', ccn.url, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { item_hash: string; status: string; in_effect: boolean; post_type: string };
    assert.equal(out.status, 'processed');
    assert.equal(out.in_effect, true);
    assert.equal(out.post_type, 'balances-update');
    assert.equal((await balanceOf(user)).balance, 12.5);
    const msg = (await (await fetch(`${ccn.url}/api/v0/messages/${out.item_hash}`)).json()) as { status: string; message: { sender: string } };
    assert.equal(msg.status, 'processed');
    assert.equal(msg.message.sender, oracle.address);
  });

  it('lowers it again (absolute amounts, the later report wins)', async () => {
    const r = await oracleCmd(['balance', user, '0.25', '--key-file', oracleKey, '--ccn', ccn.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /balance of .* set to 0\.25 ALEPH/);
    assert.equal((await balanceOf(user)).balance, 0.25);
  });

  it('another key: processed as a plain post, not in effect, exit 1 with the reason', async () => {
    const r = await oracleCmd(['balance', user, '1000000', '--key-file', strangerKey, '--ccn', ccn.url]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /not in effect/);
    assert.match(r.stderr, new RegExp(stranger.address));
    assert.equal((await balanceOf(user)).balance, 0.25);
  });

  it('bad arguments exit 2 with one line naming the argument', async () => {
    const cases: [string[], RegExp][] = [
      [['balance', 'nope', '1'], /ADDRESS "nope" is not an Ethereum address/],
      [['balance', user, '-5'], /AMOUNT "-5" is not a non-negative decimal/],
      [['balance', user, '1e30'], /AMOUNT "1e30" is not a non-negative decimal/],
      [['balance', user, '99999999999999999999'], /AMOUNT .* above the bound/],
      [['credits', user, '1.5'], /AMOUNT "1.5" is not a whole number of credits/],
      [['flow', user, user, '1'], /same address/],
      [['flow', user, oracle.address, 'fast'], /ALEPH_PER_HOUR "fast"/],
    ];
    const results = await Promise.all(cases.map(([args]) => oracleCmd([...args, '--key-file', oracleKey, '--ccn', ccn.url])));
    cases.forEach(([args, pattern], i) => {
      const r = results[i]!;
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    });
    const missingKey = await oracleCmd(['balance', user, '1', '--ccn', ccn.url]);
    assert.equal(missingKey.code, 2);
    assert.match(missingKey.stderr, /--key-file/);
    assert.equal((await balanceOf(user)).balance, 0.25);
  });

  it('an unreachable CCN exits 1 and says so', async () => {
    const port = await pickFreePort('127.0.0.1');
    const r = await oracleCmd(['balance', user, '1', '--key-file', oracleKey, '--ccn', `http://127.0.0.1:${port}`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unreachable/);
  });

  it('--help describes the three commands', async () => {
    const r = await oracleCmd(['--help']);
    assert.equal(r.code, 0);
    for (const sub of ['balance', 'credits', 'flow']) assert.match(r.stdout, new RegExp(sub));
  });
});

describe('ccn oracle credits and flow (a CCN whose creditOracles and flowOracles are the oracle)', () => {
  let payCcn: CcnProcess;
  const payer = EthAccount.generate().address;
  const crn = EthAccount.generate().address;
  before(async () => {
    payCcn = await startCcnProcess({ balanceIndexers: [oracle.address], creditOracles: [oracle.address], flowOracles: [oracle.address] });
  });
  after(async () => {
    await payCcn?.stop();
  });

  it('gives credits (the credit history lists the distribution) and refuses another key', async () => {
    const r = await oracleCmd(['credits', payer, '1000', '--key-file', oracleKey, '--ccn', payCcn.url, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { item_hash: string; in_effect: boolean; post_type: string };
    assert.equal(out.in_effect, true);
    assert.equal(out.post_type, 'aleph_credit_distribution');
    const balance = (await (await fetch(`${payCcn.url}/api/v0/addresses/${payer}/balance`)).json()) as { credit_balance: number };
    assert.equal(balance.credit_balance, 1000);
    const stranger = await oracleCmd(['credits', payer, '5', '--key-file', strangerKey, '--ccn', payCcn.url]);
    assert.equal(stranger.code, 1, stranger.stdout + stranger.stderr);
    assert.match(stranger.stderr, /not in effect/);
  });

  it('sets a flow and ends it with 0', async () => {
    const set = await oracleCmd(['flow', payer, crn, '2.5', '--key-file', oracleKey, '--ccn', payCcn.url, '--json']);
    assert.equal(set.code, 0, set.stderr);
    assert.equal((JSON.parse(set.stdout) as { in_effect: boolean }).in_effect, true);
    const flows = (await (await fetch(`${payCcn.url}/api/v0/addresses/${payer}/flows`)).json()) as { outgoing: { receiver: string; rate_per_hour: string }[] };
    assert.deepEqual(flows.outgoing.map((f) => [f.receiver.toLowerCase(), Number(f.rate_per_hour)]), [[crn.toLowerCase(), 2.5]]);
    const cut = await oracleCmd(['flow', payer, crn, '0', '--key-file', oracleKey, '--ccn', payCcn.url]);
    assert.equal(cut.code, 0, cut.stderr);
    const after = (await (await fetch(`${payCcn.url}/api/v0/addresses/${payer}/flows`)).json()) as { outgoing: { rate_per_hour: string }[] };
    assert.ok(after.outgoing.every((f) => Number(f.rate_per_hour) === 0));
  });
});
