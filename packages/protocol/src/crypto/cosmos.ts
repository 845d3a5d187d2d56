/**
 * Cosmos SDK (CSDK): secp256k1 over SHA-256 of the ADR-036-style amino sign document
 * (`signutil/MsgSignText`, chain_id `signed-message-v1`) that wraps the verification buffer,
 * serialized with sorted keys and no spaces (as pyaleph builds it). The signature field is JSON
 * `{"signature": base64 r‖s, "pub_key": {"type": "tendermint/PubKeySecp256k1", "value": base64}}`;
 * the sender is the bech32 RIPEMD-160(SHA-256(key)) address under the sender's own prefix.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { base64, bech32 } from '@scure/base';
import { hash160 } from './hash160.ts';
import { decodeOr, refuse, signatureObject, stringField, type SignableMessage } from './signable.ts';

/** The exact JSON text pyaleph signs: keys sorted, compact separators, non-ASCII escaped. */
export function cosmosSignDoc(m: Pick<SignableMessage, 'chain' | 'sender' | 'type' | 'item_hash'>): string {
  const doc = {
    account_number: '0',
    chain_id: 'signed-message-v1',
    fee: { amount: [], gas: '0' },
    memo: '',
    msgs: [{ type: 'signutil/MsgSignText', value: { message: `${m.chain}\n${m.sender}\n${m.type}\n${m.item_hash}`, signer: m.sender } }],
    sequence: '0',
  };
  return JSON.stringify(doc).replace(/[\u007f-\uffff]/g, (c) => (c === '\u007f' ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

export function cosmosAddress(hrp: string, publicKey: Uint8Array): string {
  return bech32.encode(hrp, bech32.toWords(hash160(publicKey)), 1000);
}

export function verifyCosmos(m: SignableMessage): void {
  const chain = m.chain;
  const obj = signatureObject(chain, m.signature);
  const pubKey = obj.pub_key;
  if (typeof pubKey !== 'object' || pubKey === null) refuse(chain, 'the signature object has no pub_key');
  const pk = pubKey as Record<string, unknown>;
  if (pk.type !== 'tendermint/PubKeySecp256k1') refuse(chain, `unsupported key type ${JSON.stringify(pk.type)}`);
  const publicKey = decodeOr(chain, 'the base64 pub_key value', () => base64.decode(stringField(chain, pk, 'value')));
  const sig = decodeOr(chain, 'the base64 signature', () => base64.decode(stringField(chain, obj, 'signature')));
  const sep = m.sender.indexOf('1');
  if (sep < 1) refuse(chain, 'the sender is not a bech32 address');
  if (publicKey.length !== 33 && publicKey.length !== 65) refuse(chain, 'the pub_key is not a secp256k1 point');
  const address = decodeOr(chain, 'the pub_key', () => cosmosAddress(m.sender.slice(0, sep), publicKey));
  if (address !== m.sender) refuse(chain, 'the pub_key is not the sender\'s');
  if (sig.length !== 64) refuse(chain, 'the signature is not 64 bytes');
  let ok = false;
  try {
    // python-ecdsa (pyaleph's verifier) does not require low S.
    ok = secp256k1.verify(sig, new TextEncoder().encode(cosmosSignDoc(m)), publicKey, { prehash: true, lowS: false });
  } catch {
    ok = false;
  }
  if (!ok) refuse(chain, 'the signature does not verify for the sender');
}
