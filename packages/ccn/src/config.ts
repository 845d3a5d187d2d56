/**
 * CCN settings: defaults < JSON file (`CCN_CONFIG`) < environment (`CCN_*`) < flags.
 * Every setting has a default and a description (`describeConfig(CcnConfigSchema, 'CCN')`).
 */
import { z } from 'zod';
import { DEFAULT_PAYMENT_CUTOFFS, LIMITS, PRICING_AGGREGATE_OWNER } from '@aleph-nodes/protocol';
import { loadConfig, type LoadConfigOptions } from '@aleph-nodes/service';

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be an 0x Ethereum address');

export const CcnConfigSchema = z.object({
  host: z.string().default('127.0.0.1').describe('Address the HTTP API listens on'),
  port: z.number().int().min(0).max(65_535).default(4024).describe('HTTP API port (0 = any free port)'),
  dataDir: z.string().min(1).describe('Directory for the database, stored files and the node key (required)'),
  db: z
    .string()
    .min(1)
    // Anything with a URL scheme other than postgres:// would otherwise be taken for an SQLite
    // file name (`mysql://x` became a file `mysql:/x` in the working directory).
    .refine((v) => !/^[a-z][a-z0-9+.-]*:/i.test(v) || /^postgres(ql)?:\/\//.test(v), {
      message: 'unknown database scheme: use "sqlite", a path to an SQLite file, or a postgres:// URL',
    })
    .default('sqlite')
    .describe('Database: "sqlite" (a file in the data dir, the default), a path to an SQLite file, or a postgres:// URL'),
  pgSchema: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'lowercase letters, digits and underscores')
    .default('public')
    .describe('PostgreSQL schema holding the tables (created if missing); lets several nodes share one database'),
  keyFile: z.string().default('').describe('Node private key file (created if missing); empty = <dataDir>/node.key'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino log level'),
  pubsubTopic: z.string().default('ALEPH-TEST').describe('The only topic the legacy pubsub routes accept'),
  syncTimeoutMs: z.number().int().min(0).default(30_000).describe('How long a sync submission waits for processing'),
  maxAnonymousUploadBytes: z
    .number()
    .int()
    .min(1)
    .default(LIMITS.anonymousUploadBytes)
    .describe('Largest upload without a signed STORE message (add_file, add_json, ipfs)'),
  maxSignedUploadBytes: z
    .number()
    .int()
    .min(1)
    .default(LIMITS.signedUploadBytes)
    .describe('Largest upload with a signed STORE message'),
  trustedProxies: z
    .array(z.string().min(1))
    .default([])
    .describe('Reverse proxies (IPs or CIDRs, e.g. ["127.0.0.1"] behind a local Caddy) whose X-Forwarded-For names the client: the per-address limits then apply to real clients, not to the proxy; empty = the TCP peer is the client'),
  maxMetadataBytes: z
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024)
    .describe('Largest non-file part of a multipart upload (the `metadata` part: the signed STORE message and sync flag); larger is 413 as soon as it is seen'),
  maxJsonBodyValues: z
    .number()
    .int()
    .min(100)
    .default(10_000)
    .describe('Most values (objects, arrays, strings, numbers) a JSON request body may hold; checked before parsing (a message carries its content as one string)'),
  maxUploadsInFlight: z
    .number()
    .int()
    .min(1)
    .default(16)
    .describe('Uploads (storage and ipfs add_file, add_json) the node handles at once; more get 503 with Retry-After'),
  maxUploadsPerIp: z
    .number()
    .int()
    .min(1)
    .default(4)
    .describe('Uploads one client address may have in flight at once; more get 429 with Retry-After'),
  maxPagination: z
    .number()
    .int()
    .min(1)
    .default(500)
    .describe(
      'Largest page of the list routes (pyaleph caps its aggregate and authorization lists at 500); `pagination=0`, which pyaleph reads as "no limit" on messages and posts, and larger values are served this many (aggregates.json answers 422 above it, as pyaleph)',
    ),
  maxAggregateKeysPerRead: z
    .number()
    .int()
    .min(1)
    .default(1000)
    .describe('Most keys one GET /api/v0/aggregates/{address}.json merges (pyaleph\'s default `limit`); larger `limit` values are served this many'),
  requestTimeoutMs: z
    .number()
    .int()
    .min(100)
    .default(300_000)
    .describe('Longest time a client may take to send a whole request, upload included (slow clients are cut off)'),
  headersTimeoutMs: z.number().int().min(100).default(30_000).describe('Longest time a client may take to send the request headers'),
  maxRetries: z.number().int().min(0).default(10).describe('Retries of a message whose dependencies are missing before it is rejected'),
  retryBaseMs: z.number().int().min(1).default(1_000).describe('First retry delay; doubles on every retry'),
  retryMaxMs: z.number().int().min(1).default(300_000).describe('Upper bound of a retry delay'),
  maxFutureSeconds: z.number().min(0).default(3600).describe('How far in the future a message time may be'),
  unpinnedFileTtlSeconds: z.number().int().min(0).default(86_400).describe('How long an upload without a STORE message is kept'),
  websocketHistoryDefault: z.number().int().min(0).max(199).default(10).describe('Past messages sent first on a new WebSocket'),
  websocketMaxConnections: z.number().int().min(1).default(10_000).describe('WebSocket connection budget'),
  websocketMaxConnectionsPerIp: z
    .number()
    .int()
    .min(1)
    .default(32)
    .describe('WebSocket connections one client address may hold; more are closed at once with code 1013 and a reason'),
  balanceIndexers: z
    .array(address)
    .default([])
    .describe('Balance oracles: the only addresses whose `balances-update` posts set ALEPH balances (the chain indexer; a devnet uses its own key)'),
  registryAddress: z
    .string()
    .default('')
    .describe('Address under which the corechannel registry aggregate is served; empty = the node key address'),
  registryTag: z.string().default('mainnet').describe('Tag a corechan-operation must carry to be honoured; empty = any'),
  maxLinkedCrns: z.number().int().min(0).default(3).describe('CRNs a CCN may link'),
  ccnOwnerMinBalance: z.number().min(0).default(199_999).describe('ALEPH an address needs to create and keep a CCN'),
  stakerMinBalance: z.number().min(0).default(9_999).describe('ALEPH an address needs to stake'),
  ccnActivationStake: z.number().min(0).default(499_999).describe('Total stake at which a CCN becomes active'),
  scoresSenders: z
    .array(address)
    .default([])
    .describe('Addresses whose `aleph-scoring-scores` posts set node scores; the node key address is always one (it publishes the scores it computes)'),
  // --- Scoring and rewards ---
  scoringEnabled: z
    .boolean()
    .default(true)
    .describe('Probe the registered CCNs\' public API beside the linked CRNs, publish every probe as signed `aleph-network-metrics` posts and, every score period, the scores computed from them as signed `aleph-scoring-scores` posts'),
  metricsPublishIntervalSeconds: z.number().min(0.5).default(300).describe('Time between two metrics posts (each carries the probes made since the previous one)'),
  scorePeriodSeconds: z
    .number()
    .min(1)
    .default(3600)
    .describe('Length of a score period; periods are aligned on multiples of it (unix time) and each is scored once, when its metrics are published'),
  scoringMonitors: z
    .array(address)
    .default([])
    .describe('Addresses whose metrics posts the scores are computed from; empty = the node key address only (metrics from anyone else are ignored with a reason)'),
  multiaddress: z.string().default('').describe('Multiaddress published in /api/v0/info/public.json'),
  // --- Scheduler and health monitor of the linked CRNs ---
  schedulerEnabled: z
    .boolean()
    .default(true)
    .describe('Place persistent programs and instances on the linked CRNs and push each CRN its desired set (POST /control/allocations); the linked CRNs are probed either way'),
  nodeHash: z
    .string()
    .default('')
    .describe('This CCN\'s hash in the registry; empty = the create-node whose owner is the node key address'),
  schedulerIntervalSeconds: z
    .number()
    .min(0.1)
    .default(30)
    .describe('How often placement is recomputed and every linked CRN is pushed its full desired set (also done at once on any change)'),
  allocationPushTimeoutSeconds: z
    .number()
    .min(1)
    .default(120)
    .describe('Longest wait for a CRN to answer an allocation push (it answers once it has started the workloads)'),
  allocationRetryBaseMs: z.number().int().min(1).default(1_000).describe('First retry delay of a failed allocation push; doubles on every retry'),
  allocationRetryMaxMs: z.number().int().min(1).default(30_000).describe('Upper bound of an allocation push retry delay'),
  monitorIntervalSeconds: z.number().min(0.1).default(10).describe('Time between two probe rounds of a CRN'),
  monitorProbeTimeoutSeconds: z.number().min(0.1).default(5).describe('Timeout of one probe request'),
  monitorFailuresBeforeDown: z
    .number()
    .int()
    .min(1)
    .default(3)
    .describe('Consecutive failed probe rounds after which a CRN is marked down and its workloads move'),
  monitorReferenceVersion: z
    .string()
    .default('')
    .describe('Version passed to a CRN\'s /status/check/version?reference=; empty = probe /status/config instead'),
  monitorDiagnosticProgram: z
    .string()
    .default('')
    .describe('Hash of an on-demand program called at /vm/<hash>/ on every CRN as the diagnostic probe; empty = skipped'),
  failoverBoundSeconds: z
    .number()
    .min(1)
    .default(55)
    .describe(
      'Bound on the time from a CRN failing to its workloads being pushed to another CRN: the monitor interval, failures and probe timeout must fit in it',
    ),
  // ---- sync ----
  syncPeers: z
    .array(z.string().url().regex(/^https?:\/\//, 'must be an http(s) URL'))
    .default([])
    .describe('HTTP API URLs of CCNs to sync messages and files from, besides the peers the P2P layer and the registry name (sync works with these alone)'),
  syncIntervalSeconds: z
    .number()
    .min(0.1)
    .default(10)
    .describe('Time between two anti-entropy rounds with a peer that is caught up (a new or reconnected peer is pulled at once; a peer that is behind is pulled again at once)'),
  syncPageSize: z.number().int().min(1).max(5000).default(500).describe('Entries of one sync page, served (at most) and asked of peers'),
  syncBatchSize: z.number().int().min(1).max(200).default(100).describe('Messages asked of a peer in one batch request, and the most one batch request may ask of this node'),
  syncMaxBatchBytes: z
    .number()
    .int()
    .min(64 * 1024)
    .default(4 * 1024 * 1024)
    .describe('Bytes of envelopes one batch answer carries at most (the rest is asked again); one message is always served'),
  syncMaxResponseBytes: z
    .number()
    .int()
    .min(64 * 1024)
    .default(16 * 1024 * 1024)
    .describe('Largest sync page or batch answer read from a peer; a larger one is cut off and counts against the peer'),
  syncRequestTimeoutSeconds: z.number().min(0.1).default(20).describe('Timeout of one sync request to a peer (a page or a batch)'),
  syncMaxPagesPerRound: z.number().int().min(1).default(20).describe('Pages pulled from one peer per round before the others get their turn'),
  syncConcurrency: z.number().int().min(1).default(4).describe('Peers pulled from at once'),
  syncBackoffBaseSeconds: z.number().min(0.01).default(2).describe('First back-off after a failed round with a peer (or a failed file fetch); doubles on every failure'),
  syncBackoffMaxSeconds: z.number().min(0.01).default(300).describe('Upper bound of the back-off of a peer or a file fetch'),
  syncBanSeconds: z
    .number()
    .min(0)
    .default(600)
    .describe('How long a peer whose score fell to the ban threshold (invalid messages, lies, wrong file bytes) is not pulled from'),
  filesKept: z
    .enum(['all', 'referenced'])
    .default('all')
    .describe(
      'Which files this node keeps: `all` (every STORE\'s file), or `referenced` (only files the workloads placed on its CRNs use; other files fetched from peers are checked, then evicted once unread for fileCacheSeconds, and fetched again from peers when someone reads them)',
    ),
  fileFetchConcurrency: z.number().int().min(1).default(2).describe('Files fetched from peers at once'),
  fileFetchTimeoutSeconds: z.number().min(1).default(300).describe('Longest time one file download from a peer may take'),
  fileCacheSeconds: z
    .number()
    .min(0)
    .default(600)
    .describe('With filesKept=referenced: how long a fetched file no local workload uses stays after its last read'),
  // ---- scheduling: CCN liveness and workload ownership ----
  livenessEnabled: z
    .boolean()
    .default(true)
    .describe('Sign a heartbeat every heartbeatIntervalSeconds, exchange them with the other CCNs (gossip and HTTP) and place only the workloads this CCN manages by the network\'s ownership rule; off = this CCN places every persistent workload on its own CRNs (a lone CCN)'),
  heartbeatIntervalSeconds: z.number().min(0.2).default(10).describe('Time between two heartbeats of this CCN, and between two pulls of the peers\' heartbeats over HTTP'),
  ccnDownAfterSeconds: z.number().min(1).default(60).describe('A CCN whose latest heartbeat is older than this is down for everyone: its workloads whose CRN is down too are adopted by the others'),
  heartbeatMaxClockSkewSeconds: z
    .number()
    .min(0)
    .default(15)
    .describe('Heartbeats dated further ahead of this node\'s clock are refused; a node whose clock differs from its peers\' by more takes no new or orphaned workload (fenced) until it is fixed'),
  heartbeatPullTimeoutSeconds: z.number().min(0.1).default(5).describe('Timeout of one pull of a peer\'s heartbeats (GET /api/v0/network/heartbeats)'),
  heartbeatTopic: z.string().min(1).max(128).default('ALEPH-CCN-HEARTBEAT').describe('Gossip topic of the CCN heartbeats'),
  adoptionTimeoutSeconds: z
    .number()
    .min(1)
    .default(120)
    .describe('Bound on the time from a CCN and the CRN running a workload both dying to that workload being placed on a live CCN\'s CRN: ccnDownAfterSeconds plus the direct probes of the CRN (monitorFailuresBeforeDown × (monitorIntervalSeconds + monitorProbeTimeoutSeconds)) must fit in it'),
  // ---- peering (p2p/: libp2p, gossipsub, ALIVE announcements) ----
  p2pEnabled: z
    .boolean()
    .default(true)
    .describe('Join the CCN network on libp2p: publish accepted client messages, receive peers\' messages, announce this node; false = a lone node (publication_status then says p2p failed)'),
  p2pHost: z.string().default('').describe('Address the P2P (libp2p TCP) listener binds; empty = the `host` setting'),
  p2pPort: z.number().int().min(0).max(65_535).default(4025).describe('P2P (libp2p TCP) port (0 = any free port, reported in the log and GET /api/v0/p2p/peers)'),
  p2pBootstrap: z
    .array(
      z
        .string()
        .max(1024)
        // TCP is the only transport peering runs.
        .regex(/^\/(ip4|ip6|dns|dns4|dns6)\/[^/]+\/tcp\/\d{1,5}(\/p2p\/[1-9A-HJ-NP-Za-km-z]{40,60})?$/, 'must be a multiaddress like /ip4/1.2.3.4/tcp/4025 or /dns4/host/tcp/4025/p2p/<peer id>'),
    )
    .default([])
    .describe('Peers dialed at start and redialed with back-off, e.g. /ip4/1.2.3.4/tcp/4025/p2p/12D3Koo…; without /p2p/ the peer id is learned on connection. Their ALIVE announcements are accepted'),
  p2pTopic: z.string().min(1).max(256).default('ALEPH-TEST').describe('Gossip topic of messages (pyaleph\'s aleph.queue_topic)'),
  p2pAliveTopic: z.string().min(1).max(256).default('ALIVE').describe('Gossip topic of the ALIVE announcements (pyaleph\'s p2p.alive_topic)'),
  p2pAliveIntervalSeconds: z.number().min(1).default(120).describe('Time between two ALIVE announcements of this node (pyaleph: 120 s); one also goes out when a peer joins the topic'),
  p2pAnnounceHost: z
    .string()
    .default('')
    .describe('Host (IP or DNS name) other nodes reach this node at, in its ALIVE announcements; empty = the listen host, or the first external IPv4 when listening on all addresses'),
  p2pRedialSeconds: z
    .number()
    .min(1)
    .default(60)
    .describe('Longest back-off between two dials of an unreachable peer, and how often the registry\'s CCN multiaddresses are re-read (pyaleph: 60 s)'),
  p2pMaxMessageBytes: z
    .number()
    .int()
    .min(1024)
    .max(4 * 1024 * 1024)
    .default(262_144)
    .describe('Largest gossip message sent or accepted (pyaleph\'s P2P service: 262144); larger messages travel by anti-entropy only'),
  p2pDedupeCacheSize: z.number().int().min(1).default(200_000).describe('Messages remembered (sender, item_hash, signature) to drop gossip duplicates (pyaleph: 200000)'),
  p2pRateLimitPerSecond: z
    .number()
    .min(0.1)
    .default(200)
    .describe('Messages per second one peer may relay to this node on average; excess is dropped and lowers the peer\'s score'),
  p2pRateLimitBurst: z.number().int().min(1).default(2_000).describe('Messages one peer may relay in a burst above p2pRateLimitPerSecond'),
  p2pBanSeconds: z
    .number()
    .min(1)
    .default(600)
    .describe('How long a peer whose gossip score fell below the graylist threshold stays disconnected and refused'),
  // ---- pricing (packages/protocol/src/cost) ----
  pricingOwner: address
    .default(PRICING_AGGREGATE_OWNER)
    .describe('Owner of the `pricing` and `settings` aggregates costs are computed from (pyaleph\'s); a network that publishes none uses pyaleph\'s default prices'),
  freeStoreAndProgramBeforeTime: z
    .number()
    .default(DEFAULT_PAYMENT_CUTOFFS.freeStoreAndProgramBeforeTime)
    .describe('STOREs and on-demand programs whose message time is earlier are free (pyaleph: 1743775079)'),
  holdAndStreamRefusedFromTime: z
    .number()
    .default(DEFAULT_PAYMENT_CUTOFFS.holdAndStreamRefusedFromTime)
    .describe('From this message time, instances and persistent programs paid by hold or stream are rejected with INVALID_PAYMENT_METHOD (202) (pyaleph: 1773187200)'),
  creditOnlyFromTime: z
    .number()
    .default(DEFAULT_PAYMENT_CUTOFFS.creditOnlyFromTime)
    .describe('From this message time, every paid PROGRAM, INSTANCE and STORE must pay with credits (202 otherwise) (pyaleph: 1798761600)'),
  // ---- payments (packages/ccn/src/payments) ----
  paymentChecks: z
    .boolean()
    .default(true)
    .describe('Enforce payments: refuse what the owner cannot pay (5, 6, 202) and remove what stops being paid. false records costs only (test networks without an oracle)'),
  creditOracles: z
    .array(address)
    .default(['0x2E4454fAD1906c0Ce6e45cBFA05cE898Ac3AC1dC'])
    .describe('Credit oracles: the only addresses whose ALEPH_CREDIT posts (aleph_credit_distribution / _expense / _transfer) move credits (pyaleph\'s credit sender by default)'),
  flowOracles: z
    .array(address)
    .default([])
    .describe('Flow oracles: the only addresses whose `aleph-flows-update` posts set pay-as-you-go flow rates'),
  removingGraceSeconds: z
    .number()
    .int()
    .min(0)
    .default(90_000)
    .describe('How long a message whose payment lapsed stays `removing` (a top-up restores it) before it is `removed` (pyaleph: 25 h)'),
  paymentCheckIntervalSeconds: z
    .number()
    .int()
    .min(1)
    .max(86_400)
    .default(1800)
    .describe('Payment period: hold and credit checks and credit consumption run at each multiple of it (unix time), the same instants on every CCN'),
  paymentBackdateToleranceSeconds: z
    .number()
    .int()
    .min(0)
    .default(86_400)
    .describe('The payment cutoffs judge a message by max(its time, its reception here − this): a message dated long before it arrived cannot escape a cutoff'),
}).superRefine((c, ctx) => {
  // Worst case to detect a dead CRN: N rounds, each waiting for its interval and its probe timeout;
  // then one placement and one push (bounded by the push timeout only when the target is slow).
  const detection = c.monitorFailuresBeforeDown * (c.monitorIntervalSeconds + c.monitorProbeTimeoutSeconds);
  // A silent CCN is down after ccnDownAfterSeconds; its CRNs' probes start at half of it, and in
  // the worst case (the CRN dies later than its CCN) all of them still have to fail.
  if (c.livenessEnabled && c.ccnDownAfterSeconds + detection > c.adoptionTimeoutSeconds) {
    ctx.addIssue({
      code: 'custom',
      path: ['adoptionTimeoutSeconds'],
      message: `ccnDownAfterSeconds + monitorFailuresBeforeDown × (monitorIntervalSeconds + monitorProbeTimeoutSeconds) = ${c.ccnDownAfterSeconds + detection} s exceeds adoptionTimeoutSeconds (${c.adoptionTimeoutSeconds} s)`,
    });
  }
  if (c.livenessEnabled && c.ccnDownAfterSeconds < 2 * c.heartbeatIntervalSeconds) {
    ctx.addIssue({ code: 'custom', path: ['ccnDownAfterSeconds'], message: `must be at least two heartbeat intervals (${2 * c.heartbeatIntervalSeconds} s): one lost heartbeat must not make a CCN down` });
  }
  if (detection > c.failoverBoundSeconds) {
    ctx.addIssue({
      code: 'custom',
      path: ['failoverBoundSeconds'],
      message: `monitorFailuresBeforeDown × (monitorIntervalSeconds + monitorProbeTimeoutSeconds) = ${detection} s exceeds failoverBoundSeconds (${c.failoverBoundSeconds} s)`,
    });
  }
});
export type CcnConfig = z.infer<typeof CcnConfigSchema>;

export function loadCcnConfig(opts: Omit<LoadConfigOptions, 'envPrefix'> = {}): CcnConfig {
  return loadConfig(CcnConfigSchema, { ...opts, envPrefix: 'CCN' });
}

/** A complete config from partial settings (tests and embedders). */
export function ccnConfig(overrides: Partial<CcnConfig> = {}): CcnConfig {
  return CcnConfigSchema.parse(overrides);
}
