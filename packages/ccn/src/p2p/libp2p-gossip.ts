/**
 * The `Gossip` of network/gossip.ts on js-libp2p: TCP, noise, yamux, identify and gossipsub
 * (StrictSign; message id = sha256 of the data, as pyaleph's P2P service, so a message has one id
 * whoever relays it). Handlers' verdicts become gossipsub validation results, hence peer scores
 * (score-params.ts); a peer whose score falls below the graylist threshold is disconnected and
 * refused for `banSeconds`.
 */
import './es2024.ts';
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { gossipsub, type GossipSub } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import type { Logger } from '@aleph-nodes/service';
import { createLibp2p } from 'libp2p';
import type { Gossip, GossipHandler, GossipVerdict } from '../network/gossip.ts';
import { peerScoreParams, SCORE_THRESHOLDS } from './score-params.ts';

export interface Libp2pGossipOptions {
  privateKey: PrivateKey;
  /** IP address to listen on. */
  host: string;
  /** 0 = any free port. */
  port: number;
  /** Topics whose message id is the sha256 of the data (the message topic). */
  dataIdTopics: readonly string[];
  /** Topics gossipsub scores (P1–P4); invalid messages elsewhere cost `unscoredRejectPenalty` through `appPenalty`. */
  scoredTopics: readonly string[];
  /** Application penalty of a peer (≥ 0), subtracted from its score. */
  appPenalty(peerId: string): number;
  /** Called when a handler rejects a message on a topic gossipsub does not score. */
  onUnscoredReject(peerId: string): void;
  banSeconds: number;
  maxBanned?: number;
  userAgent: string;
  log: Logger;
}

/** Thrown by `publish` when gossipsub already saw these exact bytes (published or received). */
export class DuplicatePublishError extends Error {
  override readonly name = 'DuplicatePublishError';
}

type Node = Libp2p<{ identify: unknown; pubsub: GossipSub }>;

/** gossipsub's score lookup is on its class, not on the interface it exports. */
interface Scored {
  getScore(peerId: string): number;
}

function listenAddress(host: string, port: number): string {
  if (isIPv4(host)) return `/ip4/${host}/tcp/${port}`;
  if (isIPv6(host)) return `/ip6/${host}/tcp/${port}`;
  throw new Error(`the P2P listen host must be an IP address, not ${JSON.stringify(host)}`);
}

const sha256 = (data: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(data).digest());

export class Libp2pGossip implements Gossip {
  readonly #node: Node;
  readonly #opts: Libp2pGossipOptions;
  readonly #banned: Map<string, number>;
  readonly #handlers = new Map<string, GossipHandler>();
  readonly #scored: ReadonlySet<string>;
  #stopped = false;

