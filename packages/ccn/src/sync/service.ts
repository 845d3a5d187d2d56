/**
 * Anti-entropy of one CCN: a pull loop per peer (every HTTP URL the peer directory knows, which
 * includes the `syncPeers` setting), the files waited for, and, with `filesKept: referenced`, the
 * eviction of fetched files no local workload uses. Each peer is pulled every
 * `syncIntervalSeconds` once caught up, again at once while it is behind, at once when the
 * directory announces it (new or reconnected), and not before its back-off ends after a failure.
 */
import { ServiceLoop, type Logger } from '@aleph-nodes/service';
import type { CcnConfig } from '../config.ts';
import type { PeerDirectory } from '../network/peers.ts';
import type { MessageProcessor } from '../processing/processor.ts';
import type { Stores } from '../stores.ts';
import { FileFetcher } from './file-fetcher.ts';
import { FileWants, neededFile, type FilePurpose } from './file-wants.ts';
import { PeerError } from './http.ts';
import { PeerScore } from './peer-score.ts';
import { emptyStats, pullRound, type PullContext, type PullPeer } from './puller.ts';
import { SyncRepo } from './repo.ts';
import { fileWaitCodes, peerStatus, type SyncStatus } from './status.ts';

export interface SyncDeps {
  stores: Stores;
  processor: MessageProcessor;
  config: CcnConfig;
  peers: PeerDirectory;
  /** This node's own API URL (never pulled from); empty until it listens. */
  selfUrl(): string;
  log: Logger;
  /** Unix seconds. */
  clock(): number;
}

interface PeerRecord extends PullPeer {
  running: boolean;
  timer: NodeJS.Timeout | undefined;
}

/** Files a scan of waiting messages looks at per pass. */
const SCAN_LIMIT = 1000;

export class SyncService {
  readonly repo: SyncRepo;
  readonly #deps: SyncDeps;
  readonly #records = new Map<string, PeerRecord>();
  readonly #inflight = new Map<string, Promise<boolean>>();
  readonly #onDemand = new Map<string, Promise<boolean>>();
  readonly #abort = new AbortController();
  readonly #fetcher: FileFetcher;
  readonly #wants: FileWants;
  readonly #pull: PullContext;
  #slots: number;
  readonly #queue: (() => void)[] = [];
  /** The scan for messages waiting for files (and the eviction), every sync interval. */
  #scanLoop: ServiceLoop | undefined;
  #stopped = false;
  #evicted = 0;

