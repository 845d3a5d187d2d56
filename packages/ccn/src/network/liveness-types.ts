/** The settings, dependencies and answers of the CCN liveness (liveness.ts). */
import type { EthAccount } from '@aleph-nodes/protocol';
import type { Logger } from '@aleph-nodes/service';
import type { RegistrySnapshot } from '../registry/registry-service.ts';
import type { HeartbeatEnvelope, HeartbeatPayload, ReportedCrn } from './liveness-heartbeat.ts';
import type { ListFn } from './liveness-prober.ts';

export interface LivenessSettings {
  heartbeatIntervalSeconds: number;
  ccnDownAfterSeconds: number;
  heartbeatMaxClockSkewSeconds: number;
  heartbeatPullTimeoutSeconds: number;
  heartbeatTopic: string;
  /** Where the latest heartbeats are kept across restarts ('' = nowhere). */
  stateFile: string;
  /** Direct probes of a silent CCN's CRNs (the monitor's settings). */
  probeIntervalSeconds: number;
  probeTimeoutSeconds: number;
  probeFailuresBeforeGone: number;
}

/** What this node reports about itself (from its scheduler); null until it knows its node hash. */
export interface OwnState {
  nodeHash: string;
  schedules: boolean;
  crns: ReportedCrn[];
  unplaced: string[];
}

export interface LivenessDeps {
  account: EthAccount;
  registry: { snapshot(): Promise<RegistrySnapshot> };
  ownState(): OwnState | null;
  /** HTTP base URLs of the other CCNs to pull from (settings, peer directory, registry). */
  peerUrls(): Promise<string[]> | string[];
  /** Unix seconds. */
  clock(): number;
  log: Logger;
  /** Injected by unit tests. */
  listExecutions?: ListFn;
}

export type HeartbeatSource = 'self' | 'gossip' | 'http' | 'disk';

export interface HeartbeatEntry {
  envelope: HeartbeatEnvelope;
  payload: HeartbeatPayload;
  /** Local unix seconds when it was accepted. */
  receivedAt: number;
  source: HeartbeatSource;
}

export interface OfferResult {
  verdict: 'accepted' | 'ignored' | 'rejected';
  reason?: string;
}

export interface LivenessEvents {
  /** Something the ownership rule reads changed: a CCN's liveness, placements, CRNs, or a probe. */
  changed: [];
}
