import './es2024.ts';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { silentLogger } from '@aleph-nodes/service';
import type { GossipMessage } from '../network/gossip.ts';
import { DuplicatePublishError, Libp2pGossip } from './libp2p-gossip.ts';

const until = async (check: () => boolean): Promise<void> => {
  while (!check()) await new Promise((r) => setTimeout(r, 50));
};

describe('Libp2pGossip (the Gossip interface on libp2p)', () => {
  let a: Libp2pGossip;
  let b: Libp2pGossip;
  const unscoredRejects: string[] = [];
  const received: GossipMessage[] = [];

  const start = async (): Promise<Libp2pGossip> =>
    Libp2pGossip.start({
      privateKey: await generateKeyPair('Ed25519'),
      host: '127.0.0.1',
      port: 0,
      dataIdTopics: ['MSG'],
      scoredTopics: ['MSG'],
      appPenalty: () => 0,
      onUnscoredReject: (peer) => unscoredRejects.push(peer),
      banSeconds: 60,
      userAgent: 'test',
      log: silentLogger(),
    });

  before(async () => {
    [a, b] = await Promise.all([start(), start()]);
    b.subscribe('MSG', (m) => {
      received.push(m);
      return 'accept';
    });
    // A topic subscribed after start (as liveness heartbeats are): allowed, not scored.
    b.subscribe('BEAT', (m) => {
      received.push(m);
      return 'reject';
    });
    a.subscribe('MSG', () => 'accept');
    a.subscribe('BEAT', () => 'accept');
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('publishes to nobody before it has peers, and reports the real listen port', async () => {
    assert.equal(await a.publish('MSG', new TextEncoder().encode('alone')), 0);
    assert.ok(a.listenPort() > 0);
    assert.match(a.listenAddresses()[0] ?? '', new RegExp(`/tcp/${a.listenPort()}/p2p/${a.peerId}$`));
  });

  it('delivers to a peer with the relay and the author, and refuses to publish the same bytes twice', async () => {
    assert.equal(await a.dial(b.listenAddresses()[0] ?? '', 5000), b.peerId);
    await until(() => a.subscribers('MSG').includes(b.peerId) && b.subscribers('MSG').includes(a.peerId));
    assert.deepEqual(a.connectedPeers(), [b.peerId]);
    const data = new TextEncoder().encode('hello');
    assert.equal(await a.publish('MSG', data), 1);
    await until(() => received.length > 0);
    assert.equal(received[0]?.from, a.peerId);
    assert.equal(received[0]?.author, a.peerId);
    await assert.rejects(a.publish('MSG', data), DuplicatePublishError);
  });

  it('lets repeated payloads through on other topics, and charges rejects there to the sender', async () => {
    const beat = new TextEncoder().encode('same heartbeat');
    assert.equal(await a.publish('BEAT', beat), 1);
    assert.equal(await a.publish('BEAT', beat), 1, 'an id of (author, seqno), not of the bytes');
    await until(() => unscoredRejects.length >= 2);
    assert.deepEqual(unscoredRejects.slice(0, 2), [a.peerId, a.peerId]);
    assert.ok((b.score(a.peerId) ?? 0) >= 0, 'gossipsub itself does not score BEAT');
  });
});
