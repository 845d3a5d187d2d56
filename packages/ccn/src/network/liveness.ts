/**
 * Liveness of the CCNs: this node signs a heartbeat every `heartbeatIntervalSeconds`, publishes it
 * on the heartbeat gossip topic when a Gossip is attached, and keeps the latest verified
 * heartbeat of every CCN, heard on gossip or pulled over HTTP from its peers
 * (`GET /api/v0/network/heartbeats` serves the whole table, so liveness converges through any
 * path between two CCNs, with or without gossip). Heartbeats are not messages: only the latest
 * of each CCN is kept (in memory, and in a small file so that a restart remembers where a dead
 * CCN had placed its workloads).
 *
 * A CCN is live while its latest heartbeat is at most `ccnDownAfterSeconds` old (its own clock;
 * heartbeats dated more than `heartbeatMaxClockSkewSeconds` ahead are refused). This node is
 * always live to itself, except that it FENCES itself (takes no new or orphaned workload) when
 * its clock disagrees with its peers' by more than that skew: then its heartbeats would be
 * refused or mistimed by the others and it could place what they place.
 */
import { EventEmitter } from 'node:events';
import type { Gossip, GossipVerdict } from './gossip.ts';
import { HeartbeatEnvelopeSchema, HeartbeatError, signHeartbeat, verifyHeartbeat, type HeartbeatEnvelope, type HeartbeatPayload } from './liveness-heartbeat.ts';
import { OrphanProber } from './liveness-prober.ts';
import type { HeartbeatEntry, HeartbeatSource, LivenessDeps, LivenessEvents, LivenessSettings, OfferResult } from './liveness-types.ts';
import { ClockOffsets } from './liveness-clock.ts';
import { fetchHeartbeats } from './liveness-pull.ts';
import { readHeartbeatsFile, writeHeartbeatsFile } from './liveness-store.ts';
import { viewOfHeartbeat } from './liveness-views.ts';
import type { CcnView } from '../scheduler/ownership.ts';

const PEER_POOL = 16;
/** Probe rounds a CRN stays probed after a confirmation was asked (asking again extends it). */
const CONFIRM_ROUNDS = 10;
/** Coalesces the announcements of one burst of decisions into one heartbeat. */
const ANNOUNCE_DELAY_MS = 200;

