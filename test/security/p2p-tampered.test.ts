/**
 * Attack: a hostile libp2p peer joins the message
 * topic of a real CCN (two `ccn` processes peering A↔B) and gossips what no client could submit:
 * a message whose content was changed after signing, a message signed by someone else, an
 * oversized message, bytes that are not JSON, garbage without end, and a flood of messages.
 *
 * Defeated when: nothing it sent that is invalid is stored on either CCN (messages API, message
 * counts by status), every verdict is counted per peer, its gossipsub score drops, a peer that
 * keeps it up is graylisted, disconnected and refused, a flood beyond the peer's budget is
 * dropped and cut off, and the honest CCNs keep replicating. A CCN that stored what peers gossip
 * without validating it (or that trusted the `content` field they send) fails every check.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuthenticatedAlephHttpClient } from '@aleph-sdk/client';
import { importAccountFromPrivateKey } from '@aleph-sdk/ethereum';
import { buildInlineMessage, EthAccount, type AlephMessage } from '@aleph-nodes/protocol';
import { encodeWireMessage } from '../../packages/ccn/src/p2p/wire.ts';
import type { CcnSettings } from '../ccn/helpers/ccn-process.ts';
import { eventually } from '../helpers/eventually.ts';
import { meshed, peersOf, startNetwork, type NetNode, type PeerView } from '../ccn-network/helpers/p2p.ts';
import { startHostilePeer, type HostilePeer } from './helpers/hostile-peer.ts';

const TOPIC = 'ALEPH-TEST';
/** The public Hardhat/Anvil test key #2: never used for anything of value. */
const HONEST_KEY = '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3d1d2d1a2a7da3c4';
const enc = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));

interface Counts {
  [status: string]: number;
}

