/** Heartbeat verification: every way a peer's heartbeat can be wrong is refused with its reason. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EthAccount, sha256Hex } from '@aleph-nodes/protocol';
import { HEARTBEAT_DOMAIN, HeartbeatError, MAX_HEARTBEAT_BYTES, signHeartbeat, verifyHeartbeat, type HeartbeatPayload, type VerifyContext } from './liveness-heartbeat.ts';

const owner = EthAccount.generate();
const manager = EthAccount.generate();
const stranger = EthAccount.generate();
const NODE = sha256Hex('ccn-node');
const OTHER = sha256Hex('other-node');
const NOW = 1_700_000_000;

const ctx = (over: Partial<VerifyContext> = {}): VerifyContext => ({
  nodes: [
    { hash: NODE, owner: owner.address, manager: manager.address },
    { hash: OTHER, owner: stranger.address, manager: stranger.address },
  ],
  now: NOW,
  maxClockSkewSeconds: 15,
  downAfterSeconds: 60,
  ...over,
});

const payload = (over: Partial<HeartbeatPayload> = {}): HeartbeatPayload => ({
  v: 1,
  node_hash: NODE,
  address: owner.address,
  time: NOW - 1,
  url: 'http://127.0.0.1:4024',
  schedules: true,
  crns: [{ hash: sha256Hex('crn'), health: 'healthy', capacity: null, workloads: [{ item_hash: sha256Hex('w'), decided_at: NOW - 100 }] }],
  unplaced: [],
  ...over,
});

function refused(input: unknown, code: string, c = ctx()): void {
  assert.throws(() => verifyHeartbeat(input, c), (err: unknown) => err instanceof HeartbeatError && err.code === code, `expected ${code}`);
}

describe('heartbeat verification', () => {
  it('accepts a heartbeat signed by the owner, or by the manager, as object, text or bytes', () => {
    const env = signHeartbeat(owner, payload());
    assert.equal(verifyHeartbeat(env, ctx()).payload.node_hash, NODE);
    assert.equal(verifyHeartbeat(JSON.stringify(env), ctx()).stale, false);
    assert.equal(verifyHeartbeat(new TextEncoder().encode(JSON.stringify(env)), ctx()).payload.time, NOW - 1);
    const byManager = signHeartbeat(manager, payload({ address: manager.address }));
    assert.equal(verifyHeartbeat(byManager, ctx()).payload.address, manager.address);
  });

  it('refuses a bad signature: tampered payload, another key than the address named, no domain prefix', () => {
    const env = signHeartbeat(owner, payload());
    refused({ ...env, payload: env.payload.replace('"schedules":true', '"schedules":false') }, 'bad_signature');
    refused({ ...env, signature: `0x${'11'.repeat(65)}` }, 'bad_signature');
    // Signed by a stranger but naming the owner's address.
    const forged = signHeartbeat(stranger, payload());
    refused(forged, 'bad_signature');
    // The same payload signed without the domain prefix (e.g. lifted from another signed object).
    refused({ payload: env.payload, signature: owner.signPersonal(env.payload) }, 'bad_signature');
    assert.ok(HEARTBEAT_DOMAIN.length > 0);
  });

  it('refuses a signer that is neither the owner nor the manager of the node it names', () => {
    refused(signHeartbeat(stranger, payload({ address: stranger.address })), 'wrong_signer');
    // The owner of another node speaking for this one.
    refused(signHeartbeat(owner, payload({ node_hash: OTHER })), 'wrong_signer');
  });

  it('refuses a node the registry does not know', () => {
    refused(signHeartbeat(owner, payload({ node_hash: sha256Hex('nobody') })), 'unknown_node');
  });

  it('refuses a heartbeat from the future beyond the skew, and a stale one unless asked for the last word', () => {
    refused(signHeartbeat(owner, payload({ time: NOW + 16 })), 'future');
    assert.equal(verifyHeartbeat(signHeartbeat(owner, payload({ time: NOW + 14 })), ctx()).stale, false);
    const old = signHeartbeat(owner, payload({ time: NOW - 61 }));
    refused(old, 'stale');
    assert.equal(verifyHeartbeat(old, ctx({ allowStale: true })).stale, true);
    // A stale one is still refused if it is forged.
    refused({ ...old, signature: signHeartbeat(stranger, payload({ time: NOW - 61 })).signature }, 'bad_signature', ctx({ allowStale: true }));
  });

  it('refuses malformed and oversized input before any signature work', () => {
    refused('not json', 'malformed');
    refused({ payload: '{}', signature: '0x00' }, 'malformed');
    refused({ payload: JSON.stringify({ ...payload(), extra: 1 }), signature: `0x${'11'.repeat(65)}` }, 'malformed');
    refused({ payload: JSON.stringify(payload({ node_hash: 'NOT-A-HASH' })), signature: `0x${'11'.repeat(65)}` }, 'malformed');
    refused({ payload: 'x'.repeat(MAX_HEARTBEAT_BYTES + 1), signature: `0x${'11'.repeat(65)}` }, 'malformed');
    refused(new Uint8Array(MAX_HEARTBEAT_BYTES + 2048), 'malformed');
    const tooMany = payload({ unplaced: Array.from({ length: 1501 }, (_, i) => sha256Hex(`u${i}`)) });
    refused({ payload: JSON.stringify(tooMany), signature: `0x${'11'.repeat(65)}` }, 'malformed');
    assert.throws(() => signHeartbeat(owner, payload({ url: 'javascript:alert(1)' })));
    // A placement dated after its heartbeat (to win contests with a decision "from the future").
    const future = payload({ crns: [{ hash: sha256Hex('crn'), health: 'healthy', capacity: null, workloads: [{ item_hash: sha256Hex('w'), decided_at: NOW + 1000 }] }] });
    refused(signHeartbeat(owner, future), 'malformed');
  });
});