export class Liveness {
  readonly events = new EventEmitter<LivenessEvents>();
  readonly #s: LivenessSettings;
  readonly #d: LivenessDeps;
  readonly #table = new Map<string, HeartbeatEntry>();
  readonly #prober: OrphanProber;
  /** Per peer URL: its clock minus ours, from its last answer. */
  readonly #offsets = new ClockOffsets();
  #timer: NodeJS.Timeout | undefined;
  #announcing: NodeJS.Timeout | undefined;
  #gossip: Gossip | undefined;
  #selfUrl = '';
  #stopped = false;
  #ticking = false;
  #dirty = false;
  #liveKey = '';
  #warnedSigner = false;
  /** Registry URL of every CRN, the CRNs of silent CCNs, and the CRNs whose claims are being confirmed. */
  #crnUrls = new Map<string, string>();
  #silentTargets = new Map<string, string>();
  readonly #confirming = new Map<string, { url: string; until: number }>();
  #markReady: () => void = () => undefined;
  readonly #ready = new Promise<void>((resolve) => {
    this.#markReady = resolve;
  });

  constructor(settings: LivenessSettings, deps: LivenessDeps) {
    this.#s = settings;
    this.#d = deps;
    this.#prober = new OrphanProber(
      { intervalMs: settings.probeIntervalSeconds * 1000, timeoutMs: settings.probeTimeoutSeconds * 1000, failuresBeforeGone: settings.probeFailuresBeforeGone },
      () => this.events.emit('changed'),
      deps.log.child({ component: 'orphan-prober' }),
      deps.listExecutions,
    );
  }

  /** Resolves once the first pull round has heard from (or given up on) every known peer. */
  get ready(): Promise<void> {
    return this.#ready;
  }

  get settings(): LivenessSettings {
    return this.#s;
  }

  async start(selfUrl: string): Promise<void> {
    this.#selfUrl = selfUrl.replace(/\/+$/, '');
    await this.#loadState();
    const every = this.#s.heartbeatIntervalSeconds * 1000;
    this.#timer = setInterval(() => void this.tick(), every);
    this.#timer.unref();
    void this.tick().finally(() => this.#markReady());
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#announcing) clearTimeout(this.#announcing);
    void this.#prober.stop();
    this.#saveState();
    this.#markReady();
  }

  /** Publishes our heartbeats on gossip and hears the others' (call once the P2P layer runs). */
  attachGossip(gossip: Gossip): void {
    this.#gossip = gossip;
    gossip.subscribe(this.#s.heartbeatTopic, async (m): Promise<GossipVerdict> => {
      const r = await this.offer(m.data, 'gossip');
      if (r.verdict === 'accepted') return 'accept';
      if (r.verdict === 'rejected') this.#d.log.debug({ from: m.from, reason: r.reason }, 'gossiped heartbeat rejected');
      return r.verdict === 'rejected' ? 'reject' : 'ignore';
    });
  }

  /** A heartbeat soon, outside the round (a placement changed: the others should hear it now). */
  announce(): void {
    if (this.#stopped || this.#announcing) return;
    this.#announcing = setTimeout(() => {
      this.#announcing = undefined;
      void this.#beat().catch((err: unknown) => this.#d.log.warn({ err }, 'heartbeat failed'));
    }, ANNOUNCE_DELAY_MS);
    this.#announcing.unref();
  }

  /** One round: sign and publish ours, pull the peers', re-check liveness and the probes. */
  async tick(): Promise<void> {
    if (this.#stopped || this.#ticking) return;
    this.#ticking = true;
    try {
      await this.#beat();
      await this.#pullAll();
      this.#refresh();
      this.#saveState();
    } catch (err) {
      this.#d.log.error({ err }, 'liveness round failed');
    } finally {
      this.#ticking = false;
    }
  }

  /** Verifies and keeps a heartbeat if it is newer than the one known for its CCN. */
  async offer(raw: unknown, source: HeartbeatSource): Promise<OfferResult> {
    // Cheap duplicate check before any signature work (the same heartbeat arrives by every path).
    const env = HeartbeatEnvelopeSchema.safeParse(typeof raw === 'string' || raw instanceof Uint8Array ? safeJson(raw) : raw);
    if (env.success && [...this.#table.values()].some((e) => e.envelope.signature === env.data.signature && e.envelope.payload === env.data.payload)) {
      return { verdict: 'ignored', reason: 'duplicate' };
    }
    const { value } = await this.#d.registry.snapshot();
    let v;
    try {
      v = verifyHeartbeat(raw, {
        nodes: value.nodes,
        now: this.#d.clock(),
        maxClockSkewSeconds: this.#s.heartbeatMaxClockSkewSeconds,
        downAfterSeconds: this.#s.ccnDownAfterSeconds,
        // Gossip relays only what is current; a pulled or remembered stale one is still the last
        // word of a CCN that is down (where its workloads were), never a sign of life.
        allowStale: source !== 'gossip',
      });
    } catch (err) {
      if (!(err instanceof HeartbeatError)) throw err;
      const ignorable = err.code === 'stale' || err.code === 'unknown_node' || err.code === 'future';
      return { verdict: ignorable ? 'ignored' : 'rejected', reason: `${err.code}: ${err.message}` };
    }
    const known = this.#table.get(v.payload.node_hash);
    if (known && known.payload.time >= v.payload.time) return { verdict: 'ignored', reason: 'not newer than the heartbeat known' };
    const wasLive = known !== undefined && this.#isFresh(known.payload);
    this.#table.set(v.payload.node_hash, { envelope: v.envelope, payload: v.payload, receivedAt: this.#d.clock(), source });
    this.#dirty = true;
    if (!known || wasLive === v.stale || reportKey(known.payload) !== reportKey(v.payload)) this.events.emit('changed');
    return { verdict: 'accepted' };
  }

  /** The latest verified heartbeat of every CCN known (what GET /api/v0/network/heartbeats serves). */
  heartbeats(): HeartbeatEnvelope[] {
    return [...this.#table.values()].map((e) => e.envelope);
  }

  entries(): HeartbeatEntry[] {
    return [...this.#table.values()];
  }

  entry(nodeHash: string): HeartbeatEntry | undefined {
    return this.#table.get(nodeHash);
  }

  /** Live = its latest heartbeat is at most ccnDownAfterSeconds old. */
  isLive(nodeHash: string): boolean {
    const e = this.#table.get(nodeHash);
    return e !== undefined && this.#isFresh(e.payload);
  }

  /** Every other CCN with a known heartbeat, as the ownership rule reads it. */
  views(selfHash: string): CcnView[] {
    return [...this.#table.values()].filter((e) => e.payload.node_hash !== selfHash).map((e) => viewOfHeartbeat(e.payload, this.#isFresh(e.payload)));
  }

  orphan(crnHash: string, itemHash: string): 'running' | 'gone' | 'unknown' {
    return this.#prober.state(crnHash, itemHash);
  }

  /**
   * Whether `crnHash` runs `itemHash`, from direct probes; the CRN is probed from now on for a
   * few rounds. A CCN whose claim lost to another's drops its copy only once the winner's CRN is
   * seen running it: a CCN that claims what it does not run takes nothing from anyone.
   */
  confirm(crnHash: string, itemHash: string): 'running' | 'gone' | 'unknown' {
    const url = this.#crnUrls.get(crnHash);
    if (url) {
      const fresh = !this.#confirming.has(crnHash);
      this.#confirming.set(crnHash, { url, until: this.#d.clock() + CONFIRM_ROUNDS * this.#s.probeIntervalSeconds });
      if (fresh) this.#applyTargets();
    }
    return this.#prober.state(crnHash, itemHash);
  }

  runningOnOrphan(itemHash: string): string | undefined {
    return this.#prober.runningAnywhere(itemHash);
  }

  probes(): ReturnType<OrphanProber['status']> {
    return this.#prober.status();
  }

  /** Median of the peers' clocks minus ours (seconds), from their recent answers; null without any. */
  clockOffset(): number | null {
    return this.#offsets.median(this.#d.clock(), 3 * this.#s.heartbeatIntervalSeconds + this.#s.heartbeatPullTimeoutSeconds);
  }

  /** True when our clock is too far from the peers' to take new work safely. */
  fenced(): boolean {
    const offset = this.clockOffset();
    return offset !== null && Math.abs(offset) > this.#s.heartbeatMaxClockSkewSeconds;
  }

  #isFresh(p: HeartbeatPayload): boolean {
    return this.#d.clock() - p.time <= this.#s.ccnDownAfterSeconds;
  }

  async #beat(): Promise<void> {
    const own = this.#d.ownState();
    if (!own) return;
    const envelope = signHeartbeat(this.#d.account, {
      v: 1,
      node_hash: own.nodeHash,
      address: this.#d.account.address,
      time: this.#d.clock(),
      url: this.#selfUrl,
      schedules: own.schedules,
      crns: own.crns,
      unplaced: own.unplaced,
    });
    const r = await this.offer(envelope, 'self');
    if (r.verdict !== 'accepted' && !this.#warnedSigner) {
      this.#warnedSigner = true;
      this.#d.log.error({ reason: r.reason, address: this.#d.account.address, node: own.nodeHash }, 'this CCN\'s own heartbeat does not verify: the others will see it as down (the node key must be the owner or the manager of its node in the registry)');
    }
    if (this.#gossip && r.verdict === 'accepted') {
      try {
        await this.#gossip.publish(this.#s.heartbeatTopic, new TextEncoder().encode(JSON.stringify(envelope)));
      } catch (err) {
        this.#d.log.debug({ err: (err as Error).message }, 'heartbeat not published on gossip');
      }
    }
  }

  async #pullAll(): Promise<void> {
    const peers = await Promise.resolve(this.#d.peerUrls()).catch((err: unknown) => {
      this.#d.log.warn({ err }, 'peer list unavailable');
      return [] as string[];
    });
    const urls = [...new Set([...peers, ...this.entries().map((e) => e.payload.url)].map((u) => u.replace(/\/+$/, '')))].filter((u) => u !== '' && u !== this.#selfUrl);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < urls.length && !this.#stopped) {
        const url = urls[next++] as string;
        const started = this.#d.clock();
        const answer = await fetchHeartbeats(url, this.#s.heartbeatPullTimeoutSeconds * 1000);
        if (!answer) continue;
        const ended = this.#d.clock();
        this.#offsets.record(url, answer.now, started, ended);
        for (const raw of answer.heartbeats) await this.offer(raw, 'http');
      }
    };
    await Promise.all(Array.from({ length: Math.min(PEER_POOL, urls.length) }, worker));
  }

  /** Liveness transitions and the probe targets (CRNs of CCNs silent for half the down delay). */
  #refresh(): void {
    const now = this.#d.clock();
    const liveKey = [...this.#table.values()].filter((e) => this.#isFresh(e.payload)).map((e) => e.payload.node_hash).sort().join(',');
    if (liveKey !== this.#liveKey) {
      this.#liveKey = liveKey;
      this.events.emit('changed');
    }
    const own = this.#d.ownState()?.nodeHash;
    void this.#d.registry.snapshot().then(({ value }) => {
      // A CCN dropped from the registry is forgotten (its heartbeats would no longer verify).
      const registered = new Set(value.nodes.map((n) => n.hash));
      for (const hash of this.#table.keys()) {
        if (!registered.has(hash)) {
          this.#table.delete(hash);
          this.#dirty = true;
          this.events.emit('changed');
        }
      }
      const urlOf = new Map(value.resource_nodes.map((r) => [r.hash, r.address]));
      this.#crnUrls = urlOf;
      const targets = new Map<string, string>();
      for (const e of this.#table.values()) {
        const silent = e.payload.node_hash;
        if (silent === own || now - e.payload.time <= this.#s.ccnDownAfterSeconds / 2) continue;
        // Every CRN it reported, and every CRN the registry links to it: it may have pushed a
        // workload it never got to announce.
        const hashes = new Set([...e.payload.crns.map((c) => c.hash), ...value.resource_nodes.filter((r) => r.parent === silent && r.status === 'linked').map((r) => r.hash)]);
        for (const hash of hashes) {
          const url = urlOf.get(hash);
          if (url) targets.set(hash, url);
        }
      }
      this.#silentTargets = targets;
      this.#applyTargets();
    }, () => undefined);
  }

  /** Probes the silent CCNs' CRNs and the CRNs whose claims are being confirmed. */
  #applyTargets(): void {
    const now = this.#d.clock();
    for (const [hash, c] of this.#confirming) if (c.until < now) this.#confirming.delete(hash);
    const targets = new Map(this.#silentTargets);
    for (const [hash, c] of this.#confirming) targets.set(hash, c.url);
    this.#prober.setTargets(targets);
  }

  async #loadState(): Promise<void> {
    if (!this.#s.stateFile) return;
    // Verified again, as if from a peer: the file is ours, but the registry may have changed.
    for (const raw of readHeartbeatsFile(this.#s.stateFile)) await this.offer(raw, 'disk');
    this.#dirty = false;
  }

  #saveState(): void {
    if (!this.#s.stateFile || !this.#dirty) return;
    this.#dirty = false;
    try {
      writeHeartbeatsFile(this.#s.stateFile, this.heartbeats());
    } catch (err) {
      this.#d.log.warn({ err: (err as Error).message }, 'could not save the heartbeats');
    }
  }
}

function safeJson(raw: string | Uint8Array): unknown {
  try {
    return JSON.parse(typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8'));
  } catch {
    return undefined;
  }
}

/** What the ownership rule reads of a heartbeat besides its time. */
function reportKey(p: HeartbeatPayload): string {
  return JSON.stringify([p.schedules, p.crns, p.unplaced]);
}
