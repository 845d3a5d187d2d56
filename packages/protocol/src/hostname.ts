/**
 * Host routing for programs (crn-api.md §4): the first DNS label is the lowercase, unpadded
 * RFC 4648 base32 of the 32 raw bytes of the item hash (52 characters).
 */
import { base32nopad } from '@scure/base';
import { isSha256Hex } from './item-hash.ts';

export function hashToHostLabel(itemHash: string): string {
  if (!isSha256Hex(itemHash)) throw new TypeError('only SHA-256 item hashes have a host label');
  return base32nopad.encode(Buffer.from(itemHash, 'hex')).toLowerCase();
}

/** The item hash a host label stands for, or undefined when the label does not decode to 32 bytes. */
export function hostLabelToHash(label: string): string | undefined {
  // DNS names are case-insensitive: a client may send the Host header in any case.
  if (!/^[a-z2-7]{52}$/i.test(label)) return undefined;
  try {
    const bytes = base32nopad.decode(label.toUpperCase());
    return bytes.length === 32 ? Buffer.from(bytes).toString('hex') : undefined;
  } catch {
    return undefined;
  }
}

/** `<label>.<domain>` for a program. */
export function programHostname(itemHash: string, domain: string): string {
  return `${hashToHostLabel(itemHash)}.${domain}`;
}
