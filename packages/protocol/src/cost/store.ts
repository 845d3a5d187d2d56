/** Costs of STORE messages: the file at the `storage` product's per-MiB prices (pyaleph's `_calculate_storage_costs`). */
import { Dec, toDec } from './decimal.ts';
import { mibOfBytes, perMibPrices, volumeLines, type CostLine } from './lines.ts';
import { paymentTypeOf, type StoreCostView } from './content.ts';
import type { Pricing } from './pricing.ts';

/**
 * The stored size in MiB: the estimate the SDK sends for a file not uploaded yet, else the file's
 * size (`fileBytes`, else the node-filled `content.size`); undefined when unknown.
 */
export function storeSizeMib(content: StoreCostView, fileBytes: number | undefined): Dec | undefined {
  // A zero estimate counts as none (pyaleph tests its truthiness).
  if (content.estimated_size_mib) return toDec(content.estimated_size_mib);
  const bytes = fileBytes ?? content.size ?? undefined;
  if (bytes === undefined || bytes === null || !Number.isSafeInteger(bytes) || bytes < 0) return undefined;
  return mibOfBytes(bytes);
}

/** No line when the size is unknown (pyaleph: no file, no cost); credit STOREs pay for at least 25 MiB. */
export function storeCostLines(content: StoreCostView, pricing: Pricing, fileBytes: number | undefined, itemHash: string | null): CostLine[] {
  const size = storeSizeMib(content, fileBytes);
  // pyaleph returns no line for a zero size too (`if not storage_mib`).
  if (size === undefined || size.isZero()) return [];
  const paymentType = paymentTypeOf(content);
  const floor = new Dec(pricing.limits.minStoreCostMib);
  const billed = paymentType === 'credit' && size.lt(floor) ? floor : size;
  const lines = volumeLines([{ type: 'STORAGE', name: 'STORAGE', ref: itemHash, sizeMib: billed }], paymentType, perMibPrices(pricing.products.storage.storage), pricing.limits, () => undefined);
  // The reported size is the file's, not the billed floor (pyaleph's size_mib).
  return lines.map((l) => ({ ...l, sizeMib: size.toNumber() }));
}
