/**
 * The node's libp2p identity: a private key kept in `<dataDir>/p2p.key` (protobuf, as libp2p
 * encodes keys; mode 0600), created on first start. Other CCNs know this node by the peer id
 * derived from it (bootstrap lists, the registry's `multiaddress`, the ALIVE allowlist), so the
 * file is never replaced silently: an unreadable or corrupt file stops the start with an error
 * that names it, and the operator decides (restore it, or move it away to get a new identity).
 */
import './es2024.ts';
import { chmodSync, closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { KeyFileError } from '@aleph-nodes/service';

export const P2P_KEY_FILE = 'p2p.key';
/** A protobuf private key is ~68 bytes (Ed25519) to ~1.2 KiB (RSA 2048); anything far larger is not one. */
const MAX_KEY_FILE_BYTES = 16 * 1024;

/** A KeyFileError, so that `ccn start` treats it as a configuration problem (exit 2). */
export class P2pIdentityError extends KeyFileError {}

export interface P2pIdentity {
  privateKey: PrivateKey;
  peerId: string;
  path: string;
  /** True when this start created the key (a new peer id). */
  created: boolean;
  /** True when group or others may read the file: worth a warning, not a refusal. */
  readableByOthers: boolean;
}

export function p2pKeyPath(dataDir: string): string {
  return join(dataDir, P2P_KEY_FILE);
}

async function decode(path: string, bytes: Uint8Array): Promise<PrivateKey> {
  const hint = `move it away to create a new identity (the peer id other nodes know will change), or restore it`;
  if (bytes.length === 0 || bytes.length > MAX_KEY_FILE_BYTES) throw new P2pIdentityError(`P2P key file ${path} is not a libp2p private key (${bytes.length} bytes); ${hint}`);
  let key: PrivateKey;
  try {
    key = privateKeyFromProtobuf(bytes);
  } catch (err) {
    throw new P2pIdentityError(`P2P key file ${path} is not a libp2p private key (${(err as Error).message}); ${hint}`);
  }
  // A parseable key whose halves disagree (bit rot in the public part of an Ed25519 key) would
  // sign what nobody can verify: prove the pair works before the network sees it.
  const probe = new TextEncoder().encode('aleph-nodes p2p.key self-check');
  let ok = false;
  try {
    ok = (await key.publicKey.verify(probe, await key.sign(probe))) === true;
  } catch {
    ok = false;
  }
  if (!ok) throw new P2pIdentityError(`P2P key file ${path} holds a private key that does not match its public key; ${hint}`);
  return key;
}

/** Writes the key atomically (temporary file, fsync, rename, fsync of the directory). */
function writeKey(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dirFd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/** Loads `<dataDir>/p2p.key`, creating an Ed25519 key when the file does not exist. */
export async function loadOrCreateP2pIdentity(dataDir: string): Promise<P2pIdentity> {
  const path = p2pKeyPath(dataDir);
  let bytes: Uint8Array | undefined;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new P2pIdentityError(`cannot read P2P key file ${path}: ${(err as Error).message}`);
  }
  if (bytes) {
    const privateKey = await decode(path, bytes);
    const mode = statSync(path).mode;
    return { privateKey, peerId: peerIdFromPrivateKey(privateKey).toString(), path, created: false, readableByOthers: (mode & 0o077) !== 0 };
  }
  const privateKey = await generateKeyPair('Ed25519');
  try {
    writeKey(path, privateKeyToProtobuf(privateKey));
  } catch (err) {
    throw new P2pIdentityError(`cannot write P2P key file ${path}: ${(err as Error).message}`);
  }
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey).toString(), path, created: true, readableByOthers: false };
}
