/**
 * Publishes this CCN's measurements and the scores computed from them, as signed POSTs that go
 * through the node's own pipeline (stored, served by the messages API, replayed by the registry):
 * - every `metricsPublishIntervalSeconds`, an `aleph-network-metrics` post with the probes
 *   recorded since the previous one. The window ends `lag` seconds in the past, so every probe
 *   started before its end has finished and been recorded;
 * - once a score period [B − P, B) is covered by published metrics, an `aleph-scoring-scores`
 *   post computed only from the metrics posts in the store (see compute.ts).
 * Nothing is published for a window without probes or a period without measured nodes.
 */
import { buildInlineMessage, type EthAccount } from '@aleph-nodes/protocol';
import { ServiceLoop } from '@aleph-nodes/service';
import type { Logger } from '@aleph-nodes/service';
import type { MessagesRepo } from '../db/messages-repo.ts';
import type { ProbesRepo } from '../db/probes-repo.ts';
import type { MessageProcessor } from '../processing/processor.ts';
import type { RegistryService } from '../registry/registry-service.ts';
import { computeScores, SCORES_POST_TYPE } from './compute.ts';
import { buildMetricsContent, METRICS_POST_TYPE, SCORING_CHANNEL, type MetricsContent } from './metrics.ts';

/** Inline contents are limited to 200,000 characters; a larger window is split in two. */
const MAX_CONTENT_CHARS = 150_000;

export interface ScoringSettings {
  metricsIntervalSeconds: number;
  scorePeriodSeconds: number;
  /** Seconds a window's end stays behind now (probe timeout and recording). */
  lagSeconds: number;
  monitors: readonly string[];
  tag: string;
  syncTimeoutMs: number;
}

export interface ScoringDeps {
  probes: ProbesRepo;
  messages: MessagesRepo;
  processor: MessageProcessor;
  registry: RegistryService;
  account: EthAccount;
  /** This node's API URL (the metrics' `server`). */
  server: () => string;
  clock: () => number;
  log: Logger;
}

export class ScoringService {
  readonly #d: ScoringDeps;
  readonly #s: ScoringSettings;
  readonly #loop: ServiceLoop;
  /** Probes with a time before this are published. */
  #publishedUpTo = 0;
  #nextMetricsAt = 0;
  /** End of the next score period to publish. */
  #nextBoundary = 0;
  /** After a failed tick, no new one before this (no busy loop on a persistent failure). */
  #notBefore = 0;

  constructor(deps: ScoringDeps, settings: ScoringSettings) {
    this.#d = deps;
    this.#s = settings;
    this.#loop = new ServiceLoop({ name: 'scoring', log: deps.log, round: () => this.#tick() });
  }

  start(): void {
    this.#loop.start(); // first: a second start throws before touching the windows
    const now = this.#d.clock();
    this.#publishedUpTo = now;
    this.#nextMetricsAt = now + this.#s.metricsIntervalSeconds;
    this.#nextBoundary = (Math.floor(now / this.#s.scorePeriodSeconds) + 1) * this.#s.scorePeriodSeconds;
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
  }

  /** The delay until the next metrics window or score period is due. */
  #nextDelayMs(): number {
    const wake = Math.max(this.#notBefore, Math.min(this.#nextMetricsAt, this.#nextBoundary + this.#s.lagSeconds));
    return Math.max(0, (wake - this.#d.clock()) * 1000);
  }

  /** One tick: publishes what is due; returns the delay before the next. */
  async #tick(): Promise<number> {
    await this.#publishDue();
    return this.#nextDelayMs();
  }

  async #publishDue(): Promise<void> {
    try {
      const now = this.#d.clock();
      const upTo = now - this.#s.lagSeconds;
      if (now >= this.#nextMetricsAt || upTo >= this.#nextBoundary) {
        if (upTo > this.#publishedUpTo) {
          await this.#publishMetrics(this.#publishedUpTo, upTo);
          this.#publishedUpTo = upTo;
        }
        this.#nextMetricsAt = now + this.#s.metricsIntervalSeconds;
      }
      while (this.#nextBoundary <= this.#publishedUpTo && this.#loop.state === 'running') {
        const to = this.#nextBoundary;
        this.#nextBoundary += this.#s.scorePeriodSeconds;
        await this.#publishScores(to - this.#s.scorePeriodSeconds, to);
      }
    } catch (err) {
      // A failed publication is logged and the next tick goes on; the window is not lost when
      // the metrics failed (publishedUpTo only moves after a success).
      this.#d.log.error({ err }, 'scoring tick failed');
      this.#notBefore = this.#d.clock() + this.#s.metricsIntervalSeconds;
    }
  }

  async #publish(type: string, content: object): Promise<string> {
    const message = buildInlineMessage(this.#d.account, 'POST', { type, content }, { channel: SCORING_CHANNEL });
    const { itemHash } = await this.#d.processor.submit(message);
    const status = await this.#d.processor.waitFor(itemHash, this.#s.syncTimeoutMs);
    if (status === 'rejected') throw new Error(`the ${type} post ${itemHash} was rejected`);
    return itemHash;
  }

  async #publishMetrics(from: number, to: number): Promise<void> {
    const rows = await this.#d.probes.list({ from, to });
    if (rows.length === 0) return;
    const server = this.#d.server();
    const build = (a: number, b: number): MetricsContent =>
      buildMetricsContent(
        rows.filter((r) => r.time >= a && r.time < b),
        { server, tag: this.#s.tag, from: a, to: b },
      );
    // Split the window until each part fits in an inline message.
    const parts: [number, number][] = [[from, to]];
    const contents: MetricsContent[] = [];
    while (parts.length > 0) {
      const [a, b] = parts.shift() as [number, number];
      const content = build(a, b);
      if (JSON.stringify(content).length > MAX_CONTENT_CHARS && b - a > 1) parts.unshift([a, (a + b) / 2], [(a + b) / 2, b]);
      else if (content.metrics.ccn.length + content.metrics.crn.length > 0) contents.push(content);
    }
    for (const content of contents) {
      const hash = await this.#publish(METRICS_POST_TYPE, content);
      this.#d.log.debug({ item_hash: hash, from: content.period.from_date, to: content.period.to_date, ccn: content.metrics.ccn.length, crn: content.metrics.crn.length }, 'metrics published');
    }
  }

  async #publishScores(from: number, to: number): Promise<void> {
    // Every metrics post with an entry measured in the period was published at or after `from`.
    const rows = await this.#d.messages.list(
      { types: ['POST'], statuses: ['processed'], contentTypes: [METRICS_POST_TYPE], startDate: from },
      { perPage: 0, page: 1, sortOrder: 1 },
    );
    const { value } = await this.#d.registry.snapshot();
    const result = computeScores(
      rows.map((r) => ({ itemHash: r.item_hash, sender: r.sender, content: (JSON.parse(r.content ?? '{}') as { content?: unknown }).content })),
      {
        monitors: this.#s.monitors,
        knownCcns: new Set(value.nodes.map((n) => n.hash)),
        knownCrns: new Set(value.resource_nodes.map((n) => n.hash)),
        from,
        to,
        tag: this.#s.tag,
      },
    );
    for (const i of result.ignored) this.#d.log.warn({ ...i, from, to }, `scoring input ignored: ${i.reason}`);
    const { ccn, crn } = result.content.scores;
    if (ccn.length + crn.length === 0) return;
    const hash = await this.#publish(SCORES_POST_TYPE, result.content);
    this.#d.log.info({ item_hash: hash, from, to, ccn: ccn.length, crn: crn.length }, 'scores published');
  }
}
