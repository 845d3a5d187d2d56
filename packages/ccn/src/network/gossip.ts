/**
 * What the rest of the node needs of the P2P layer (p2p/): publish bytes on a topic and hear a
 * topic's messages with the peer that relayed them. Handlers decide each message's fate, which
 * gossipsub turns into peer scores: `accept` (valid, relay it), `ignore` (duplicate or not ours to
 * judge: drop, no penalty), `reject` (invalid: drop and lower the sender's score).
 */
export type GossipVerdict = 'accept' | 'ignore' | 'reject';

export interface GossipMessage {
  topic: string;
  data: Uint8Array;
  /** The peer that sent it to us (not necessarily its author). */
  from: string;
  /** The peer that published (signed) it, when the message is signed (gossipsub StrictSign). */
  author?: string | undefined;
}

export type GossipHandler = (message: GossipMessage) => Promise<GossipVerdict> | GossipVerdict;

export interface Gossip {
  /** Our libp2p peer id. */
  readonly peerId: string;
  /** Publishes `data` on `topic`; resolves with the number of peers it was sent to. */
  publish(topic: string, data: Uint8Array): Promise<number>;
  /** Subscribes `handler` to `topic` (one handler per topic). */
  subscribe(topic: string, handler: GossipHandler): void;
  /** Peers currently connected. */
  connectedPeers(): string[];
}
