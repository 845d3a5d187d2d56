import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { buildInlineMessage, EthAccount, type AlephMessage } from '@aleph-nodes/protocol';
import { silentLogger } from '@aleph-nodes/service';
import { ccnConfig } from '../config.ts';
import type { GossipMessage } from '../network/gossip.ts';
import { MessageProcessor } from '../processing/processor.ts';
import { openTestStores, type TestStores } from '../testing/engines.ts';
import { DedupeCache } from './dedupe.ts';
import { MessageIntake, RATE_LIMIT_PENALTY } from './intake.ts';
import { DecayingPenalties, PeerRateLimiter } from './rate-limit.ts';
import { VerdictCounters } from './verdicts.ts';
import { encodeWireMessage } from './wire.ts';

const TOPIC = 'ALEPH-TEST';
const enc = (m: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(m));
const wire = (m: AlephMessage): Uint8Array => encodeWireMessage(m, 262_144) as Uint8Array;
const gossip = (data: Uint8Array, from = 'peer-a'): GossipMessage => ({ topic: TOPIC, data, from });

describe('gossip intake (the verdict on each message a peer relays)', () => {
  let test: TestStores;
  let processor: MessageProcessor;
  let counters: VerdictCounters;
  let penalties: DecayingPenalties;
  let intake: MessageIntake;
  const account = EthAccount.generate();

  const setUp = async (limits: { burst: number; ratePerSecond: number } = { burst: 1000, ratePerSecond: 1000 }): Promise<void> => {
    test = await openTestStores('sqlite');
    processor = new MessageProcessor(test.stores, ccnConfig({ dataDir: test.dataDir }), silentLogger());
    counters = new VerdictCounters();
    penalties = new DecayingPenalties({ halfLifeSeconds: 60 });
    intake = new MessageIntake({
      processor,
      topic: TOPIC,
      maxBytes: 4096,
      dedupe: new DedupeCache(100),
      limiter: new PeerRateLimiter(limits),
      penalties,
      counters,
      log: silentLogger(),
    });
  };
  beforeEach(() => setUp());
  afterEach(async () => {
    intake.dispose();
    await processor.stop();
    await test.dispose();
  });

  const stored = async (hash: string): Promise<boolean> => (await test.stores.messages.get(hash)) !== undefined;

  it('accepts a new valid message (stored pending), then ignores its copies', async () => {
    const m = buildInlineMessage(account, 'POST', { type: 'test', content: { n: 1 } }, { channel: 'TEST' });
    assert.equal(await intake.handle(gossip(wire(m))), 'accept');
    assert.ok(await stored(m.item_hash));
    assert.equal((await test.stores.messages.get(m.item_hash))?.status, 'pending');
    // The same message in another serialization (a different gossip id): a duplicate by its triple.
    assert.equal(await intake.handle(gossip(enc(m), 'peer-b')), 'ignore');
    assert.deepEqual(counters.forPeer('peer-a')?.reasons, { [`${TOPIC}:new`]: 1 });
    assert.deepEqual(counters.forPeer('peer-b')?.reasons, { [`${TOPIC}:duplicate`]: 1 });
  });

  it('ignores a valid message this node already holds (from a client or anti-entropy)', async () => {
    const m = buildInlineMessage(account, 'POST', { type: 'test', content: { n: 2 } });
    await processor.submit(m, 'api');
    assert.equal(await intake.handle(gossip(wire(m))), 'ignore');
    assert.equal(counters.forPeer('peer-a')?.reasons[`${TOPIC}:known`], 1);
  });

  it('rejects tampered, unsigned, oversized and non-JSON messages, and stores none of them', async () => {
    const m = buildInlineMessage(account, 'POST', { type: 'test', content: { n: 3 } });
    const tampered = { ...m, item_content: (m.item_content as string).replace('"n":3', '"n":4') };
    const badSig = { ...m, signature: `0x${'11'.repeat(65)}` };
    const otherSender = { ...m, sender: EthAccount.generate().address };
    const verdicts = [
      await intake.handle(gossip(enc(tampered))),
      await intake.handle(gossip(enc(badSig))),
      await intake.handle(gossip(enc(otherSender))),
      await intake.handle(gossip(new Uint8Array(5000).fill(0x20))),
      await intake.handle(gossip(new TextEncoder().encode('not json at all'))),
      await intake.handle(gossip(enc({ hello: 'world' }))),
    ];
    assert.deepEqual(verdicts, ['reject', 'reject', 'reject', 'reject', 'reject', 'reject']);
    assert.equal(await stored(m.item_hash), false);
    const reasons = counters.forPeer('peer-a')?.reasons ?? {};
    for (const r of ['ITEM_HASH_MISMATCH', 'INVALID_SIGNATURE', 'too-large', 'not-json', 'INVALID_ENVELOPE']) assert.ok(reasons[`${TOPIC}:${r}`], r);
    assert.equal(counters.totals()[TOPIC]?.reject, 6);
  });

  it('does not let a forged copy that reuses a genuine triple shadow the genuine message', async () => {
    const m = buildInlineMessage(account, 'POST', { type: 'test', content: { n: 5 } });
    const forged = { ...m, item_content: (m.item_content as string).replace('"n":5', '"n":6') };
    assert.equal(await intake.handle(gossip(enc(forged), 'attacker')), 'reject');
    assert.equal(await intake.handle(gossip(wire(m), 'honest')), 'accept');
    assert.ok(await stored(m.item_hash));
  });

  it('ignores what peers cannot be blamed for: a time ahead of our clock, a chain we do not verify', async () => {
    const future = buildInlineMessage(account, 'POST', { type: 'test', content: {} }, { time: Date.now() / 1000 + 86_400 });
    assert.equal(await intake.handle(gossip(wire(future))), 'ignore');
    const stt = { ...buildInlineMessage(account, 'POST', { type: 'test', content: { c: 1 } }), chain: 'STT' };
    assert.equal(await intake.handle(gossip(enc(stt))), 'ignore');
    assert.equal(counters.forPeer('peer-a')?.reject, 0);
  });

  it('ignores messages over a peer\'s budget and charges the peer for each', async () => {
    intake.dispose();
    await processor.stop();
    await test.dispose();
    await setUp({ burst: 3, ratePerSecond: 0.1 });
    const messages = Array.from({ length: 10 }, (_, i) => buildInlineMessage(account, 'POST', { type: 'flood', content: { i } }));
    const verdicts = [];
    for (const m of messages) verdicts.push(await intake.handle(gossip(wire(m), 'flooder')));
    assert.deepEqual(verdicts.slice(0, 3), ['accept', 'accept', 'accept']);
    assert.ok(verdicts.slice(3).every((v) => v === 'ignore'));
    assert.equal(counters.forPeer('flooder')?.reasons[`${TOPIC}:rate-limited`], 7);
    assert.ok(penalties.value('flooder') > 6 * RATE_LIMIT_PENALTY);
    for (const m of messages.slice(3)) assert.equal(await stored(m.item_hash), false);
    // Another peer's budget is its own.
    assert.equal(await intake.handle(gossip(wire(messages[9] as AlephMessage), 'other')), 'accept');
  });
});
