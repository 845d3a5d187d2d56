/**
 * ALIVE announcements, as pyaleph (`services/peers/publish.py`, `monitor.py`, `allowlist.py`):
 * every CCN publishes `{"address", "interests": null, "peer_type", "version"}` on the alive
 * topic, once with its P2P multiaddress (`peer_type` P2P) and once with its HTTP API URL
 * (`peer_type` HTTP). An announcement is taken into the peer directory only when its author (the
 * gossipsub signer) is allowlisted: a bootstrap peer or a CCN of the registry. Anyone else's is
 * ignored (not relayed, no penalty); a malformed one is rejected.
 */
import { z } from 'zod';
import type { GossipMessage, GossipVerdict } from '../network/gossip.ts';
import type { PeerDirectory } from '../network/peers.ts';
import type { VerdictCounters } from './verdicts.ts';
import { peerIdOfMultiaddr } from './dialer.ts';

/** An announcement is a few hundred bytes; anything larger is not one. */
export const MAX_ALIVE_BYTES = 4096;

const P2P_ADDRESS = /^\/(ip4|ip6|dns|dns4|dns6)\/[^/]+\/tcp\/\d{1,5}\/p2p\/[1-9A-HJ-NP-Za-km-z]{40,60}$/;

const AliveSchema = z.object({
  address: z.string().min(1).max(512),
  peer_type: z.enum(['P2P', 'HTTP', 'IPFS']),
  interests: z.unknown().optional(),
  version: z.string().max(64).optional(),
});
export type AliveMessage = z.infer<typeof AliveSchema>;

export function aliveMessage(address: string, peerType: 'P2P' | 'HTTP', version: string): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ address, interests: null, peer_type: peerType, version }));
}

/** An http(s) base URL with nothing but scheme, host and port; undefined otherwise. */
export function httpBaseUrl(address: string): string | undefined {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) return undefined;
  return url.origin;
}

export interface AliveDeps {
  topic: string;
  directory: PeerDirectory;
  counters: VerdictCounters;
  /** Peer ids whose announcements count (bootstrap and registry CCNs). */
  isAllowed(peerId: string): boolean;
  /** A P2P address announced by an allowlisted peer: worth dialing. */
  onP2pAddress(address: string): void;
}

/** Announcements kept from peers not (yet) allowlisted, and how many authors. */
const HELD_AUTHORS = 256;

export class AliveHandler {
  readonly #d: AliveDeps;
  /**
   * The last announcements (one per type) of authors not allowlisted when they arrived. A
   * bootstrap address without /p2p/ names its peer only once we have dialed it, which may be
   * after the peer, having dialed us first, announced itself: its announcement is applied then.
   */
  readonly #held = new Map<string, Map<string, AliveMessage>>();

  constructor(deps: AliveDeps) {
    this.#d = deps;
  }

  /** `peerId` just became allowlisted: its held announcements are taken now. */
  allowlisted(peerId: string): void {
    const held = this.#held.get(peerId);
    this.#held.delete(peerId);
    for (const alive of held?.values() ?? []) this.#apply(peerId, alive);
  }

  #hold(author: string, alive: AliveMessage): void {
    const byType = this.#held.get(author) ?? new Map<string, AliveMessage>();
    byType.set(alive.peer_type, alive);
    this.#held.delete(author);
    this.#held.set(author, byType);
    if (this.#held.size > HELD_AUTHORS) {
      const oldest = this.#held.keys().next().value;
      if (oldest !== undefined) this.#held.delete(oldest);
    }
  }

  /** Takes an allowlisted author's announcement; false when its address is unusable. */
  #apply(author: string, parsed: AliveMessage): boolean {
    if (parsed.peer_type === 'P2P') {
      // A peer announces itself: an address naming another peer is a lie.
      if (!P2P_ADDRESS.test(parsed.address) || peerIdOfMultiaddr(parsed.address) !== author) return false;
      this.#d.directory.upsert({ peerId: author, multiaddrs: [parsed.address], source: 'announce' });
      this.#d.onP2pAddress(parsed.address);
    } else if (parsed.peer_type === 'HTTP') {
      const httpUrl = httpBaseUrl(parsed.address);
      if (!httpUrl) return false;
      this.#d.directory.upsert({ peerId: author, multiaddrs: [], httpUrl, source: 'announce' });
    }
    return true;
  }

  #verdict(peer: string, verdict: GossipVerdict, reason: string): GossipVerdict {
    this.#d.counters.record(this.#d.topic, peer, verdict, reason);
    return verdict;
  }

  readonly handle = (msg: GossipMessage): GossipVerdict => {
    const author = msg.author;
    if (author === undefined) return this.#verdict(msg.from, 'reject', 'unsigned');
    if (msg.data.length > MAX_ALIVE_BYTES) return this.#verdict(msg.from, 'reject', 'too-large');
    let parsed: AliveMessage;
    try {
      const text = new TextDecoder('utf-8', { fatal: true }).decode(msg.data);
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        // pyaleph URL-decodes announcements before parsing them.
        value = JSON.parse(decodeURIComponent(text));
      }
      parsed = AliveSchema.parse(value);
    } catch {
      return this.#verdict(msg.from, 'reject', 'malformed');
    }
    if (!this.#d.isAllowed(author)) {
      this.#hold(author, parsed);
      return this.#verdict(msg.from, 'ignore', 'not-allowlisted');
    }
    if (!this.#apply(author, parsed)) return this.#verdict(msg.from, 'reject', 'bad-address');
    return this.#verdict(msg.from, 'accept', parsed.peer_type.toLowerCase());
  };
}
