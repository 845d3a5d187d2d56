/**
 * item_hash shapes (aleph-protocol.md §2): the shape of a hash says where its bytes live.
 * 64 lowercase hex → storage; `Qm` + base58 (44–46 chars) or `bafy` + base32 (59 chars) → ipfs.
 */
import { ProtocolError } from './errors.ts';

export type ItemType = 'inline' | 'storage' | 'ipfs';
export type StoredItemType = Exclude<ItemType, 'inline'>;

const SHA256_HEX_RE = /^[0-9a-f]{64}$/;
const CID_V0_RE = /^Qm[1-9A-HJ-NP-Za-km-z]{42,44}$/;
const CID_V1_RE = /^bafy[a-z2-7]{55}$/;

/** Where a hash of this shape lives, or undefined when the shape is invalid. */
export function itemTypeOfHash(hash: string): StoredItemType | undefined {
  if (SHA256_HEX_RE.test(hash)) return 'storage';
  if (CID_V0_RE.test(hash) || CID_V1_RE.test(hash)) return 'ipfs';
  return undefined;
}

export function isItemHash(value: unknown): value is string {
  return typeof value === 'string' && itemTypeOfHash(value) !== undefined;
}

export function isSha256Hex(value: unknown): value is string {
  return typeof value === 'string' && SHA256_HEX_RE.test(value);
}

/** Throws INVALID_ITEM_HASH unless `hash` has a valid shape; returns its inferred type. */
export function assertItemHash(hash: string, what = 'item_hash'): StoredItemType {
  const type = itemTypeOfHash(hash);
  if (!type) throw new ProtocolError('INVALID_ITEM_HASH', `${what} is neither a lowercase SHA-256 hex digest nor an IPFS CID`);
  return type;
}