describe('a hostile libp2p peer gossiping to the CCN network', () => {
  let net: NetNode[];
  const hostile: HostilePeer[] = [];
  const a = (): NetNode['ccn'] => (net[0] as NetNode).ccn;
  const b = (): NetNode['ccn'] => (net[1] as NetNode).ccn;
  const dump = async (): Promise<unknown> => Promise.all(net.map((n) => peersOf(n.ccn).catch((e: Error) => e.message)));
  /** The victim whose messages the attacker tampers with (it never submits anything itself). */
  const victim = EthAccount.generate();
  const forgedHashes: string[] = [];

  const viewOf = async (peerId: string): Promise<PeerView | undefined> => (await peersOf(a())).peers.find((p) => p.peer_id === peerId);
  const stored = async (ccn: { url: string }, hash: string): Promise<boolean> => (await fetch(`${ccn.url}/api/v0/messages/${hash}`)).status !== 404;
  const counts = async (ccn: { url: string }): Promise<Counts> => (await (await fetch(`${ccn.url}/metrics.json`)).json()) as Counts;
  const messagesFrom = async (ccn: { url: string }, address: string): Promise<number> =>
    ((await (await fetch(`${ccn.url}/api/v0/messages.json?addresses=${address}&pagination=500`)).json()) as { messages: unknown[] }).messages.length;

  /** A hostile peer connected to A, on the topic, and seen there by A. */
  const attacker = async (): Promise<HostilePeer> => {
    const h = await startHostilePeer();
    hostile.push(h);
    const target = await peersOf(a());
    await h.join(target.announce.p2p, TOPIC);
    await eventually('A and the attacker see each other on the topic', 30_000, async () => {
      const subscribed = (await peersOf(a())).subscribers.includes(h.peerId);
      return subscribed && h.node.services.pubsub.getSubscribers(TOPIC).some((p) => p.toString() === target.peer_id);
    });
    return h;
  };

  before(async () => {
    // A small budget on A, so that the flood test needs hundreds of messages, not millions.
    net = await startNetwork([[1], [0]], (i): CcnSettings => (i === 0 ? { p2pRateLimitBurst: 20, p2pRateLimitPerSecond: 5 } : {}));
    await eventually('A↔B meshed', 60_000, () => meshed(a(), b()), dump);
  });
  after(async () => {
    await Promise.all(hostile.map((h) => h.stop()));
    await Promise.all((net ?? []).map((n) => n.ccn.stop()));
  });

  it('rejects a message changed after signing and one signed by someone else, counts both, lowers the sender\'s score, stores neither', async () => {
    const h = await attacker();
    const genuine = buildInlineMessage(victim, 'POST', { type: 'transfer', content: { to: '0xaaaa', amount: 1 } });
    const tampered: AlephMessage = { ...genuine, item_content: (genuine.item_content as string).replace('"amount":1', '"amount":1000000') };
    const forger = EthAccount.generate();
    const otherSigned = buildInlineMessage(forger, 'POST', { type: 'transfer', content: { to: '0xbbbb', amount: 2 } }, { address: victim.address });
    const wrongSigner: AlephMessage = { ...otherSigned, sender: victim.address };
    forgedHashes.push(genuine.item_hash, wrongSigner.item_hash);
    // Sent as a peer would: pyaleph's wire format, with a `content` field that lies as well.
    const tamperedWire = { ...JSON.parse(new TextDecoder().decode(encodeWireMessage(genuine, 262_144))), item_content: tampered.item_content, content: { amount: 1000000 } };
    await h.publish(TOPIC, enc(tamperedWire));
    await h.publish(TOPIC, encodeWireMessage(wrongSigner, 262_144) as Uint8Array);
    const view = await eventually('both verdicts counted on A', 30_000, async () => {
      const v = await viewOf(h.peerId);
      return v?.verdicts && v.verdicts.reject >= 2 ? v : undefined;
    }, dump);
    assert.equal(view.verdicts?.reasons[`${TOPIC}:ITEM_HASH_MISMATCH`], 1);
    assert.equal(view.verdicts?.reasons[`${TOPIC}:INVALID_SIGNATURE`], 1);
    assert.equal(view.verdicts?.accept, 0);
    // gossipsub refreshes a peer's score once per heartbeat (1 s).
    await eventually('its score drops', 30_000, async () => ((await viewOf(h.peerId))?.score ?? 0) < 0);
    for (const ccn of [a(), b()]) for (const hash of forgedHashes) assert.equal(await stored(ccn, hash), false, `${hash} on ${ccn.url}`);
  });

  it('graylists, disconnects and refuses a peer that keeps sending oversized and non-JSON garbage', async () => {
    const h = await attacker();
    const target = (await peersOf(a())).peer_id;
    const oversized = enc({ ...buildInlineMessage(victim, 'POST', { type: 'big', content: {} }), padding: 'x'.repeat(300_000) });
    await h.publish(TOPIC, oversized);
    await h.publish(TOPIC, new TextEncoder().encode('this is not json {{{'));
    let sent = 2;
    await eventually('A bans the attacker', 60_000, async () => {
      if ((await peersOf(a())).banned.some((x) => x.peer_id === h.peerId)) return true;
      await h.publish(TOPIC, new TextEncoder().encode(`garbage ${sent++}`)).catch(() => 0);
      return undefined;
    }, dump);
    await eventually('the attacker is disconnected', 30_000, async () => !h.connectedTo(target));
    const view = await viewOf(h.peerId);
    assert.ok(view?.verdicts);
    assert.equal(view.verdicts.reasons[`${TOPIC}:too-large`], 1);
    assert.ok((view.verdicts.reasons[`${TOPIC}:not-json`] ?? 0) >= 1);
    assert.equal(view.verdicts.accept, 0);
    assert.ok(view.banned && !view.connected);
    assert.ok((view.score ?? 0) < -80, `score ${view.score} is below the graylist threshold`);
    // Refused when it comes back: the connection is closed as soon as A learns who dials.
    await h.join((await peersOf(a())).announce.p2p, TOPIC).catch(() => undefined);
    await eventually('the returning attacker is cut off', 30_000, async () => !h.connectedTo(target));
    assert.ok(!(await peersOf(a())).connected.some((p) => p.peer_id === h.peerId));
  });

  it('drops a flood beyond the peer\'s budget and cuts the flooder off', async () => {
    const h = await attacker();
    const spammer = EthAccount.generate();
    const flood = Array.from({ length: 400 }, (_, i) => buildInlineMessage(spammer, 'POST', { type: 'spam', content: { i } }));
    for (const m of flood) await h.publish(TOPIC, encodeWireMessage(m, 262_144) as Uint8Array).catch(() => 0);
    await eventually('A bans the flooder', 60_000, async () => (await peersOf(a())).banned.some((x) => x.peer_id === h.peerId), dump);
    const view = await viewOf(h.peerId);
    assert.ok(view?.verdicts);
    assert.ok((view.verdicts.reasons[`${TOPIC}:rate-limited`] ?? 0) > 0);
    assert.ok(view.app_penalty > 0);
    // What passed the budget is valid (it is the spammer's own signed posts); the rest was dropped.
    const kept = await messagesFrom(a(), spammer.address);
    assert.equal(kept, view.verdicts.accept);
    assert.ok(kept < flood.length, `${kept} of ${flood.length} stored`);
  });

  it('leaves the honest CCNs replicating, with nothing of the attacks stored on either', async () => {
    for (const [from, to] of [
      [b(), a()],
      [a(), b()],
    ] as const) {
      const client = new AuthenticatedAlephHttpClient(importAccountFromPrivateKey(HONEST_KEY), from.url);
      const post = await client.createPost({ postType: 'after-attack', content: { from: from.url }, channel: 'TEST' });
      await eventually('honest message replicated', 60_000, async () => {
        const res = await fetch(`${to.url}/api/v0/messages/${post.item_hash}`);
        return res.status === 200 && ((await res.json()) as { status: string }).status === 'processed';
      }, dump);
    }
    const bId = (await peersOf(b())).peer_id;
    const honest = await viewOf(bId);
    assert.ok(honest?.connected && !honest.banned, 'B is still a peer of A in good standing');
    assert.equal(honest.verdicts?.reject ?? 0, 0);
    for (const ccn of [a(), b()]) {
      for (const hash of forgedHashes) assert.equal(await stored(ccn, hash), false);
      assert.equal(await messagesFrom(ccn, victim.address), 0, 'nothing under the victim\'s name');
      assert.equal((await counts(ccn)).pyaleph_status_sync_rejected_messages_total, 0, 'no invalid message reached the store');
    }
    // B never saw the attacks: A rejected them instead of relaying them.
    const bTotals = (await peersOf(b())).verdicts[TOPIC];
    assert.equal(bTotals?.reject ?? 0, 0);
  });
});
