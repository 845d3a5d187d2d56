/**
 * Peering: this CCN on the libp2p network. It publishes every message a client submitted here on
 * the message topic (pyaleph's wire format), judges every message peers gossip (intake.ts),
 * announces itself on the alive topic and takes allowlisted peers' announcements into the peer
 * directory (alive.ts), and keeps dialing the bootstrap peers, the registry's CCNs and the
 * announced addresses (dialer.ts). Messages from peers are never re-published by us: gossipsub
 * relays what we accept.
 */
import { networkInterfaces } from 'node:os';
import { isIPv4, isIPv6 } from 'node:net';
import type { AlephMessage } from '@aleph-nodes/protocol';
import type { Logger } from '@aleph-nodes/service';
import type { CcnConfig } from '../config.ts';
import { toEnvelope } from '../db/message-views.ts';
import { ccnApiUrl } from '../monitor/ccn-probes.ts';
import type { PeerDirectory, PeerSource } from '../network/peers.ts';
import type { MessageOrigin, MessageProcessor } from '../processing/processor.ts';
import type { RegistryService } from '../registry/registry-service.ts';
import type { Stores } from '../stores.ts';
import { AliveHandler, aliveMessage } from './alive.ts';
import { DedupeCache } from './dedupe.ts';
import { Dialer, peerIdOfMultiaddr } from './dialer.ts';
import type { P2pIdentity } from './identity.ts';
import { MessageIntake } from './intake.ts';
import { DuplicatePublishError, Libp2pGossip } from './libp2p-gossip.ts';
import { publicationStatus, type PeeringApi, type PublicationStatus } from './publication.ts';
import { DecayingPenalties, PeerRateLimiter } from './rate-limit.ts';
import { VerdictCounters } from './verdicts.ts';
import { encodeWireMessage } from './wire.ts';

/** Penalty (application score) of an invalid message on a topic gossipsub does not score. */
const UNSCORED_REJECT_PENALTY = 10;
/** Publications kept for the API answer that asks for them (bounded; the rest are dropped). */
const MAX_PENDING_PUBLICATIONS = 10_000;
const PUBLISH_TIMEOUT_MS = 10_000;
/** A peer joining the alive topic triggers an announcement, at most this often. */
const ALIVE_ON_JOIN_MIN_INTERVAL_MS = 5_000;
/** Registry CCN multiaddresses are dialable only in this shape (anyone can write the registry). */
const REGISTRY_MULTIADDR = /^\/(ip4|ip6|dns|dns4|dns6)\/[^/]+\/tcp\/\d{1,5}\/p2p\/[1-9A-HJ-NP-Za-km-z]{40,60}$/;

export interface PeeringDeps {
  config: CcnConfig;
  identity: P2pIdentity;
  processor: MessageProcessor;
  stores: Stores;
  registry: RegistryService;
  directory: PeerDirectory;
  /** This node's HTTP API base URL. */
  httpUrl: string;
  version: string;
  log: Logger;
}

function timeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

