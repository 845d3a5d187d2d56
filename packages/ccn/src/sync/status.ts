/** What `GET /api/v0/sync/status` shows operators and tests: each peer's cursor, lag and score. */
import { ALEPH_ERROR } from '@aleph-nodes/protocol';
import type { PeerFailureKind } from './http.ts';
import type { FileFetchStats } from './file-fetcher.ts';
import type { PullPeer, PullStats } from './puller.ts';

/** Retry codes of a message waiting for a file: its content, or a STORE's file. */
export const fileWaitCodes: ReadonlySet<number> = new Set([ALEPH_ERROR.CONTENT_UNAVAILABLE, ALEPH_ERROR.FILE_UNAVAILABLE]);

export interface PeerSyncStatus extends Omit<PullStats, 'lastSeq' | 'lastSuccess'> {
  url: string;
  /** Still listed by the peer directory (a peer that left keeps its history here). */
  active: boolean;
  cursor: number;
  /** The peer's last seq when last asked. */
  peer_last_seq: number;
  /** Entries of the peer's sequence not yet handled here. */
  lag: number;
  score: number;
  failures: number;
  banned: boolean;
  /** Unix seconds before which the peer is not asked (back-off or ban); 0 = now. */
  next_attempt: number;
  last_success: number | null;
  last_error: string | null;
  offences: Record<PeerFailureKind, number>;
}

export interface SyncStatus {
  last_seq: number;
  files_kept: 'all' | 'referenced';
  peers: PeerSyncStatus[];
  files: FileFetchStats & { wanted: number; given_up: number; evicted: number };
}

export function peerStatus(peer: PullPeer, cursor: number, active: boolean, nowMs: number): PeerSyncStatus {
  const { lastSeq, lastSuccess, ...counters } = peer.stats;
  return {
    url: peer.url,
    active,
    cursor,
    peer_last_seq: lastSeq,
    lag: Math.max(0, lastSeq - cursor),
    score: peer.score.score,
    failures: peer.score.failures,
    banned: peer.score.banned(nowMs),
    next_attempt: peer.score.notBefore > nowMs ? peer.score.notBefore / 1000 : 0,
    last_success: lastSuccess ?? null,
    last_error: peer.score.lastError ?? null,
    offences: { ...peer.score.counts },
    ...counters,
  };
}
