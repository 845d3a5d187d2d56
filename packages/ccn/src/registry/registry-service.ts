/**
 * Serves the corechannel registry (aleph-protocol.md §8.3): replays the processed node operations,
 * node amends, balance reports and score posts, and caches the result until a relevant
 * message is processed or forgotten.
 */
import type { MessageRow, MessagesRepo } from '../db/messages-repo.ts';
import { computeRegistry, orderEvents } from './rules.ts';
import type { CorechannelValue, RegistryEvent, RegistryOutcome, RegistrySettings } from './types.ts';

const REPLAYED_POST_TYPES = ['corechan-operation', 'amend', 'balances-update', 'aleph-scoring-scores'];

export interface RegistrySnapshot {
  value: CorechannelValue;
  /** What happened to each node operation (applied, or ignored with the reason). */
  outcomes: Map<string, RegistryOutcome>;
  created: number;
  lastUpdated: number;
  originalItemHash: string;
  lastUpdateItemHash: string;
}

export class RegistryService {
  readonly address: string;
  readonly #messages: MessagesRepo;
  readonly #settings: RegistrySettings;
  #cache: Promise<RegistrySnapshot> | undefined;

  constructor(messages: MessagesRepo, address: string, settings: RegistrySettings) {
    this.#messages = messages;
    this.address = address;
    this.#settings = settings;
  }

  /** Called for every processed message; drops the cache when the registry may have changed. */
  onProcessed(row: Pick<MessageRow, 'type' | 'content_type'>): void {
    if (row.type === 'FORGET' || (row.type === 'POST' && REPLAYED_POST_TYPES.includes(row.content_type ?? ''))) this.#cache = undefined;
  }

  snapshot(): Promise<RegistrySnapshot> {
    if (!this.#cache) {
      const pending = this.#compute();
      this.#cache = pending;
      // A failed computation is not cached.
      pending.catch(() => {
        if (this.#cache === pending) this.#cache = undefined;
      });
    }
    return this.#cache;
  }

  async #compute(): Promise<RegistrySnapshot> {
    const rows = await this.#messages.processedPostsOfTypes(REPLAYED_POST_TYPES);
    const events: RegistryEvent[] = rows.map((r) => {
      const content = JSON.parse(r.content ?? '{}') as RegistryEvent['content'] & { time?: unknown };
      return { itemHash: r.item_hash, sender: r.sender, time: typeof content.time === 'number' ? content.time : 0, content };
    });
    const { value, outcomes } = computeRegistry(events, this.#settings);
    // The first and last operations by the total order (time, then item_hash): equal times give
    // the same `original_item_hash` / `last_update_item_hash` on every node.
    const ops = orderEvents(events.filter((e) => e.content.type === 'corechan-operation'));
    const first = ops[0];
    const last = ops[ops.length - 1];
    return {
      value,
      outcomes,
      created: first?.time ?? 0,
      lastUpdated: last?.time ?? 0,
      originalItemHash: first?.itemHash ?? '',
      lastUpdateItemHash: last?.itemHash ?? '',
    };
  }
}
