/**
 * Payments, CRN side, against a real CCN process and a real CRN (process executor): the CRN
 * checks payment with its CCN before starting anything and while it runs.
 * - an on-demand program of an unfunded owner: 402 with the reason (balance_insufficient);
 *   funded through the CCN's balance oracle (`balanceIndexers`): it runs;
 * - its balance lowered: the payment monitor stops it (`payment_lapsed`, balance_insufficient,
 *   shown in the execution list) while another owner's program keeps running;
 * - notify: a hold instance → 400 "Invalid payment method"; a stream to another receiver → 400;
 *   a credit instance without credits → 402.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuthenticatedAlephHttpClient } from '@aleph-sdk/client';
import { importAccountFromPrivateKey } from '@aleph-sdk/ethereum';
import { buildInlineMessage, EthAccount } from '@aleph-nodes/protocol';
import { startCrn, type CrnConfig, type RunningCrn } from '@aleph-nodes/crn';
import { silentLogger } from '@aleph-nodes/service';
import { publishMessage } from '@aleph-nodes/cli';
import { startCcnProcess, type CcnProcess } from '../ccn/helpers/ccn-process.ts';
import { eventually } from '../helpers/eventually.ts';
import { createRuntime, ECHO_PROGRAM, OTHER_KEY, OWNER_KEY, publishWith, UNCAPPED_OWNERS } from '../crn/helpers/nodes.ts';

// Hardhat/Anvil public test key #2: the balance oracle of this test's CCN.
const ORACLE_KEY = '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a';
const NODE_HASH = 'a7'.repeat(32);
const FAR_FUTURE = 4_102_444_800;

interface ErrorBody {
  error: { code: string; message: string; details?: { detail?: string } };
}
type Listed = Record<string, { running?: boolean; stop_reason?: string; stop_detail?: string; payment?: { status?: string } }>;

describe('CRN payment gate and monitor', { timeout: 240_000 }, () => {
  let ccn: CcnProcess;
  let crn: RunningCrn;
  let crnDir = '';
  let owner: AuthenticatedAlephHttpClient;
  let other: AuthenticatedAlephHttpClient;
  let oracle: AuthenticatedAlephHttpClient;
  let runtime = '';
  const user = EthAccount.fromPrivateKey(OWNER_KEY);
  const ownerAddress = user.address;
  const otherAddress = EthAccount.fromPrivateKey(OTHER_KEY).address;

  let height = 0;
  /** The oracle sets `address`'s ALEPH balance (pyaleph's balances-update; absolute, latest height wins). */
  async function setBalance(address: string, amount: number): Promise<void> {
    height = Math.max(height + 1, Date.now());
    await oracle.createPost({ postType: 'balances-update', content: { chain: 'ETH', main_height: height, balances: { [address]: amount } }, channel: 'TEST', sync: true });
    const balanceIs = async (): Promise<boolean> => {
      const body = (await (await fetch(`${ccn.url}/api/v0/addresses/${address}/balance`)).json()) as { balance: number | string };
      return Number(body.balance) === amount;
    };
    await eventually(`balance of ${address} = ${amount} on the CCN`, 30_000, balanceIs);
  }

  const visit = async (hash: string): Promise<{ status: number; text: string }> => {
    const res = await fetch(`${crn.url}/vm/${hash}/`);
    return { status: res.status, text: await res.text() };
  };
  const listed = async (): Promise<Listed> => (await (await fetch(`${crn.url}/v2/about/executions/list`)).json()) as Listed;

  async function instance(payment: Record<string, unknown>, rootfs: string): Promise<string> {
    const message = buildInlineMessage(
      user,
      'INSTANCE',
      {
        allow_amend: false,
        metadata: { name: 'payments-test' },
        environment: { internet: false, aleph_api: false, reproducible: false, shared_cache: false },
        resources: { vcpus: 1, memory: 128, seconds: 30 },
        rootfs: { parent: { ref: rootfs, use_latest: true }, persistence: 'host', size_mib: 64 },
        volumes: [],
        payment,
        requirements: { node: { node_hash: NODE_HASH } },
      },
      { channel: 'TEST' },
    );
    await publishMessage(ccn.url, message);
    return message.item_hash;
  }
  const notify = async (ref: string): Promise<{ status: number; body: ErrorBody }> => {
    const res = await fetch(`${crn.url}/control/allocation/notify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instance: ref }) });
    return { status: res.status, body: (await res.json()) as ErrorBody };
  };

  before(async () => {
    const oracleAccount = importAccountFromPrivateKey(ORACLE_KEY);
    // Hold instances stay allowed on this CCN (the test is about the CRN's checks, not the cutoffs).
    ccn = await startCcnProcess({ balanceIndexers: [oracleAccount.address], holdAndStreamRefusedFromTime: FAR_FUTURE, creditOnlyFromTime: FAR_FUTURE });
    owner = new AuthenticatedAlephHttpClient(importAccountFromPrivateKey(OWNER_KEY), ccn.url);
    other = new AuthenticatedAlephHttpClient(importAccountFromPrivateKey(OTHER_KEY), ccn.url);
    oracle = new AuthenticatedAlephHttpClient(oracleAccount, ccn.url);
    // Both owners funded before they publish (a CCN checking holds at processing accepts them).
    await setBalance(ownerAddress, 1_000_000);
    await setBalance(otherAddress, 1_000_000);
    runtime = await createRuntime(owner);
    crnDir = mkdtempSync(join(tmpdir(), 'crn-payments-'));
    crn = await startCrn(
      {
        executor: 'process',
        dataDir: crnDir,
        ccn: ccn.url,
        port: 0,
        logLevel: 'silent',
        messageWatch: false,
        capacityVcpus: 32,
        ...UNCAPPED_OWNERS,
        nodeHash: NODE_HASH,
        enforcePayments: true,
        paymentMonitorIntervalSeconds: 0.5,
        paymentConfirmations: 2,
        paymentAccountCacheSeconds: 0,
      } as CrnConfig,
      { logger: silentLogger() },
    );
  });
  after(async () => {
    await crn?.close({ stopPersistent: true });
    await ccn?.stop();
    if (crnDir) rmSync(crnDir, { recursive: true, force: true });
  });

  it('an unfunded on-demand program: 402 with the reason; funded: it runs; lapsed: stopped, other owners untouched', async () => {
    const program = await publishWith(owner, runtime, ECHO_PROGRAM);
    const others = await publishWith(other, runtime, ECHO_PROGRAM);
    await setBalance(ownerAddress, 0);

    const refused = await visit(program);
    assert.equal(refused.status, 402, refused.text);
    const body = JSON.parse(refused.text) as ErrorBody;
    assert.equal(body.error.code, 'PAYMENT_REQUIRED');
    assert.equal(body.error.details?.detail, 'balance_insufficient');
    assert.match(body.error.message, /ALEPH held: 0 available, [\d.]+ required/);
    assert.equal((await listed())[program]?.running ?? false, false, 'nothing started');

    await setBalance(ownerAddress, 1_000_000);
    const served = await visit(program);
    assert.equal(served.status, 200, served.text);
    assert.equal((await visit(others)).status, 200);
    assert.equal((await listed())[program]?.payment?.status, 'paid');

    // The balance drops: two monitor passes in a row find it short, and it is stopped.
    await setBalance(ownerAddress, 0);
    await eventually('the monitor stopped the unpaid program', 30_000, async () => (await listed())[program]?.stop_reason === 'payment_lapsed');
    const entry = (await listed())[program];
    assert.equal(entry?.running, false);
    assert.equal(entry?.stop_detail, 'balance_insufficient');
    assert.equal((await listed())[others]?.running, true, "the other owner's program keeps running");
    assert.equal((await visit(program)).status, 402, 'and does not start again while unpaid');
  });

  it('notify: 400 for a hold instance and for a stream to another receiver, 402 for a credit instance without credits', async () => {
    const rootfs = (await owner.createStore({ fileObject: new Blob([new TextEncoder().encode('rootfs stand-in')]), channel: 'TEST', sync: true })).item_hash;
    const hold = await notify(await instance({ chain: 'ETH', type: 'hold' }, rootfs));
    assert.equal(hold.status, 400);
    assert.equal(hold.body.error.code, 'INVALID_PAYMENT_METHOD');
    assert.match(hold.body.error.message, /Invalid payment method/);

    const elsewhere = await notify(await instance({ chain: 'ETH', type: 'superfluid', receiver: '0x' + '1'.repeat(40) }, rootfs));
    assert.equal(elsewhere.status, 400);
    assert.equal(elsewhere.body.error.code, 'WRONG_RECEIVER');

    const credit = await notify(await instance({ chain: 'ETH', type: 'credit' }, rootfs));
    assert.equal(credit.status, 402, JSON.stringify(credit.body));
    assert.equal(credit.body.error.code, 'PAYMENT_REQUIRED');
    assert.equal(credit.body.error.details?.detail, 'credit_insufficient');
  });
});
