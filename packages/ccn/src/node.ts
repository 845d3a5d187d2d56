/**
 * The Core Channel Node: stores, processing pipeline, registry and HTTP API, with an explicit
 * lifecycle (created → starting → running → stopping → stopped).
 */
import { join } from 'node:path';
import type { EthAccount } from '@aleph-nodes/protocol';
import { createLogger, loadOrCreateKeyFile, ServiceLoop, type Logger } from '@aleph-nodes/service';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './api/server.ts';
import type { CcnConfig } from './config.ts';
import { ccnApiUrl } from './monitor/ccn-probes.ts';
import { HealthMonitor } from './monitor/health-monitor.ts';
import { Liveness } from './network/liveness.ts';
import { PeerMonitor, type PeerTarget } from './monitor/peer-monitor.ts';
import { PeerDirectory } from './network/peers.ts';
import { loadOrCreateP2pIdentity } from './p2p/identity.ts';
import { PeeringService } from './p2p/peering.ts';
import { PaymentJob } from './payments/job.ts';
import { MessageProcessor } from './processing/processor.ts';
import { RegistryService } from './registry/registry-service.ts';
import { Scheduler } from './scheduler/scheduler.ts';
import { ScoringService } from './scoring/service.ts';
import { databaseTargetOf, openStores, type Stores } from './stores.ts';
import { SyncService } from './sync/service.ts';

export const CCN_VERSION = '0.1.0';
/** How often unpinned uploads past their grace period are deleted. */
const GC_INTERVAL_MS = 10 * 60_000;

export type CcnState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

export interface CcnOptions {
  logger?: Logger;
  /** Unix seconds; injected by tests. */
  clock?: () => number;
}

export class CcnNode {
  readonly config: CcnConfig;
  readonly #log: Logger;
  readonly #clock: () => number;
  #state: CcnState = 'created';
  #stores: Stores | undefined;
  #processor: MessageProcessor | undefined;
  #monitor: HealthMonitor | undefined;
  #scheduler: Scheduler | undefined;
  #liveness: Liveness | undefined;
  #peerMonitor: PeerMonitor | undefined;
  #scoring: ScoringService | undefined;
  #sync: SyncService | undefined;
  #peering: PeeringService | undefined;
  /** The CCNs this node knows (configuration, registry, announcements): peering fills it; anti-entropy and liveness read it. */
  readonly #peers = new PeerDirectory();
  #app: FastifyInstance | undefined;
  #gc: ServiceLoop | undefined;
  #payments: PaymentJob | undefined;
  #url = '';
  #address = '';

  constructor(config: CcnConfig, opts: CcnOptions = {}) {
    this.config = config;
    this.#log = opts.logger ?? createLogger({ name: 'ccn', level: config.logLevel });
    this.#clock = opts.clock ?? (() => Date.now() / 1000);
  }

  get state(): CcnState {
    return this.#state;
  }

  /** Base URL of the API, e.g. http://127.0.0.1:4024. */
  get url(): string {
    return this.#url;
  }

  /** The node key's Ethereum address. */
  get address(): string {
    return this.#address;
  }

