import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { KeyFileError } from '@aleph-nodes/service';
import { loadOrCreateP2pIdentity, P2pIdentityError, p2pKeyPath } from './identity.ts';

describe('P2P identity file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'p2p-identity-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates an Ed25519 key of mode 0600 and gives the same peer id on every load', async () => {
    const first = await loadOrCreateP2pIdentity(dir);
    assert.equal(first.created, true);
    assert.equal(first.privateKey.type, 'Ed25519');
    assert.match(first.peerId, /^12D3KooW/);
    assert.equal(statSync(p2pKeyPath(dir)).mode & 0o777, 0o600);
    const again = await loadOrCreateP2pIdentity(dir);
    assert.equal(again.created, false);
    assert.equal(again.peerId, first.peerId);
    assert.equal(again.readableByOthers, false);
  });

  it('reads a key another libp2p tool wrote (protobuf), and flags a file others can read', async () => {
    const key = await generateKeyPair('Ed25519');
    writeFileSync(p2pKeyPath(dir), privateKeyToProtobuf(key), { mode: 0o644 });
    const id = await loadOrCreateP2pIdentity(dir);
    assert.equal(id.created, false);
    assert.ok(id.privateKey.equals(key));
    assert.equal(id.readableByOthers, true);
  });

  for (const [name, bytes] of [
    ['empty', new Uint8Array(0)],
    ['not protobuf', new TextEncoder().encode('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80\n')],
    ['far too large', new Uint8Array(64 * 1024).fill(8)],
  ] as const) {
    it(`refuses a corrupt file (${name}) and leaves it as it was`, async () => {
      writeFileSync(p2pKeyPath(dir), bytes, { mode: 0o600 });
      await assert.rejects(loadOrCreateP2pIdentity(dir), (err: Error) => {
        assert.ok(err instanceof P2pIdentityError);
        assert.ok(err instanceof KeyFileError, 'ccn start maps key file errors to exit 2');
        assert.match(err.message, /p2p\.key/);
        return true;
      });
      assert.deepEqual(new Uint8Array(readFileSync(p2pKeyPath(dir))), bytes);
    });
  }

  it('refuses a key whose public half does not match its private half', async () => {
    const pb = privateKeyToProtobuf(await generateKeyPair('Ed25519'));
    // Ed25519 protobuf: 4 header bytes, then 32 bytes of seed and 32 of public key; flip a public byte.
    const broken = new Uint8Array(pb);
    broken[broken.length - 1] = (broken[broken.length - 1] ?? 0) ^ 0xff;
    writeFileSync(p2pKeyPath(dir), broken, { mode: 0o600 });
    await assert.rejects(loadOrCreateP2pIdentity(dir), (err: Error) => err instanceof P2pIdentityError && /does not match/.test(err.message));
  });

  it('says why it cannot read a file it may not open', async () => {
    const blocked = join(dir, 'not-a-dir');
    writeFileSync(blocked, 'x');
    await assert.rejects(loadOrCreateP2pIdentity(blocked), (err: Error) => err instanceof P2pIdentityError && /p2p\.key/.test(err.message));
  });
});
