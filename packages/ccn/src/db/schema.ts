/** Table types of the node database (one schema for SQLite and PostgreSQL). */
import type { AlephMessage, MessageType } from '@aleph-nodes/protocol';

export type MessageStatus = 'pending' | 'processed' | 'rejected' | 'forgotten' | 'removing' | 'removed';

export interface MessagesTable {
  item_hash: string;
  status: MessageStatus;
  chain: string;
  sender: string;
  sender_lc: string;
  type: MessageType;
  channel: string | null;
  time: number;
  item_type: AlephMessage['item_type'];
  item_content: string | null;
  signature: string;
  /** JSON of the parsed content, once known. */
  content: string | null;
  /** content.time, the order of aggregates and amends. */
  content_time: number | null;
  size: number | null;
  owner_lc: string | null;
  content_type: string | null;
  content_ref: string | null;
  content_key: string | null;
  content_item_hash: string | null;
  payment_type: string | null;
  /** JSON array of content.content.tags (also indexed in message_tags). */
  tags: string;
  reception_time: number;
  /** JSON of the message as submitted (the body of a `rejected` answer). */
  raw: string;
  error_code: number | null;
  error_details: string | null;
  forgotten_by: string | null;
  retries: number;
  /** When the next attempt happens (earlier than retry_at when woken by a new dependency). */
  next_attempt: number;
  /** When the backoff schedule allows the next counted retry. */
  retry_at: number;
  post_last_amend: string | null;
  post_last_updated: number | null;
  /**
   * What a pending or rejected message waits for: a message hash, a file hash,
   * `aggregate:<owner>:<key>` or `security:<owner>`. A rejected message with one is evaluated
   * again when it settles (order independence, processing/README).
   */
  waiting_for: string | null;
}

export interface MessageTagsTable {
  item_hash: string;
  tag: string;
}

/** STORE messages an executable depends on (code, runtime, data, volumes, rootfs). */
export interface MessageRefsTable {
  item_hash: string;
  ref: string;
}

export interface AggregateElementsTable {
  item_hash: string;
  owner_lc: string;
  key: string;
  time: number;
  content: string;
}

export interface FilesTable {
  hash: string;
  engine: 'storage' | 'ipfs';
  size: number;
  created_at: number;
  grace_until: number | null;
}

export interface FilePinsTable {
  file_hash: string;
  item_hash: string;
}

/** A forgotten `security` element, in effect before `retired_*` (the first FORGET's position). */
export interface RetiredSecurityElementsTable {
  item_hash: string;
  owner_lc: string;
  time: number;
  content: string;
  retired_time: number;
  retired_hash: string;
}

/** What a rejected message's verdict was judged on: it is evaluated again when one changes. */
export interface MessageWatchTable {
  item_hash: string;
  key: string;
}

/** Every target a FORGET names: a message hash, or `aggregate:<owner_lc>:<key>`. */
export interface ForgetTargetsTable {
  forget_hash: string;
  target: string;
}

/** One balance reported by one indexer post; `balances` holds the winning report per key. */
export interface BalanceReportsTable {
  item_hash: string;
  address_lc: string;
  chain: string;
  dapp: string;
  height: number;
  /** content.time of the post. */
  time: number;
  balance: number;
}

export interface BalancesTable {
  address_lc: string;
  chain: string;
  dapp: string;
  balance: number;
  height: number;
}

/** The scheduler's current placement of one persistent workload (issue 6). */
export interface AllocationsTable {
  /** The PROGRAM or INSTANCE placed (the latest amend when amended). */
  item_hash: string;
  type: 'PROGRAM' | 'INSTANCE';
  /** The CRN chosen; null when no linked CRN can take it (see reason). */
  crn_hash: string | null;
  /** Why this CRN (or why none). */
  reason: string;
  /** The CRN it ran on before a move (failover, amend, capacity), if any. */
  previous_crn_hash: string | null;
  decided_at: number;
  /** What the CRN answered for it on the last push: null (not pushed yet), 'ok' or its error text. */
  push_status: string | null;
}

/** One probe of one node by the health monitor (issue 8 scores from these rows). */
export interface NodeProbesTable {
  node_hash: string;
  /** version | login | status | diagnostic | usage */
  check: string;
  /** Unix seconds when the probe started. */
  time: number;
  /** Seconds; null when the probe got no answer. */
  latency: number | null;
  ok: number;
  /** The version seen in the Server header (version probe), if any. */
  version: string | null;
  /** Why it failed, if it did. */
  error: string | null;
  url: string;
}

/** The cost of a processed PROGRAM/INSTANCE/STORE at processing (decimal strings). */
export interface MessageCostsTable {
  item_hash: string;
  owner_lc: string;
  type: string;
  payment_type: string;
  /** 1 when the payment is enforced (hold or credit checked), 0 when free or a stream. */
  charged: number;
  hold: string;
  stream_per_second: string;
  credit_per_second: string;
  /** content.time: the message's place in the total order, and where credit consumption starts. */
  time: number;
}

/** One credit movement of one ALEPH_CREDIT post entry. */
export interface CreditEventsTable {
  item_hash: string;
  idx: number;
  kind: 'distribution' | 'expense' | 'transfer_out' | 'transfer_in';
  address_lc: string;
  amount: number;
  time: number;
  /** Unix seconds after which the lot is void; null = never. */
  expiration: number | null;
  /** JSON of the entry's other fields (price, tx_hash, provider, ...). */
  details: string;
}

/** Credits a running message consumed up to one period boundary. */
export interface CreditConsumptionTable {
  item_hash: string;
  boundary: number;
  address_lc: string;
  amount: number;
  cumulative: number;
}

export interface FlowReportsTable {
  item_hash: string;
  idx: number;
  chain: string;
  sender_lc: string;
  receiver_lc: string;
  rate_per_hour: string;
  time: number;
}

export interface MessageRemovalsTable {
  item_hash: string;
  reason: 'balance_insufficient' | 'credit_insufficient';
  removing_since: number;
  removing_at: number;
  removed_at: number | null;
}

export interface Tables {
  message_costs: MessageCostsTable;
  credit_events: CreditEventsTable;
  credit_consumption: CreditConsumptionTable;
  flow_reports: FlowReportsTable;
  message_removals: MessageRemovalsTable;
  allocations: AllocationsTable;
  node_probes: NodeProbesTable;
  messages: MessagesTable;
  message_tags: MessageTagsTable;
  message_refs: MessageRefsTable;
  aggregate_elements: AggregateElementsTable;
  files: FilesTable;
  file_pins: FilePinsTable;
  balances: BalancesTable;
  forget_targets: ForgetTargetsTable;
  message_watch: MessageWatchTable;
  retired_security_elements: RetiredSecurityElementsTable;
  balance_reports: BalanceReportsTable;
}