  async start(): Promise<void> {
    if (this.#state !== 'created') throw new Error(`cannot start a node that is ${this.#state}`);
    this.#state = 'starting';
    try {
      const { account, created } = loadOrCreateKeyFile(this.config.keyFile || join(this.config.dataDir, 'node.key'));
      this.#address = account.address;
      if (created) this.#log.info({ address: account.address }, 'created a new node key');
      const stores = await openStores(this.config.dataDir, databaseTargetOf(this.config.dataDir, this.config.db, this.config.pgSchema));
      this.#stores = stores;
      const registry = new RegistryService(stores.messages, this.config.registryAddress || account.address, {
        tag: this.config.registryTag,
        maxLinkedCrns: this.config.maxLinkedCrns,
        ccnOwnerMinBalance: this.config.ccnOwnerMinBalance,
        stakerMinBalance: this.config.stakerMinBalance,
        ccnActivationStake: this.config.ccnActivationStake,
        balanceIndexers: this.config.balanceIndexers,
        // The node publishes the scores it computes: its own key is always a scores sender.
        scoresSenders: [...this.config.scoresSenders, account.address],
      });
      const processor = new MessageProcessor(stores, this.config, this.#log.child({ component: 'processor' }), this.#clock);
      processor.events.on('processed', (row) => registry.onProcessed(row));
      this.#processor = processor;
      const network = this.#createNetwork(stores, registry, account);
      processor.events.on('processed', (row) => network.scheduler.onProcessed(row));
      this.#startState(processor, registry, network.scheduler);
      const sync = this.#startSync(stores, processor);
      this.#app = await buildApp(
        { stores, processor, config: this.config, registry, nodeAddress: account.address, version: CCN_VERSION, clock: this.#clock, network, sync, p2p: () => this.#peering },
        this.#log,
      );
      await this.#app.listen({ host: this.config.host, port: this.config.port });
      const addr = this.#app.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : this.config.port;
      const host = this.config.host === '0.0.0.0' || this.config.host === '::' ? '127.0.0.1' : this.config.host;
      this.#url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
      processor.start();
      await this.#startPeering(stores, processor, registry);
      if (this.#peering) this.#liveness?.attachGossip(this.#peering.gossip);
      network.monitor.start();
      await this.#startScheduling();
      network.scheduler.start();
      this.#startScoring(stores, processor, registry, account);
      this.#gc = new ServiceLoop({ name: 'file garbage collection', log: this.#log, intervalMs: GC_INTERVAL_MS, initialDelayMs: GC_INTERVAL_MS, round: () => this.#collectGarbage() });
      this.#gc.start();
      // Payments: consumption, hold and credit checks, removing → removed.
      this.#payments = new PaymentJob({
        stores,
        settings: this.config,
        log: this.#log.child({ component: 'payments' }),
        clock: this.#clock,
        changed: () => network.scheduler.trigger(),
      });
      this.#payments.start();
      this.#state = 'running';
      this.#log.info({ url: this.#url, address: this.#address, registry: registry.address, db: stores.engine }, 'ccn listening');
    } catch (err) {
      this.#state = 'failed';
      await this.#release();
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'stopping') return;
    this.#state = 'stopping';
    await this.#release();
    this.#state = 'stopped';
  }

  async #release(): Promise<void> {
    await this.#gc?.stop();
    // The worker finishes its batch and sync waiters answer (202, still pending); then the API
    // drains its requests; the database closes last.
    // The scheduler first (its pushes in flight end), then the monitor, then the pipeline.
    // Peering and sync stop before anything: no peer message may arrive into a closing pipeline.
    await this.#peering?.stop();
    this.#peering = undefined;
    await this.#sync?.stop();
    await this.#scoring?.stop();
    await this.#peerMonitor?.stop();
    // Liveness first: it resolves the scheduler's wait for the first round of heartbeats.
    this.#liveness?.stop();
    await this.#scheduler?.stop();
    await this.#monitor?.stop();
    await this.#payments?.stop();
    await this.#processor?.stop();
    if (this.#app) await this.#app.close();
    await this.#stores?.close();
    this.#app = undefined;
    this.#stores = undefined;
  }

  /**
   * Same state everywhere: a processed message judged again because a late
   * message changed its verdict (processing/convergence.ts) leaves the registry cache and the
   * placements like any change does.
   */
  #startState(processor: MessageProcessor, registry: RegistryService, scheduler: Scheduler): void {
    processor.events.on('retracted', (row) => {
      registry.onProcessed(row);
      if (row.type === 'PROGRAM' || row.type === 'INSTANCE' || row.type === 'FORGET' || row.type === 'POST') scheduler.trigger();
    });
  }

