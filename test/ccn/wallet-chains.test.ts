/**
 * Messages of non-EVM wallets against a real CCN process: a Solana-signed message is accepted
 * and served, a tampered one refused with 422; the real wallet and SDK signatures of the other
 * chains pyaleph verifies are accepted; a chain nobody verifies (STT) is refused naming it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { base58 } from '@scure/base';
import { buildInlineMessage, SolanaAccount, type AlephMessage } from '@aleph-nodes/protocol';
import { startCcnProcess, type CcnProcess } from './helpers/ccn-process.ts';
import { eventually } from '../helpers/eventually.ts';

interface Json {
  [key: string]: unknown;
}
interface Fixture {
  source: string;
  expect: 'verified' | 'refused';
  message: AlephMessage;
}

function fixtures(name: string): Fixture[] {
  const url = new URL(`../../packages/protocol/src/crypto/fixtures/${name}`, import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { messages: Fixture[] }).messages;
}

/** The signature JSON with one base58 character of the signature changed. */
function tamperSolana(signature: string): string {
  const sig = JSON.parse(signature) as { signature: string; publicKey: string };
  const bytes = base58.decode(sig.signature);
  bytes[10] = (bytes[10] as number) ^ 1;
  return JSON.stringify({ ...sig, signature: base58.encode(bytes) });
}

describe('messages signed by non-EVM wallets', () => {
  let ccn: CcnProcess;
  const submit = async (message: unknown): Promise<{ status: number; body: Json }> => {
    const res = await fetch(`${ccn.url}/api/v0/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sync: true, message }) });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const settled = (hash: string): Promise<Json> =>
    eventually('the message to be processed', 60_000, async () => {
      const res = await fetch(`${ccn.url}/api/v0/messages/${hash}`);
      if (res.status === 404) return undefined;
      const body = (await res.json()) as Json;
      return body.status === 'pending' ? undefined : body;
    });

  before(async () => {
    ccn = await startCcnProcess();
  });
  after(async () => {
    await ccn?.stop();
  });

  it('accepts a message signed by a Solana key and serves it under its base58 sender', async () => {
    const account = SolanaAccount.generate();
    const message = buildInlineMessage(account, 'POST', { type: 'test', content: { body: 'from a Solana wallet' } }, { channel: 'TEST' });
    const res = await submit(message);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const body = await settled(message.item_hash);
    assert.equal(body.status, 'processed');
    const stored = body.message as Json;
    assert.equal(stored.chain, 'SOL');
    assert.equal(stored.sender, account.address);
    const list = (await (await fetch(`${ccn.url}/api/v0/messages.json?addresses=${account.address}`)).json()) as { messages: Json[] };
    assert.deepEqual(list.messages.map((m) => m.item_hash), [message.item_hash]);
  });

  it('refuses a tampered Solana message with 422 and stores nothing', async () => {
    const account = SolanaAccount.generate();
    const good = buildInlineMessage(account, 'POST', { type: 'test', content: { body: 'tamper me' } }, { channel: 'TEST' });
    const other = SolanaAccount.generate().address;
    const tampered: AlephMessage[] = [
      { ...good, signature: tamperSolana(good.signature) },
      // The signature names the sender's key, but the message claims another sender.
      { ...good, sender: other },
      { ...good, signature: JSON.stringify({ ...(JSON.parse(good.signature) as Json), publicKey: other }), sender: other },
    ];
    for (const message of tampered) {
      const res = await submit(message);
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.match(JSON.stringify(res.body), /SOL/);
    }
    assert.equal((await fetch(`${ccn.url}/api/v0/messages/${good.item_hash}`)).status, 404);
  });

  it('accepts the real signatures of every other chain pyaleph verifies (inline fixtures)', async () => {
    // The NULS2 fixture amends a post this node never had: its content is refused (101), not its
    // signature; the unit tests cover that signature.
    const isAmend = (f: Fixture): boolean => (JSON.parse(f.message.item_content ?? '{}') as Json).type === 'amend';
    const inline = [...fixtures('wallet-messages.json'), ...fixtures('sdk-messages.json')].filter((f) => f.expect === 'verified' && f.message.item_type === 'inline' && !isAmend(f));
    assert.ok(new Set(inline.map((f) => f.message.chain)).size >= 7);
    for (const f of inline) {
      const res = await submit(f.message);
      assert.ok(res.status === 200 || res.status === 202, `${f.source}: ${res.status} ${JSON.stringify(res.body)}`);
      const body = await settled(f.message.item_hash);
      assert.equal(body.status, 'processed', `${f.source}: ${JSON.stringify(body).slice(0, 300)}`);
    }
  });

  it('refuses a chain no node verifies (STT), naming it', async () => {
    const account = SolanaAccount.generate();
    const message = { ...buildInlineMessage(account, 'POST', { type: 'test', content: {} }), chain: 'STT' };
    const res = await submit(message);
    assert.equal(res.status, 422, JSON.stringify(res.body));
    assert.match(JSON.stringify(res.body), /STT/);
  });
});
