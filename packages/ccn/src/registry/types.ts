/** The corechannel registry state, with the exact JSON shape of the reference aggregate (aleph-protocol.md §8.2). */

export interface CcnEntry {
  hash: string;
  name: string;
  multiaddress: string;
  owner: string;
  reward: string;
  manager: string;
  stream_reward: string;
  stakers: Record<string, number>;
  total_staked: number;
  status: 'waiting' | 'active';
  resource_nodes: string[];
  score: number;
  performance: number;
  decentralization: number;
  inactive_since: number | null;
  time: number;
  locked: boolean;
  authorized: string[];
  has_bonus: boolean;
  picture: string;
  banner: string;
  description: string;
  registration_url: string;
  terms_and_conditions: string;
  address: string;
  score_updated: boolean;
}

export interface CrnEntry {
  hash: string;
  name: string;
  type: 'compute';
  address: string;
  owner: string;
  manager: string;
  reward: string;
  stream_reward: string;
  status: 'waiting' | 'linked';
  parent: string | null;
  score: number;
  performance: number;
  decentralization: number;
  inactive_since: number | null;
  time: number;
  locked: boolean;
  authorized: string[];
  picture: string;
  banner: string;
  description: string;
  registration_url: string;
  terms_and_conditions: string;
  multiaddress: string;
}

export interface CorechannelValue {
  nodes: CcnEntry[];
  resource_nodes: CrnEntry[];
}

/** Settings of the rules (aleph-protocol.md §8.3: all of them are settings). */
export interface RegistrySettings {
  /** Tag an operation must carry; empty = any. */
  tag: string;
  maxLinkedCrns: number;
  ccnOwnerMinBalance: number;
  stakerMinBalance: number;
  ccnActivationStake: number;
  balanceIndexers: readonly string[];
  scoresSenders: readonly string[];
}

/** A processed POST the registry replays. */
export interface RegistryEvent {
  itemHash: string;
  sender: string;
  /** content.time: the ordering key without chain confirmations. */
  time: number;
  /** The POST content (type, address, ref, content). */
  content: { type?: unknown; address?: unknown; ref?: unknown; content?: unknown };
}

/** What the registry did with one operation or node amend. */
export interface RegistryOutcome {
  itemHash: string;
  action: string;
  sender: string;
  time: number;
  status: 'applied' | 'ignored';
  /** Why an ignored operation had no effect. */
  reason?: string;
}