  private constructor(node: Node, opts: Libp2pGossipOptions, banned: Map<string, number>) {
    this.#node = node;
    this.#opts = opts;
    this.#banned = banned;
    this.#scored = new Set(opts.scoredTopics);
    node.services.pubsub.addEventListener('gossipsub:heartbeat', () => this.#enforceGraylist());
  }

  static async start(opts: Libp2pGossipOptions): Promise<Libp2pGossip> {
    const dataIds = new Set(opts.dataIdTopics);
    const banned = new Map<string, number>();
    const isBanned = (peerId: PeerId): boolean => {
      const until = banned.get(peerId.toString());
      if (until === undefined) return false;
      if (until > Date.now()) return true;
      banned.delete(peerId.toString());
      return false;
    };
    const listen = listenAddress(opts.host, opts.port);
    const node = (await createLibp2p({
      privateKey: opts.privateKey,
      nodeInfo: { userAgent: opts.userAgent },
      addresses: { listen: [listen] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: {
        denyDialPeer: isBanned,
        denyInboundEncryptedConnection: isBanned,
        denyOutboundEncryptedConnection: isBanned,
      },
      services: {
        identify: identify(),
        pubsub: gossipsub({
          globalSignaturePolicy: 'StrictSign',
          // Our topics are gossipsub only; floodsub peers would bypass the mesh and its scores.
          fallbackToFloodsub: false,
          emitSelf: false,
          // Messages: id = hash of the data (pyaleph's P2P service), so one message has one id
          // whoever relays it. Announcements and heartbeats legitimately repeat the same bytes:
          // their id is the signer and its sequence number (libp2p's default).
          msgIdFn: (msg) =>
            msg.type === 'signed' && !dataIds.has(msg.topic)
              ? sha256(Buffer.concat([msg.from.toMultihash().bytes, Buffer.from(msg.sequenceNumber.toString(16), 'utf8')]))
              : sha256(msg.data),
          // One RPC of a peer at a time, one message of an RPC at a time: a flooding peer waits
          // for our validations (TCP back-pressure) instead of piling up concurrent ones.
          awaitRpcHandler: true,
          awaitRpcMessageHandler: true,
          allowPublishToZeroTopicPeers: false,
          scoreParams: peerScoreParams(opts.scoredTopics, opts.appPenalty),
          scoreThresholds: SCORE_THRESHOLDS,
          doPX: false,
          // Messages and subscriptions on any other topic are dropped on arrival (they would
          // otherwise sit in the message cache); `subscribe` adds the topics others ask for.
          allowedTopics: [...new Set([...opts.dataIdTopics, ...opts.scoredTopics])],
        }),
      },
    }).catch((err: unknown) => {
      // libp2p's own message talks about its internals; the operator needs the address and the fix.
      const text = String((err as Error).message ?? err);
      const why = /EADDRINUSE/.test(text) ? 'the address is in use (set p2pPort to a free port, 0 for any)' : /EADDRNOTAVAIL/.test(text) ? 'no interface has this address (p2pHost)' : text.split('\n').find((l) => l.trim() !== '') ?? text;
      throw new Error(`cannot listen for P2P on ${opts.host}:${opts.port}: ${why}`, { cause: err });
    })) as unknown as Node;
    return new Libp2pGossip(node, opts, banned);
  }

  get peerId(): string {
    return this.#node.peerId.toString();
  }

  /** The addresses we listen on, each with `/p2p/<peer id>` (the real port when 0 was asked). */
  listenAddresses(): string[] {
    return this.#node.getMultiaddrs().map((m) => m.toString());
  }

  /** The TCP port we listen on. */
  listenPort(): number {
    for (const m of this.#node.getMultiaddrs()) {
      const match = /\/tcp\/(\d+)/.exec(m.toString());
      if (match) return Number(match[1]);
    }
    return this.#opts.port;
  }

  async publish(topic: string, data: Uint8Array): Promise<number> {
    try {
      const { recipients } = await this.#node.services.pubsub.publish(topic, data);
      return recipients.length;
    } catch (err) {
      const message = (err as Error).message;
      if (message === 'PublishError.NoPeersSubscribedToTopic') return 0;
      if (message === 'PublishError.Duplicate') throw new DuplicatePublishError('these bytes were already published or received');
      throw err;
    }
  }

  subscribe(topic: string, handler: GossipHandler): void {
    if (this.#handlers.has(topic)) throw new Error(`topic ${topic} already has a handler`);
    this.#handlers.set(topic, handler);
    const pubsub = this.#node.services.pubsub;
    // gossipsub keeps its allowed topics in a Set on the instance (not on its interface).
    const allowed = (pubsub as unknown as { allowedTopics?: unknown }).allowedTopics;
    if (allowed instanceof Set) allowed.add(topic);
    pubsub.topicValidators.set(topic, async (from, msg) => {
      let verdict: GossipVerdict;
      try {
        const author = msg.type === 'signed' ? msg.from.toString() : undefined;
        verdict = await handler({ topic, data: msg.data, from: from.toString(), ...(author ? { author } : {}) });
      } catch (err) {
        this.#opts.log.error({ err, topic }, 'gossip handler failed');
        verdict = 'ignore';
      }
      if (verdict === 'reject' && !this.#scored.has(topic)) this.#opts.onUnscoredReject(from.toString());
      // gossipsub's TopicValidatorResult values are these three strings.
      return verdict as never;
    });
    pubsub.subscribe(topic);
  }

  connectedPeers(): string[] {
    return this.#node.getPeers().map((p) => p.toString());
  }

  /** Remote addresses of our connections to `peerId`. */
  connectionAddresses(peerId: string): string[] {
    return this.#node
      .getConnections()
      .filter((c) => c.remotePeer.toString() === peerId)
      .map((c) => c.remoteAddr.toString());
  }

  isConnected(peerId: string): boolean {
    return this.#node.getConnections().some((c) => c.remotePeer.toString() === peerId);
  }

  /** Peers subscribed to `topic` (as far as gossipsub knows). */
  subscribers(topic: string): string[] {
    return this.#node.services.pubsub.getSubscribers(topic).map((p) => p.toString());
  }

  score(peerId: string): number | undefined {
    const pubsub = this.#node.services.pubsub as unknown as Partial<Scored>;
    return typeof pubsub.getScore === 'function' ? pubsub.getScore(peerId) : undefined;
  }

  /** Dials a multiaddress; resolves with the peer id of whoever answered. */
  async dial(address: string, timeoutMs: number): Promise<string> {
    const conn = await this.#node.dial(multiaddr(address), { signal: AbortSignal.timeout(timeoutMs) });
    return conn.remotePeer.toString();
  }

  isBanned(peerId: string): boolean {
    const until = this.#banned.get(peerId);
    return until !== undefined && until > Date.now();
  }

  banned(): { peer_id: string; until: number }[] {
    const now = Date.now();
    return [...this.#banned].filter(([, until]) => until > now).map(([peerId, until]) => ({ peer_id: peerId, until: until / 1000 }));
  }

  /** Calls `listener` with the peer id of each peer that subscribes to `topic`. */
  onSubscribed(topic: string, listener: (peerId: string) => void): void {
    this.#node.services.pubsub.addEventListener('subscription-change', (evt) => {
      if (evt.detail.subscriptions.some((s) => s.topic === topic && s.subscribe)) listener(evt.detail.peerId.toString());
    });
  }

  /** Calls `listener` when a connection to a new peer opens. */
  onConnected(listener: (peerId: string) => void): void {
    this.#node.addEventListener('peer:connect', (evt) => listener(evt.detail.toString()));
  }

  /** Graylisted peers (their RPCs are already ignored by gossipsub) are cut off and refused. */
  #enforceGraylist(): void {
    if (this.#stopped) return;
    for (const peer of this.#node.getPeers()) {
      const id = peer.toString();
      const score = this.score(id);
      if (score === undefined || score >= SCORE_THRESHOLDS.graylistThreshold) continue;
      this.#ban(id);
      this.#opts.log.warn({ peer: id, score }, 'peer score below the graylist threshold: disconnected and banned');
      this.#node.hangUp(peer).catch((err: unknown) => this.#opts.log.debug({ err, peer: id }, 'hang-up failed'));
    }
  }

  #ban(peerId: string): void {
    this.#banned.delete(peerId);
    this.#banned.set(peerId, Date.now() + this.#opts.banSeconds * 1000);
    if (this.#banned.size > (this.#opts.maxBanned ?? 10_000)) {
      const oldest = this.#banned.keys().next().value;
      if (oldest !== undefined) this.#banned.delete(oldest);
    }
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.#node.stop();
  }
}
