/**
 * Avalanche native (X/P-chain) keys: the sender is `<chain>-<bech32 "avax" of
 * RIPEMD-160(SHA-256(compressed key))>`, the signature base58 of a recoverable secp256k1
 * signature r‖s‖recid followed by a 4-byte SHA-256 checksum, over SHA-256 of
 * `\x1aAvalanche Signed Message:\n` + big-endian u32 length + verification buffer.
 * (AVAX senders of the 0x form are verified as EVM, see verify.ts.)
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { base58, bech32 } from '@scure/base';
import { hash160 } from './hash160.ts';
import { bytesEqual, concatBytes, decodeOr, refuse, verificationBytes, type SignableMessage } from './signable.ts';

const PREFIX = new TextEncoder().encode('\x1aAvalanche Signed Message:\n');

export function avalancheSignedBytes(buffer: Uint8Array): Uint8Array {
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, buffer.length, false);
  return concatBytes(PREFIX, len, buffer);
}

export function avalancheAddress(chainId: string, compressedKey: Uint8Array): string {
  return `${chainId}-${bech32.encode('avax', bech32.toWords(hash160(compressedKey)), 1000)}`;
}

export function verifyAvalanche(m: SignableMessage): void {
  const chain = m.chain;
  const dash = m.sender.indexOf('-');
  if (dash < 0 || !m.sender.slice(dash + 1).includes('1')) refuse(chain, 'the sender is not an Avalanche <chain>-avax1… address');
  const raw = decodeOr(chain, 'the base58 signature', () => base58.decode(m.signature));
  if (raw.length < 4) refuse(chain, 'the signature is too short');
  const body = raw.subarray(0, raw.length - 4);
  if (!bytesEqual(sha256(body).subarray(28), raw.subarray(raw.length - 4))) refuse(chain, 'the signature checksum is wrong');
  if (body.length !== 65 || (body[64] as number) > 3) refuse(chain, 'the signature is not a 65-byte recoverable signature');
  const recovered = new Uint8Array(65);
  recovered[0] = body[64] as number;
  recovered.set(body.subarray(0, 64), 1);
  let key: Uint8Array;
  try {
    const point = secp256k1.recoverPublicKey(recovered, sha256(avalancheSignedBytes(verificationBytes(m))), { prehash: false });
    key = secp256k1.Point.fromBytes(point).toBytes(true);
  } catch {
    return refuse(chain, 'the signature does not recover a key');
  }
  if (avalancheAddress(m.sender.slice(0, dash), key) !== m.sender) refuse(chain, 'the signature does not verify for the sender');
}
