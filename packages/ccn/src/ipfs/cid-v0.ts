/**
 * CIDv0 of a file as `ipfs add` computes it by default (UnixFS, dag-pb, 256 KiB chunks,
 * balanced layout with at most 174 links per node, sha2-256). This node has no IPFS daemon:
 * computing the CID itself lets the SDK's default `ipfs` storage engine work against it, and
 * the bytes are then served by CID like any stored file.
 */
import { createHash } from 'node:crypto';

const CHUNK_SIZE = 262_144;
const MAX_LINKS = 174;
const UNIXFS_FILE = 2;
const BASE58_ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}

/** One protobuf field: key (field number, wire type) then value. */
function field(num: number, value: number | Uint8Array): Buffer {
  if (typeof value === 'number') return Buffer.concat([varint(num << 3), varint(value)]);
  return Buffer.concat([varint((num << 3) | 2), varint(value.length), value]);
}

function unixfsData(data: Uint8Array | undefined, fileSize: number, blockSizes: readonly number[]): Buffer {
  const parts = [field(1, UNIXFS_FILE)];
  if (data && data.length > 0) parts.push(field(2, data));
  parts.push(field(3, fileSize));
  for (const size of blockSizes) parts.push(field(4, size));
  return Buffer.concat(parts);
}

interface DagNode {
  multihash: Uint8Array;
  /** Serialized size of this block plus all the blocks below it (the link's Tsize). */
  cumulativeSize: number;
  fileSize: number;
}

function multihashOf(block: Uint8Array): Uint8Array {
  return Buffer.concat([Buffer.from([0x12, 0x20]), createHash('sha256').update(block).digest()]);
}

/** A leaf block over `pieces` (one chunk of the file), hashed piece by piece without joining them. */
function leaf(pieces: readonly Uint8Array[]): DagNode {
  const length = pieces.reduce((a, p) => a + p.length, 0);
  // PBNode with Data only (field 1), Data being the UnixFS message of unixfsData(): the chunk's
  // bytes sit between a prefix and a suffix that depend only on its length.
  const type = field(1, UNIXFS_FILE);
  const dataHead = length > 0 ? Buffer.concat([varint((2 << 3) | 2), varint(length)]) : Buffer.alloc(0);
  const suffix = field(3, length);
  const innerLength = type.length + dataHead.length + length + suffix.length;
  const prefix = Buffer.concat([varint((1 << 3) | 2), varint(innerLength), type, dataHead]);
  const hash = createHash('sha256').update(prefix);
  for (const piece of pieces) hash.update(piece);
  hash.update(suffix);
  const multihash = Buffer.concat([Buffer.from([0x12, 0x20]), hash.digest()]);
  return { multihash, cumulativeSize: prefix.length + length + suffix.length, fileSize: length };
}

function parent(children: readonly DagNode[]): DagNode {
  const fileSize = children.reduce((a, c) => a + c.fileSize, 0);
  // dag-pb canonical form: Links (field 2) first, then Data (field 1).
  const parts: Buffer[] = [];
  for (const child of children) {
    // Links carry an explicit empty Name, as go-ipfs writes them.
    const link = Buffer.concat([field(1, child.multihash), field(2, new Uint8Array(0)), field(3, child.cumulativeSize)]);
    parts.push(field(2, link));
  }
  parts.push(field(1, unixfsData(undefined, fileSize, children.map((c) => c.fileSize))));
  const block = Buffer.concat(parts);
  return { multihash: multihashOf(block), cumulativeSize: block.length + children.reduce((a, c) => a + c.cumulativeSize, 0), fileSize };
}

export function base58btc(bytes: Uint8Array): string {
  let n = 0n;
  for (const b of bytes) n = n * 256n + BigInt(b);
  let out = '';
  while (n > 0n) {
    out = (BASE58_ALPHABET[Number(n % 58n)] as string) + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = `1${out}`;
  }
  return out;
}

export function cidV0(file: Uint8Array): string {
  return new CidV0Hasher().update(file).digest();
}

/**
 * The same CID computed over a stream (files fetched from peers are checked while they arrive):
 * only the current chunk and one small node per chunk are held in memory.
 */
export class CidV0Hasher {
  readonly #leaves: DagNode[] = [];
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  update(data: Uint8Array): this {
    let rest = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    while (this.#pendingBytes + rest.length >= CHUNK_SIZE) {
      const take = CHUNK_SIZE - this.#pendingBytes;
      this.#pending.push(rest.subarray(0, take));
      this.#leaves.push(leaf(this.#pending));
      this.#pending = [];
      this.#pendingBytes = 0;
      rest = rest.subarray(take);
    }
    if (rest.length > 0) {
      // Copied: the caller may reuse its buffer.
      this.#pending.push(Buffer.from(rest));
      this.#pendingBytes += rest.length;
    }
    return this;
  }

  digest(): string {
    let level = [...this.#leaves];
    if (this.#pendingBytes > 0 || level.length === 0) level.push(leaf(this.#pending));
    while (level.length > 1) {
      const next: DagNode[] = [];
      for (let i = 0; i < level.length; i += MAX_LINKS) next.push(parent(level.slice(i, i + MAX_LINKS)));
      level = next;
    }
    return base58btc((level[0] as DagNode).multihash);
  }
}
