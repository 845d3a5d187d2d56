/**
 * Signature verification per chain, against real signatures made by each chain's wallets and
 * SDKs (fixtures/*.json), and tampered variants of each refused.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { ProtocolError, type ProtocolErrorCode } from '../errors.ts';
import { validateMessage } from '../message.ts';
import { verifyMessageSignature, type SignableMessage } from './verify.ts';

interface Fixture {
  source: string;
  expect: 'verified' | 'refused';
  message: SignableMessage & { item_type: string; item_content?: string };
}

function load(name: string): Fixture[] {
  return (JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as { messages: Fixture[] }).messages;
}
const ALL = [...load('wallet-messages.json'), ...load('sdk-messages.json')];
const VERIFIED = ALL.filter((f) => f.expect === 'verified');

function refusedWith(m: SignableMessage, code: ProtocolErrorCode = 'INVALID_SIGNATURE'): string {
  try {
    verifyMessageSignature(m);
  } catch (err) {
    assert.ok(err instanceof ProtocolError, `not a ProtocolError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err.message;
  }
  assert.fail(`accepted: ${JSON.stringify(m).slice(0, 200)}`);
}

/** Changes one character in the middle of the signature's own text (inside the JSON when there is one). */
function flipSignatureChar(m: SignableMessage): string {
  let inner: Record<string, unknown> | undefined;
  try {
    inner = JSON.parse(m.signature) as Record<string, unknown>;
  } catch {
    inner = undefined;
  }
  const flip = (s: string): string => {
    const i = Math.floor(s.length / 2);
    const c = s[i] === 'A' ? 'B' : 'A';
    return s.slice(0, i) + c + s.slice(i + 1);
  };
  if (!inner) return flip(m.signature);
  const key = typeof inner.signature === 'string' ? 'signature' : 'data';
  return JSON.stringify({ ...inner, [key]: flip(String(inner[key])) });
}

describe('real wallet and SDK signatures', () => {
  test('cover every chain pyaleph verifies with a scheme of its own', () => {
    const chains = new Set(VERIFIED.map((f) => f.message.chain));
    for (const chain of ['SOL', 'TEZOS', 'DOT', 'CSDK', 'AVAX', 'NULS', 'NULS2', 'ETH']) assert.ok(chains.has(chain), chain);
  });

  for (const f of VERIFIED) {
    test(`verifies: ${f.message.chain} ${f.source}`, () => {
      verifyMessageSignature(f.message);
      if (f.message.item_type === 'inline') validateMessage(f.message, { now: f.message.time + 60 });
    });

    test(`refuses tampered: ${f.message.chain} ${f.source}`, () => {
      const m = f.message;
      const otherHash = `${m.item_hash.slice(0, -1)}${m.item_hash.endsWith('0') ? '1' : '0'}`;
      refusedWith({ ...m, item_hash: otherHash });
      refusedWith({ ...m, type: m.type === 'POST' ? 'AGGREGATE' : 'POST' });
      const flipped = flipSignatureChar(m);
      assert.throws(() => verifyMessageSignature({ ...m, signature: flipped }), ProtocolError);
      assert.throws(() => verifyMessageSignature({ ...m, sender: `${m.sender.slice(0, -1)}${m.sender.endsWith('A') ? 'B' : 'A'}` }), ProtocolError);
    });
  }

  test('a Tezos micheline signature depends on the message time and the dApp URL', () => {
    const f = VERIFIED.find((x) => x.message.signature.includes('micheline'));
    assert.ok(f);
    refusedWith({ ...f.message, time: f.message.time + 1 });
    const sig = JSON.parse(f.message.signature) as Record<string, unknown>;
    refusedWith({ ...f.message, signature: JSON.stringify({ ...sig, dAppUrl: 'evil.example' }) });
    refusedWith({ ...f.message, signature: JSON.stringify({ ...sig, signingType: 'raw' }) });
    refusedWith({ ...f.message, signature: JSON.stringify({ ...sig, signingType: 'other' }) });
  });

  test('the Python SDK\'s DOT signature (hex without 0x) is refused, as pyaleph does; with 0x it verifies', () => {
    const f = ALL.find((x) => x.message.chain === 'DOT' && x.expect === 'refused');
    assert.ok(f);
    assert.match(refusedWith(f.message), /DOT/);
    const sig = JSON.parse(f.message.signature) as { curve: string; data: string };
    verifyMessageSignature({ ...f.message, signature: JSON.stringify({ ...sig, data: `0x${sig.data}` }) });
  });

  test('a Solana signature of version 2 or under another chain is refused', () => {
    const f = VERIFIED.find((x) => x.message.chain === 'SOL');
    assert.ok(f);
    const sig = JSON.parse(f.message.signature) as Record<string, unknown>;
    refusedWith({ ...f.message, signature: JSON.stringify({ ...sig, version: 2 }) });
    // Eclipse uses the Solana scheme, but the chain is in the signed buffer.
    refusedWith({ ...f.message, chain: 'ES' });
  });

  test('an EVM-signed AVAX message (0x sender) is verified as EVM; NEO too', () => {
    const eth = VERIFIED.find((x) => x.message.chain === 'ETH');
    assert.ok(eth);
    // The chain is signed: the ETH signature does not hold for AVAX/NEO, and the refusal is a signature one.
    refusedWith({ ...eth.message, chain: 'AVAX' });
    refusedWith({ ...eth.message, chain: 'NEO' });
  });

  test('STT is refused as a chain no node verifies, naming it', () => {
    const eth = VERIFIED.find((x) => x.message.chain === 'ETH');
    assert.ok(eth);
    assert.match(refusedWith({ ...eth.message, chain: 'STT' }, 'UNSUPPORTED_CHAIN'), /STT/);
  });
});
