/**
 * gossipsub peer scoring for the CCN network. The network is small (tens to a few hundred CCNs)
 * and its message topic is quiet and bursty (a few messages a second, then a flood when a user
 * publishes many), so the parameters reward being a steady, honest mesh member a little and
 * punish invalid messages a lot:
 *
 * - P4 (invalid messages) is the lever: weight −10 on the square of a counter that halves in
 *   10 minutes. Honest CCNs validate before relaying, so an invalid message comes from its author
 *   or a broken node: one costs −10 (a silly mistake survives), two −40 (no gossip exchanged
 *   with it any more), three −90, below the graylist threshold (−80): its RPCs are dropped, and
 *   peering disconnects it and refuses it for `p2pBanSeconds`.
 * - P3/P3b (mesh delivery rate) are off: they expect a steady message rate per mesh peer and
 *   would punish honest peers of a quiet topic (Ethereum turned them off for the same reason).
 * - P1 (time in mesh) and P2 (first deliveries) give at most +6 and +10, capped together at
 *   +10 by `topicScoreCap`: a long-standing useful peer survives one invalid message, never two.
 * - P5 (application score, weight 1) carries what gossipsub cannot see: messages over a peer's
 *   rate budget (−1 each, halving every minute: ~80 in a burst reach the graylist) and invalid
 *   messages on topics that are not scored here.
 * - P6 (many peers on one IP) and P7 (protocol misbehaviour) keep gossipsub's defaults; scores
 *   of a disconnected peer are kept for an hour (`retainScore`), so reconnecting wipes nothing.
 */
import type { PeerScoreParams, PeerScoreThresholds, TopicScoreParams } from '@libp2p/gossipsub/score';

/** Counter decay per `decayInterval` (1 s) for a value to halve in `seconds`. */
export function decayForHalfLife(seconds: number): number {
  return 0.5 ** (1 / seconds);
}

export const SCORE_THRESHOLDS: PeerScoreThresholds = {
  gossipThreshold: -10,
  publishThreshold: -50,
  graylistThreshold: -80,
  // No peer exchange: CCNs find each other from configuration, the registry and ALIVE only.
  acceptPXThreshold: 100,
  opportunisticGraftThreshold: 3,
};

export function topicScoreParams(): TopicScoreParams {
  return {
    topicWeight: 1,
    timeInMeshWeight: 6 / 3600,
    timeInMeshQuantum: 1000,
    timeInMeshCap: 3600,
    firstMessageDeliveriesWeight: 0.5,
    firstMessageDeliveriesDecay: decayForHalfLife(300),
    firstMessageDeliveriesCap: 20,
    meshMessageDeliveriesWeight: 0,
    meshMessageDeliveriesDecay: 0.5,
    meshMessageDeliveriesCap: 1,
    meshMessageDeliveriesThreshold: 1,
    meshMessageDeliveriesWindow: 10,
    meshMessageDeliveriesActivation: 5000,
    meshFailurePenaltyWeight: 0,
    meshFailurePenaltyDecay: 0.5,
    invalidMessageDeliveriesWeight: -10,
    invalidMessageDeliveriesDecay: decayForHalfLife(600),
  };
}

/** `appPenalty(peer)` ≥ 0 is subtracted from the peer's score (P5). */
export function peerScoreParams(scoredTopics: readonly string[], appPenalty: (peerId: string) => number): Partial<PeerScoreParams> {
  return {
    topics: Object.fromEntries(scoredTopics.map((t) => [t, topicScoreParams()])),
    topicScoreCap: 10,
    appSpecificScore: (peerId: string) => -appPenalty(peerId),
    appSpecificWeight: 1,
    decayInterval: 1000,
    decayToZero: 0.01,
    retainScore: 3600 * 1000,
  };
}
