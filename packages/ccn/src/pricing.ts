/**
 * Costs on the CCN: the pricing model from this node's own store (the network's `pricing` and
 * `settings` aggregates when published, pyaleph's defaults otherwise, the cutoffs from the
 * settings), and the file sizes a cost needs, resolved from the processed STOREs. The cost itself
 * is `messageCost` of @aleph-nodes/protocol; this module only does the I/O around it, and is what
 * the processing pipeline and the price routes share.
 */
import {
  costViewOf,
  isImmutableVolumeView,
  messageCost,
  MIB,
  PRICING_AGGREGATE_KEY,
  pricingFrom,
  SETTINGS_AGGREGATE_KEY,
  type CostMessageType,
  type FileSizeLookup,
  type MessageCost,
  type Pricing,
} from '@aleph-nodes/protocol';
import type { CcnConfig } from './config.ts';
import type { MessageRow } from './db/messages-repo.ts';
import type { Repos } from './stores.ts';

type PricingSettings = Pick<CcnConfig, 'pricingOwner' | 'freeStoreAndProgramBeforeTime' | 'holdAndStreamRefusedFromTime' | 'creditOnlyFromTime' | 'maxAnonymousUploadBytes'>;

/** The pricing model as this node sees it now; its `warnings` name published entries that were replaced by defaults. */
export async function loadPricing(repos: Pick<Repos, 'aggregates'>, config: PricingSettings): Promise<Pricing> {
  const values = await repos.aggregates.values(config.pricingOwner, [PRICING_AGGREGATE_KEY, SETTINGS_AGGREGATE_KEY]);
  const valueOf = (key: string): unknown => values.find((v) => v.key === key)?.value;
  return pricingFrom({
    pricing: valueOf(PRICING_AGGREGATE_KEY),
    settings: valueOf(SETTINGS_AGGREGATE_KEY),
    cutoffs: {
      freeStoreAndProgramBeforeTime: config.freeStoreAndProgramBeforeTime,
      holdAndStreamRefusedFromTime: config.holdAndStreamRefusedFromTime,
      creditOnlyFromTime: config.creditOnlyFromTime,
    },
    // pyaleph exempts hold STOREs up to its unauthenticated upload limit.
    freeHoldStoreMaxMib: config.maxAnonymousUploadBytes / MIB,
  });
}

/** STOREs whose file is still held count (a `removing` one is still stored). */
const STORED: MessageRow['status'][] = ['processed', 'removing'];

/**
 * Size in bytes of the file behind a STORE message hash; with `useLatest`, of the newest STORE
 * that amends it (`ref`), as pyaleph's file tags. Undefined when no such STORE is held.
 */
export async function storeFileBytes(repos: Pick<Repos, 'messages'>, ref: string, useLatest: boolean): Promise<number | undefined> {
  if (useLatest) {
    const [latest] = await repos.messages.list({ types: ['STORE'], statuses: STORED, refs: [ref] }, { perPage: 1, page: 1, sortOrder: -1 });
    if (latest && latest.size !== null) return latest.size;
  }
  const row = await repos.messages.get(ref);
  if (!row || row.type !== 'STORE' || !STORED.includes(row.status) || row.size === null) return undefined;
  return row.size;
}

/** Resolves every file reference a content's cost needs, for the synchronous cost function. */
export async function fileSizesFor(repos: Pick<Repos, 'messages'>, type: CostMessageType, content: unknown): Promise<FileSizeLookup> {
  const view = costViewOf(type, content);
  const wanted: { ref: string; useLatest: boolean }[] = [];
  if (view.type === 'PROGRAM') {
    for (const file of [view.content.code, view.content.runtime, view.content.data]) {
      if (file && !file.estimated_size_mib) wanted.push({ ref: file.ref, useLatest: file.use_latest });
    }
  }
  if (view.type !== 'STORE') {
    for (const v of view.content.volumes) if (isImmutableVolumeView(v) && !v.estimated_size_mib) wanted.push({ ref: v.ref, useLatest: v.use_latest });
  }
  const sizes = new Map<string, number | undefined>();
  const key = (ref: string, useLatest: boolean): string => `${useLatest ? 'L' : 'P'}:${ref}`;
  for (const w of wanted) {
    const k = key(w.ref, w.useLatest);
    if (!sizes.has(k)) sizes.set(k, await storeFileBytes(repos, w.ref, w.useLatest));
  }
  return (ref, useLatest) => sizes.get(key(ref, useLatest));
}

/** The size of a STORE's file as this node holds it: the node-filled `size`, else the file record. */
async function storeBytesOf(repos: Pick<Repos, 'files'>, content: unknown): Promise<number | undefined> {
  const view = costViewOf('STORE', content);
  if (view.type !== 'STORE' || view.content.estimated_size_mib) return undefined;
  if (typeof view.content.size === 'number') return view.content.size;
  return (await repos.files.get(view.content.item_hash))?.size;
}

/** The cost of a content with the sizes this node knows (what processing and the price routes compute). */
export async function costOfContent(
  repos: Pick<Repos, 'messages' | 'files'>,
  pricing: Pricing,
  type: CostMessageType,
  content: unknown,
  itemHash: string | undefined,
): Promise<MessageCost> {
  const fileSize = await fileSizesFor(repos, type, content);
  const storeBytes = type === 'STORE' ? await storeBytesOf(repos, content) : undefined;
  return messageCost(type, content, { pricing, fileSize, storeBytes, itemHash });
}