/** The host other nodes reach us at: the setting, else the listen host, else an external IPv4. */
export function announceHost(config: Pick<CcnConfig, 'p2pAnnounceHost' | 'p2pHost' | 'host'>): string {
  if (config.p2pAnnounceHost) return config.p2pAnnounceHost;
  const listen = config.p2pHost || config.host;
  if (listen !== '0.0.0.0' && listen !== '::') return listen;
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

function hostMultiaddr(host: string): string {
  return isIPv4(host) ? `/ip4/${host}` : isIPv6(host) ? `/ip6/${host}` : `/dns4/${host}`;
}

export class PeeringService implements PeeringApi {
  readonly #d: PeeringDeps;
  readonly #gossip: Libp2pGossip;
  readonly #counters = new VerdictCounters();
  readonly #penalties: DecayingPenalties;
  readonly #intake: MessageIntake;
  readonly #dialer: Dialer;
  /** Peer ids whose ALIVE announcements count: bootstrap (configured or learned) and registry. */
  readonly #allowBootstrap = new Set<string>();
  #allowRegistry = new Set<string>();
  readonly #publications = new Map<string, Promise<PublicationStatus>>();
  readonly #announce: { p2p: string; http: string };
  readonly #intervals: NodeJS.Timeout[] = [];
  #aliveTimer: NodeJS.Timeout | undefined;
  #lastAliveAt = 0;
  #alive: AliveHandler | undefined;
  #stopped = false;
  readonly #onAccepted = (message: AlephMessage, _raw: unknown, origin: MessageOrigin): void => {
    if (origin !== 'api' || this.#stopped) return;
    const publication = this.#publish(message);
    this.#publications.set(message.item_hash, publication);
    if (this.#publications.size > MAX_PENDING_PUBLICATIONS) {
      const oldest = this.#publications.keys().next().value;
      if (oldest !== undefined) this.#publications.delete(oldest);
    }
  };

  private constructor(deps: PeeringDeps, gossip: Libp2pGossip, penalties: DecayingPenalties) {
    this.#d = deps;
    this.#gossip = gossip;
    this.#penalties = penalties;
    const c = deps.config;
    const log = deps.log;
    this.#intake = new MessageIntake({
      processor: deps.processor,
      topic: c.p2pTopic,
      maxBytes: c.p2pMaxMessageBytes,
      dedupe: new DedupeCache(c.p2pDedupeCacheSize),
      limiter: new PeerRateLimiter({ ratePerSecond: c.p2pRateLimitPerSecond, burst: c.p2pRateLimitBurst }),
      penalties,
      counters: this.#counters,
      log,
    });
    this.#dialer = new Dialer(gossip, {
      maxBackoffMs: c.p2pRedialSeconds * 1000,
      log,
      onConnected: (address, peerId, source) => this.#connectedTo(address, peerId, source),
    });
    const host = announceHost(c);
    const httpPort = new URL(deps.httpUrl).port || '80';
    this.#announce = {
      p2p: `${hostMultiaddr(host)}/tcp/${gossip.listenPort()}/p2p/${gossip.peerId}`,
      http: `http://${isIPv6(host) ? `[${host}]` : host}:${httpPort}`,
    };
  }

  /** Starts libp2p, subscribes to the topics and begins dialing. */
  static async start(deps: PeeringDeps): Promise<PeeringService> {
    const c = deps.config;
    const penalties = new DecayingPenalties({ halfLifeSeconds: 60 });
    let service: PeeringService | undefined;
    const gossip = await Libp2pGossip.start({
      privateKey: deps.identity.privateKey,
      host: c.p2pHost || c.host,
      port: c.p2pPort,
      dataIdTopics: [c.p2pTopic],
      scoredTopics: [c.p2pTopic, c.p2pAliveTopic],
      appPenalty: (peerId) => penalties.value(peerId),
      onUnscoredReject: (peerId) => penalties.add(peerId, UNSCORED_REJECT_PENALTY),
      banSeconds: c.p2pBanSeconds,
      userAgent: `aleph-nodes-ccn/${deps.version}`,
      log: deps.log,
    });
    try {
      service = new PeeringService(deps, gossip, penalties);
      service.#begin();
      return service;
    } catch (err) {
      await gossip.stop();
      throw err;
    }
  }

  /** The `Gossip` other components subscribe to (liveness heartbeats). */
  get gossip(): Libp2pGossip {
    return this.#gossip;
  }

  get announced(): { p2p: string; http: string } {
    return { ...this.#announce };
  }

  #begin(): void {
    const c = this.#d.config;
    this.#d.directory.setSelf({ peerId: this.#gossip.peerId, httpUrl: this.#announce.http });
    this.#gossip.subscribe(c.p2pTopic, this.#intake.handle);
    const alive = (this.#alive = new AliveHandler({
      topic: c.p2pAliveTopic,
      directory: this.#d.directory,
      counters: this.#counters,
      isAllowed: (peerId) => this.#allowBootstrap.has(peerId) || this.#allowRegistry.has(peerId),
      onP2pAddress: (address) => this.#dialer.add(address, 'announce'),
    }));
    this.#gossip.subscribe(c.p2pAliveTopic, alive.handle);
    this.#gossip.onSubscribed(c.p2pAliveTopic, () => this.#aliveSoon());
    for (const address of c.p2pBootstrap) {
      const peerId = peerIdOfMultiaddr(address);
      if (peerId) this.#allowBootstrap.add(peerId);
      this.#dialer.add(address, 'config');
    }
    this.#d.processor.events.on('accepted', this.#onAccepted);
    this.#dialer.start();
    void this.#refreshRegistry();
    this.#every(c.p2pRedialSeconds * 1000, () => void this.#refreshRegistry());
    this.#every(c.p2pAliveIntervalSeconds * 1000, () => void this.#publishAlive());
    this.#d.log.info({ peerId: this.#gossip.peerId, listen: this.#gossip.listenAddresses(), announce: this.#announce }, 'p2p listening');
  }

  #every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.#intervals.push(t);
  }

  #connectedTo(address: string, peerId: string, source: PeerSource): void {
    // A configured address without /p2p/: the peer that answered it is the one the operator meant.
    if (source === 'config' && !this.#allowBootstrap.has(peerId)) {
      this.#allowBootstrap.add(peerId);
      this.#alive?.allowlisted(peerId);
    }
    const full = peerIdOfMultiaddr(address) ? address : `${address}/p2p/${peerId}`;
    this.#d.directory.upsert({ peerId, multiaddrs: [full], source });
  }

  /** The registry's CCNs: dial targets, allowlisted ids, directory entries (re-read every p2pRedialSeconds). */
  async #refreshRegistry(): Promise<void> {
    try {
      const { value } = await this.#d.registry.snapshot();
      const addresses: string[] = [];
      const allowed = new Set<string>();
      for (const node of value.nodes) {
        const ma = node.multiaddress;
        const peerId = REGISTRY_MULTIADDR.test(ma) ? peerIdOfMultiaddr(ma) : undefined;
        if (peerId === this.#gossip.peerId) continue;
        if (peerId) {
          allowed.add(peerId);
          addresses.push(ma);
        }
        // The API URL the peer announces itself beats the one guessed from its registry entry
        // (a bare multiaddress only implies the default port 4024).
        const announced = peerId !== undefined && this.#d.directory.byPeerId(peerId)?.sources.includes('announce') === true;
        const httpUrl = announced ? undefined : ccnApiUrl(node);
        if (httpUrl !== undefined && (httpUrl === this.#d.httpUrl || httpUrl === this.#announce.http)) continue;
        if (peerId || httpUrl) this.#d.directory.upsert({ peerId, multiaddrs: peerId ? [ma] : [], httpUrl, nodeHash: node.hash, source: 'registry' });
      }
      const before = this.#allowRegistry;
      this.#allowRegistry = allowed;
      for (const id of allowed) if (!before.has(id)) this.#alive?.allowlisted(id);
      this.#dialer.replace('registry', addresses);
    } catch (err) {
      this.#d.log.warn({ err }, 'could not read the registry for peers');
    }
  }

  /** A peer joined the alive topic: announce soon, not more often than every few seconds. */
  #aliveSoon(): void {
    if (this.#aliveTimer || this.#stopped) return;
    const wait = Math.max(500, this.#lastAliveAt + ALIVE_ON_JOIN_MIN_INTERVAL_MS - Date.now());
    this.#aliveTimer = setTimeout(() => {
      this.#aliveTimer = undefined;
      void this.#publishAlive();
    }, wait);
    this.#aliveTimer.unref();
  }

  async #publishAlive(): Promise<void> {
    if (this.#stopped) return;
    this.#lastAliveAt = Date.now();
    const topic = this.#d.config.p2pAliveTopic;
    for (const [address, type] of [
      [this.#announce.p2p, 'P2P'],
      [this.#announce.http, 'HTTP'],
    ] as const) {
      try {
        await this.#gossip.publish(topic, aliveMessage(address, type, this.#d.version));
      } catch (err) {
        this.#d.log.debug({ err }, 'could not publish an ALIVE announcement');
      }
    }
  }

  /** Publishes a message on the message topic; says whether any peer took it. */
  async #publish(message: AlephMessage): Promise<PublicationStatus> {
    const data = encodeWireMessage(message, this.#d.config.p2pMaxMessageBytes);
    if (!data) {
      this.#d.log.info({ itemHash: message.item_hash }, 'message too large for gossip; peers get it by anti-entropy');
      return publicationStatus(['p2p']);
    }
    try {
      const peers = await timeout(this.#gossip.publish(this.#d.config.p2pTopic, data), PUBLISH_TIMEOUT_MS);
      if (peers === 0) this.#d.log.debug({ itemHash: message.item_hash }, 'no peer to publish to');
      return publicationStatus(peers > 0 ? [] : ['p2p']);
    } catch (err) {
      // The same bytes were already published or received: peers have them.
      if (err instanceof DuplicatePublishError) return publicationStatus([]);
      this.#d.log.warn({ err, itemHash: message.item_hash }, 'could not publish a message');
      return publicationStatus(['p2p']);
    }
  }

  async publicationOf(itemHash: string): Promise<PublicationStatus> {
    if (this.#stopped) return publicationStatus(['p2p']);
    const pending = this.#publications.get(itemHash);
    if (pending) {
      this.#publications.delete(itemHash);
      return pending;
    }
    // Already known here (a re-submission): published again, as pyaleph does for every submission.
    const row = await this.#d.stores.messages.get(itemHash);
    return row ? this.#publish(toEnvelope(row)) : publicationStatus(['p2p']);
  }

  status(): Record<string, unknown> {
    const connected = this.#gossip.connectedPeers();
    const verdictPeers = new Set([...connected, ...this.#counters.peers()]);
    const peer = (id: string): Record<string, unknown> => ({
      peer_id: id,
      connected: this.#gossip.isConnected(id),
      addresses: this.#gossip.connectionAddresses(id),
      score: this.#gossip.score(id) ?? null,
      app_penalty: this.#penalties.value(id),
      banned: this.#gossip.isBanned(id),
      verdicts: this.#counters.forPeer(id) ?? null,
    });
    return {
      enabled: true,
      peer_id: this.#gossip.peerId,
      listen: this.#gossip.listenAddresses(),
      announce: this.#announce,
      topics: { messages: this.#d.config.p2pTopic, alive: this.#d.config.p2pAliveTopic },
      connected: connected.map(peer),
      subscribers: this.#gossip.subscribers(this.#d.config.p2pTopic),
      known: this.#d.directory.list(),
      peers: [...verdictPeers].map(peer),
      dial_targets: this.#dialer.status(),
      banned: this.#gossip.banned(),
      allowlist: { bootstrap: [...this.#allowBootstrap], registry: [...this.#allowRegistry] },
      verdicts: this.#counters.totals(),
    };
  }

  /** Stops announcing, dialing and publishing; closes every connection. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#d.processor.events.off('accepted', this.#onAccepted);
    for (const t of this.#intervals) clearInterval(t);
    if (this.#aliveTimer) clearTimeout(this.#aliveTimer);
    this.#dialer.stop();
    this.#intake.dispose();
    await this.#gossip.stop();
  }
}