  constructor(deps: SyncDeps) {
    this.#deps = deps;
    const c = deps.config;
    this.repo = new SyncRepo(deps.stores.db);
    this.#slots = c.syncConcurrency;
    const nowMs = (): number => deps.clock() * 1000;
    this.#pull = {
      repo: this.repo,
      processor: deps.processor,
      log: deps.log,
      pageSize: c.syncPageSize,
      batchSize: c.syncBatchSize,
      maxPages: c.syncMaxPagesPerRound,
      limits: { timeoutMs: c.syncRequestTimeoutSeconds * 1000, maxBytes: c.syncMaxResponseBytes, signal: this.#abort.signal },
      inflight: this.#inflight,
      nowMs,
    };
    this.#fetcher = new FileFetcher({
      store: deps.stores.fileStore,
      record: async (hash, engine, size) => {
        const now = deps.clock();
        await deps.stores.files.upsert(hash, engine, size, now, now + c.unpinnedFileTtlSeconds);
        await this.repo.recordFetched(hash, now);
      },
      peers: () => [...this.#records.values()].filter((r) => this.#urls().includes(r.url)),
      log: deps.log,
      timeoutMs: c.fileFetchTimeoutSeconds * 1000,
      requestTimeoutMs: c.syncRequestTimeoutSeconds * 1000,
      nowMs,
      signal: this.#abort.signal,
    });
    this.#wants = new FileWants({
      fetch: (hash, purpose) => this.#fetcher.fetch(hash, this.#maxBytes(purpose)),
      arrived: (hash, waiters) => this.#arrived(hash, waiters),
      concurrency: c.fileFetchConcurrency,
      backoffBaseMs: c.syncBackoffBaseSeconds * 1000,
      backoffMaxMs: c.syncBackoffMaxSeconds * 1000,
      maxAttempts: 30,
      maxWants: 10_000,
      log: deps.log,
      nowMs,
    });
  }

  start(): void {
    const { peers, config, processor, stores } = this.#deps;
    for (const url of config.syncPeers) peers.upsert({ httpUrl: url, multiaddrs: [], source: 'config' });
    peers.events.on('changed', this.#onPeerChanged);
    processor.events.on('accepted', (message) => {
      const need = neededFile({ itemHash: message.item_hash, type: message.type, itemType: message.item_type, itemContent: message.item_content }, stores.fileStore);
      if (need && !stores.fileStore.has(need.hash)) this.#wants.want(need.hash, need.purpose, message.item_hash);
    });
    this.#reconcile();
    this.#scanLoop = new ServiceLoop({ name: 'sync scan', log: this.#deps.log, intervalMs: config.syncIntervalSeconds * 1000, round: () => this.#scan() });
    this.#scanLoop.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#deps.peers.events.off('changed', this.#onPeerChanged);
    this.#abort.abort();
    const scanStopped = this.#scanLoop?.stop();
    this.#wants.stop();
    for (const r of this.#records.values()) if (r.timer) clearTimeout(r.timer);
    // Rounds in flight end on the abort; wait for them so the database closes after them.
    await scanStopped;
    while ([...this.#records.values()].some((r) => r.running)) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Makes sure a known file's bytes are here, fetching them from peers if needed (reads on a `referenced` node). */
  async ensureFile(hash: string): Promise<boolean> {
    const { stores } = this.#deps;
    if (stores.fileStore.has(hash)) {
      // The eviction of `referenced` nodes spares files read recently.
      if (this.#deps.config.filesKept === 'referenced') await this.repo.touchFetched(hash, this.#deps.clock());
      return true;
    }
    // Only files this node knows of (a STORE or an upload recorded them): a visitor cannot make
    // the node fetch arbitrary hashes from its peers.
    if (!(await this.repo.fileRow(hash))) return false;
    let pending = this.#onDemand.get(hash);
    if (!pending) {
      pending = this.#fetcher.fetch(hash, this.#maxBytes('store')).finally(() => this.#onDemand.delete(hash));
      this.#onDemand.set(hash, pending);
    }
    return pending;
  }

  async status(): Promise<SyncStatus> {
    const cursors = await this.repo.cursors();
    const urls = this.#urls();
    return {
      last_seq: await this.repo.lastSeq(),
      files_kept: this.#deps.config.filesKept,
      peers: [...this.#records.values()].map((r) => peerStatus(r, cursors.get(r.url) ?? 0, urls.includes(r.url), this.#deps.clock() * 1000)),
      files: { wanted: this.#wants.size, given_up: this.#wants.givenUp, evicted: this.#evicted, ...this.#fetcher.stats },
    };
  }

  readonly #onPeerChanged = (): void => {
    // A new or reconnected peer: pull it now unless it is backed off (a ban is not lifted by
    // reconnecting).
    this.#reconcile(true);
  };

  #urls(): string[] {
    const self = this.#deps.selfUrl().replace(/\/+$/, '');
    return [...new Set(this.#deps.peers.httpUrls().map((u) => u.replace(/\/+$/, '')))].filter((u) => u !== self && /^https?:\/\//.test(u));
  }

  #reconcile(kickAll = false): void {
    if (this.#stopped) return;
    const policy = { baseMs: this.#deps.config.syncBackoffBaseSeconds * 1000, maxMs: this.#deps.config.syncBackoffMaxSeconds * 1000, banMs: this.#deps.config.syncBanSeconds * 1000 };
    for (const url of this.#urls()) {
      let record = this.#records.get(url);
      if (!record) {
        record = { url, score: new PeerScore(policy), stats: emptyStats(), running: false, timer: undefined };
        this.#records.set(url, record);
        this.#schedule(record, 0);
      } else if (kickAll && !record.running) {
        this.#schedule(record, Math.max(0, record.score.notBefore - this.#deps.clock() * 1000));
      }
    }
  }

  #schedule(record: PeerRecord, delayMs: number): void {
    if (this.#stopped) return;
    if (record.timer) clearTimeout(record.timer);
    record.timer = setTimeout(() => void this.#run(record), Math.min(Math.max(0, delayMs), 2_147_483_647));
    record.timer.unref();
  }

  async #run(record: PeerRecord): Promise<void> {
    record.timer = undefined;
    if (this.#stopped || record.running || !this.#urls().includes(record.url)) return;
    const now = this.#deps.clock() * 1000;
    if (!record.score.allowed(now)) {
      this.#schedule(record, record.score.notBefore - now);
      return;
    }
    record.running = true;
    await this.#acquire();
    let failure: PeerError | undefined;
    let caughtUp = false;
    try {
      ({ caughtUp, failure } = await pullRound(this.#pull, record));
    } catch (err) {
      if (err instanceof PeerError) failure = err;
      else if (!this.#stopped) {
        this.#deps.log.error({ err, peer: record.url }, 'sync round failed unexpectedly');
        failure = new PeerError('transport', (err as Error).message);
      }
    } finally {
      this.#release();
      record.running = false;
    }
    if (this.#stopped) return;
    const after = this.#deps.clock() * 1000;
    if (failure) {
      const until = record.score.penalize(failure.kind, failure.message, after, failure.count);
      this.#deps.log[failure.kind === 'transport' || failure.kind === 'status' ? 'debug' : 'warn'](
        { peer: record.url, kind: failure.kind, score: record.score.score, err: failure.message },
        'sync round with a peer failed',
      );
      this.#schedule(record, until - after);
      return;
    }
    record.score.succeed();
    record.stats.lastSuccess = after / 1000;
    this.#schedule(record, caughtUp ? this.#deps.config.syncIntervalSeconds * 1000 : 0);
  }

  async #acquire(): Promise<void> {
    if (this.#slots > 0) {
      this.#slots -= 1;
      return;
    }
    await new Promise<void>((resolve) => this.#queue.push(resolve));
  }

  #release(): void {
    const next = this.#queue.shift();
    if (next) next();
    else this.#slots += 1;
  }

  #maxBytes(purpose: FilePurpose): number {
    const c = this.#deps.config;
    // A content document was uploaded with add_json (anonymous limit); a STORE's file may be
    // as large as a signed upload.
    return purpose === 'content' ? c.maxAnonymousUploadBytes : Math.max(c.maxSignedUploadBytes, c.maxAnonymousUploadBytes);
  }

  async #arrived(hash: string, waiters: readonly string[]): Promise<void> {
    const { processor, stores } = this.#deps;
    await processor.dependencyAvailable();
    for (const itemHash of waiters) {
      const row = await stores.messages.get(itemHash);
      if (row?.status === 'rejected' && fileWaitCodes.has(row.error_code ?? -2)) {
        // It ran out of retries before the file came: a fresh attempt, from the local copy.
        await processor.submit(JSON.parse(row.raw) as unknown, 'sync').catch((err: unknown) => this.#deps.log.debug({ err, itemHash }, 'could not re-submit'));
      }
    }
    this.#deps.log.debug({ hash, waiters: waiters.length }, 'file arrived; waiting messages woken');
  }

  /** Finds pending messages waiting for a file (also after a restart) and, if set, evicts files. */
  async #scan(): Promise<void> {
    if (this.#stopped) return;
    const { stores } = this.#deps;
    try {
      for (const m of await this.repo.waitingForFiles([...fileWaitCodes], ['pending'], SCAN_LIMIT)) {
        const need = neededFile(m, stores.fileStore);
        if (need && !stores.fileStore.has(need.hash)) this.#wants.want(need.hash, need.purpose, m.itemHash);
      }
      if (this.#deps.config.filesKept === 'referenced') await this.#evict();
    } catch (err) {
      if (!this.#stopped) this.#deps.log.error({ err }, 'sync scan failed');
    }
  }

  /**
   * `filesKept: referenced`: files fetched from peers (never uploads made here, whose only copy
   * may be this one), pinned by a processed STORE, unread for `fileCacheSeconds` and used by no
   * workload placed on this node's CRNs lose their bytes; their `files` row (size) stays, and a
   * read fetches them again (ensureFile).
   */
  async #evict(): Promise<void> {
    const { stores, config } = this.#deps;
    const keep = await this.repo.referencedFiles();
    for (const hash of await this.repo.evictionCandidates(this.#deps.clock() - config.fileCacheSeconds, SCAN_LIMIT)) {
      if (keep.has(hash)) continue;
      stores.fileStore.delete(hash);
      await this.repo.markEvicted(hash);
      this.#evicted += 1;
    }
  }
}