  /**
   * The health monitor and the scheduler of the linked CRNs, and the liveness of the
   * other CCNs that decides which workloads this one manages.
   */
  #createNetwork(stores: Stores, registry: RegistryService, account: EthAccount): { scheduler: Scheduler; monitor: HealthMonitor; liveness?: Liveness } {
    const c = this.config;
    let scheduler: Scheduler | undefined;
    const liveness = c.livenessEnabled
      ? new Liveness(
          {
            heartbeatIntervalSeconds: c.heartbeatIntervalSeconds,
            ccnDownAfterSeconds: c.ccnDownAfterSeconds,
            heartbeatMaxClockSkewSeconds: c.heartbeatMaxClockSkewSeconds,
            heartbeatPullTimeoutSeconds: c.heartbeatPullTimeoutSeconds,
            heartbeatTopic: c.heartbeatTopic,
            stateFile: join(c.dataDir, 'heartbeats.json'),
            probeIntervalSeconds: c.monitorIntervalSeconds,
            probeTimeoutSeconds: c.monitorProbeTimeoutSeconds,
            probeFailuresBeforeGone: c.monitorFailuresBeforeDown,
          },
          {
            account,
            registry,
            ownState: () => scheduler?.heartbeatState() ?? null,
            peerUrls: () => this.#peerUrls(registry),
            clock: this.#clock,
            log: this.#log.child({ component: 'liveness' }),
          },
        )
      : undefined;
    liveness?.events.on('changed', () => scheduler?.trigger());
    const monitor = new HealthMonitor(
      stores.probes,
      {
        intervalMs: c.monitorIntervalSeconds * 1000,
        failuresBeforeDown: c.monitorFailuresBeforeDown,
        timeoutMs: c.monitorProbeTimeoutSeconds * 1000,
        referenceVersion: c.monitorReferenceVersion,
        diagnosticProgram: c.monitorDiagnosticProgram,
      },
      (hash, from, to) => {
        if (to === 'healthy' && from === 'down') scheduler?.crnRecovered(hash);
        else scheduler?.trigger();
      },
      this.#log.child({ component: 'monitor' }),
    );
    scheduler = new Scheduler({ stores, registry, account, config: c, monitor, log: this.#log.child({ component: 'scheduler' }), clock: this.#clock, network: liveness });
    this.#monitor = monitor;
    this.#scheduler = scheduler;
    this.#liveness = liveness;
    return liveness ? { scheduler, monitor, liveness } : { scheduler, monitor };
  }

  /**
   * Liveness: heartbeats start once the API answers at its URL (the heartbeat names
   * it). Gossip is optional: without it heartbeats travel by HTTP pulls only; the P2P layer, once
   * running, hands its Gossip to `Liveness.attachGossip`.
   */
  async #startScheduling(): Promise<void> {
    await this.#liveness?.start(this.#url);
  }

