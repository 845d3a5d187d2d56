/**
 * The CCNs this node knows, from every source: the `bootstrapPeers` setting, the registry's
 * `create-node` entries (their `multiaddress`, and their HTTP API derived from it), and peers'
 * announcements on the P2P network. Peering (p2p/) dials the multiaddresses; anti-entropy
 * (sync/) pulls from the HTTP URLs; the liveness table (network/) reads both.
 *
 * It holds no trust: a peer listed here is only someone to talk to. Everything a peer sends is
 * validated like any submitted message.
 */
import { EventEmitter } from 'node:events';

export type PeerSource = 'config' | 'registry' | 'announce';

export interface KnownPeer {
  /** Stable key: the libp2p peer id when known, else the HTTP URL. */
  key: string;
  peerId?: string | undefined;
  /** libp2p multiaddresses, with `/p2p/<peer id>` when known. */
  multiaddrs: string[];
  /** Base URL of its HTTP API (`http://host:4024`), when known. */
  httpUrl?: string | undefined;
  /** Registry node hash, when it is a registered CCN. */
  nodeHash?: string | undefined;
  sources: PeerSource[];
  /** Unix seconds of the last announcement or registry refresh that named it. */
  lastSeen: number;
}

export interface PeerDirectoryEvents {
  changed: [peer: KnownPeer];
}

function merge(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}

export class PeerDirectory {
  readonly events = new EventEmitter<PeerDirectoryEvents>();
  readonly #peers = new Map<string, KnownPeer>();
  /** Our own identity, never listed as a peer. */
  readonly #self: { peerId?: string | undefined; httpUrl?: string | undefined };

  constructor(self: { peerId?: string | undefined; httpUrl?: string | undefined } = {}) {
    this.#self = self;
  }

  setSelf(self: { peerId?: string | undefined; httpUrl?: string | undefined }): void {
    if (self.peerId) this.#self.peerId = self.peerId;
    if (self.httpUrl) this.#self.httpUrl = self.httpUrl.replace(/\/+$/, '');
  }

  #isSelf(p: Partial<KnownPeer>): boolean {
    return (p.peerId !== undefined && p.peerId === this.#self.peerId) || (p.httpUrl !== undefined && p.httpUrl === this.#self.httpUrl);
  }

  /** Adds or refreshes a peer; entries are merged by peer id, then by HTTP URL. */
  upsert(input: Omit<KnownPeer, 'key' | 'sources' | 'lastSeen'> & { source: PeerSource; lastSeen?: number }): KnownPeer | undefined {
    const httpUrl = input.httpUrl?.replace(/\/+$/, '');
    if (this.#isSelf({ peerId: input.peerId, httpUrl })) return undefined;
    const existing =
      (input.peerId ? this.#peers.get(input.peerId) : undefined) ??
      [...this.#peers.values()].find((p) => httpUrl !== undefined && p.httpUrl === httpUrl);
    const key = input.peerId ?? existing?.key ?? httpUrl;
    if (!key) return undefined;
    const peer: KnownPeer = {
      key,
      peerId: input.peerId ?? existing?.peerId,
      multiaddrs: merge(existing?.multiaddrs ?? [], input.multiaddrs),
      httpUrl: httpUrl ?? existing?.httpUrl,
      nodeHash: input.nodeHash ?? existing?.nodeHash,
      sources: merge(existing?.sources ?? [], [input.source]) as PeerSource[],
      lastSeen: Math.max(existing?.lastSeen ?? 0, input.lastSeen ?? Date.now() / 1000),
    };
    if (existing && existing.key !== key) this.#peers.delete(existing.key);
    this.#peers.set(key, peer);
    this.events.emit('changed', peer);
    return peer;
  }

  list(): KnownPeer[] {
    return [...this.#peers.values()];
  }

  /** HTTP API base URLs of the known peers (anti-entropy, file fetching). */
  httpUrls(): string[] {
    return this.list().flatMap((p) => (p.httpUrl ? [p.httpUrl] : []));
  }

  byPeerId(peerId: string): KnownPeer | undefined {
    return this.#peers.get(peerId) ?? this.list().find((p) => p.peerId === peerId);
  }
}
