/**
 * `publication_status` of the message routes, as pyaleph's `PublicationStatus.from_failures`
 * (`web/controllers/utils.py`): `success` when nothing failed, `warning` when one protocol failed,
 * `error` when two did (pyaleph: IPFS and P2P; this node has no IPFS pubsub, so P2P is the only
 * one that can fail, and `error`, which pyaleph answers with HTTP 500, never happens here).
 * P2P fails when no peer took the message: p2p disabled, no peer connected or subscribed, or a
 * message too large for gossip. The message is stored all the same and reaches peers by
 * anti-entropy.
 */
export type PublicationProtocol = 'p2p' | 'ipfs';

export interface PublicationStatus {
  status: 'success' | 'warning' | 'error';
  failed: PublicationProtocol[];
}

export function publicationStatus(failed: PublicationProtocol[]): PublicationStatus {
  const status = failed.length === 0 ? 'success' : failed.length === 1 ? 'warning' : 'error';
  return { status, failed };
}

export const PUBLISHED: PublicationStatus = Object.freeze(publicationStatus([])) as PublicationStatus;
export const NOT_PUBLISHED: PublicationStatus = Object.freeze(publicationStatus(['p2p'])) as PublicationStatus;

/** What the API needs of peering (absent when p2p is disabled or not started yet). */
export interface PeeringApi {
  /** The publication of a message a client just submitted (published now if it was already known). */
  publicationOf(itemHash: string): Promise<PublicationStatus>;
  /** Connected and known peers, verdict counts, bans: GET /api/v0/p2p/peers. */
  status(): Record<string, unknown>;
}