  /** HTTP URLs of the other CCNs: the `syncPeers` setting, the registry's CCNs (their API URL) and the peer directory. */
  async #peerUrls(registry: RegistryService): Promise<string[]> {
    const { value } = await registry.snapshot();
    const fromRegistry = value.nodes.flatMap((n) => {
      const url = ccnApiUrl(n);
      return url ? [url] : [];
    });
    return [...new Set([...this.config.syncPeers, ...fromRegistry, ...this.#peers.httpUrls()])];
  }

  /**
   * Anti-entropy: pulls every peer's messages after a per-peer cursor and fetches the
   * files this node lacks (sync/). Started before the API is built (its routes show its status;
   * files are fetched on demand through it); its first rounds may run before the API listens,
   * which only stores pending messages until the processor starts.
   */
  #startSync(stores: Stores, processor: MessageProcessor): SyncService {
    this.#sync = new SyncService({
      stores,
      processor,
      config: this.config,
      peers: this.#peers,
      selfUrl: () => this.#url,
      log: this.#log.child({ component: 'sync' }),
      clock: this.#clock,
    });
    this.#sync.start();
    return this.#sync;
  }

  /**
   * Peering: the libp2p identity (`p2p.key` in the data dir), gossip of messages and
   * ALIVE announcements, dialing of bootstrap and registry peers. Started once the API listens,
   * so the HTTP URL it announces is known; `p2pEnabled: false` leaves the node alone.
   */
  async #startPeering(stores: Stores, processor: MessageProcessor, registry: RegistryService): Promise<void> {
    const c = this.config;
    if (!c.p2pEnabled) return;
    const identity = await loadOrCreateP2pIdentity(c.dataDir);
    if (identity.created) this.#log.info({ peerId: identity.peerId, path: identity.path }, 'created a new P2P identity');
    if (identity.readableByOthers) this.#log.warn({ path: identity.path }, 'the P2P key file is readable by other users (chmod 600 it)');
    this.#peering = await PeeringService.start({
      config: c,
      identity,
      processor,
      stores,
      registry,
      directory: this.#peers,
      httpUrl: this.#url,
      version: CCN_VERSION,
      log: this.#log.child({ component: 'p2p' }),
    });
  }

  /**
   * Scoring: the CCNs' public APIs are probed beside the CRNs, and the probes are
   * published as metrics posts, then scores (see scoring/service.ts).
   */
  #startScoring(stores: Stores, processor: MessageProcessor, registry: RegistryService, account: EthAccount): void {
    const c = this.config;
    if (!c.scoringEnabled) return;
    const own = (n: { hash: string; owner: string }): boolean => (c.nodeHash ? n.hash === c.nodeHash : n.owner.toLowerCase() === account.address.toLowerCase());
    const targets = async (): Promise<PeerTarget[]> => {
      const { value } = await registry.snapshot();
      const out: PeerTarget[] = [];
      for (const n of value.nodes) {
        const url = own(n) ? this.#url : ccnApiUrl(n);
        if (url) out.push({ hash: n.hash, url });
      }
      return out;
    };
    this.#peerMonitor = new PeerMonitor(
      stores.probes,
      { intervalMs: c.monitorIntervalSeconds * 1000, timeoutMs: c.monitorProbeTimeoutSeconds * 1000 },
      targets,
      this.#log.child({ component: 'peer-monitor' }),
    );
    this.#scoring = new ScoringService(
      { probes: stores.probes, messages: stores.messages, processor, registry, account, server: () => this.#url, clock: this.#clock, log: this.#log.child({ component: 'scoring' }) },
      {
        metricsIntervalSeconds: c.metricsPublishIntervalSeconds,
        scorePeriodSeconds: c.scorePeriodSeconds,
        lagSeconds: c.monitorProbeTimeoutSeconds + 1,
        monitors: c.scoringMonitors.length > 0 ? c.scoringMonitors : [account.address],
        tag: c.registryTag,
        syncTimeoutMs: c.syncTimeoutMs,
      },
    );
    this.#peerMonitor.start();
    this.#scoring.start();
  }

  /** Deletes unpinned uploads whose grace period is over. */
  async #collectGarbage(): Promise<void> {
    const stores = this.#stores;
    if (!stores) return;
    for (const file of await stores.files.expiredUnpinned(this.#clock())) {
      // Message contents stored as files (non-inline messages) stay while their message exists.
      if (await stores.messages.get(file.hash)) continue;
      await stores.files.delete(file.hash);
      stores.fileStore.delete(file.hash);
    }
  }
}

/** What `ccn start` needs of a running node. */
export interface RunningCcn {
  url: string;
  /** The node key's address (registry publisher, allocation signer). */
  address: string;
  close(): Promise<void>;
}

/** Starts a node; resolves once the API answers (GET /api/v0/messages.json → 200). */
export async function startCcn(config: CcnConfig, opts: CcnOptions = {}): Promise<CcnNode & RunningCcn> {
  const node = new CcnNode(config, opts);
  await node.start();
  return node;
}
