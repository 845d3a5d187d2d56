/**
 * What every chain verifier reads from a message, and the one way they refuse: a ProtocolError
 * INVALID_SIGNATURE whose message names the chain and the reason.
 */
import { ProtocolError } from '../errors.ts';

export interface SignableMessage {
  chain: string;
  sender: string;
  type: string;
  item_hash: string;
  signature: string;
  /** Unix seconds; only Tezos' micheline wrapping signs it. */
  time: number;
}

/** `chain\nsender\ntype\nitem_hash`, UTF-8: the bytes every chain signs (pyaleph get_verification_buffer). */
export function verificationBytes(m: Pick<SignableMessage, 'chain' | 'sender' | 'type' | 'item_hash'>): Uint8Array {
  return new TextEncoder().encode(`${m.chain}\n${m.sender}\n${m.type}\n${m.item_hash}`);
}

export function refuse(chain: string, reason: string): never {
  throw new ProtocolError('INVALID_SIGNATURE', `${chain} signature refused: ${reason}`);
}

/** Parses a signature field that carries a JSON object; anything else is refused. */
export function signatureObject(chain: string, signature: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(signature);
  } catch {
    return refuse(chain, 'the signature field is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) refuse(chain, 'the signature field is not a JSON object');
  return parsed as Record<string, unknown>;
}

export function stringField(chain: string, obj: Record<string, unknown>, key: string): string {
  const v = obj[key];
  if (typeof v !== 'string') refuse(chain, `the signature object has no string "${key}"`);
  return v;
}

/** Runs a decoder, turning any throw into a refusal: decoders of hostile input must not escape. */
export function decodeOr<T>(chain: string, what: string, decode: () => T): T {
  try {
    return decode();
  } catch {
    return refuse(chain, `${what} is not valid`);
  }
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
