/**
 * Costs of Aleph messages, exactly as pyaleph computes them (`services/cost.py`). Pure, no I/O.
 *
 * Entry point:
 *
 *   messageCost(type, content, { pricing?, fileSize?, storeBytes?, itemHash? }): MessageCost
 *
 * - `type`: 'PROGRAM' | 'INSTANCE' | 'STORE'; `content`: the message content, processed or a
 *   cost-estimation one (`estimated_size_mib` on code, runtime, data, immutable volumes, STORE).
 * - `pricing`: `pricingFrom({ pricing, settings, cutoffs })` with the merged contents of the
 *   network's `pricing` and `settings` aggregates (owner PRICING_AGGREGATE_OWNER); default
 *   DEFAULT_PRICING = pyaleph's DEFAULT_PRICE_AGGREGATE / DEFAULT_SETTINGS_AGGREGATE.
 * - `fileSize(ref, useLatest)`: bytes of the file behind a STORE message hash (its latest amend when
 *   `useLatest`); a volume whose file is unknown is not charged, as pyaleph.
 * - `storeBytes`: STORE only, the stored file's size (else `content.size`); no size, no cost.
 *
 * Result: `paymentType` ('hold' | 'superfluid' | 'credit', from content.payment), `product`,
 * `computeUnits`, `multiplier`, `detail` (pyaleph's cost lines: EXECUTION, volumes, the negative
 * EXECUTION_VOLUME_DISCOUNT, STORAGE), and the totals as 18-decimal strings:
 * - `hold`: ALEPH to hold; `streamPerSecond` / `creditPerSecond`: ALEPH / credits per second, the
 *   sums pyaleph stores; `streamPerHour` / `creditPerHour`: those × 3600 (derived, for flows quoted
 *   per hour and hourly credit consumption);
 * - `cost`: what pyaleph's `/api/v0/price/{hash}` calls `cost` — `hold` for hold, `streamPerSecond`
 *   for superfluid, `creditPerSecond` for credit (per SECOND for streams and credits: aleph-vm's
 *   payment monitor compares it per second).
 *
 * Errors: a content that cannot be priced is a ProtocolError (INVALID_CONTENT, UNKNOWN_MESSAGE_TYPE);
 * a GPU the settings or tiers do not know, or a product without a compute-unit price, a CostError.
 *
 * Whether the payment method is allowed at processing (the cutoffs, free messages, which balance
 * check runs) is `paymentMethodCheck(type, content, { pricing, time, confirmationHeight?, storeSizeMib? })`.
 *
 * Decimals: decimal.js in Python's default context (28 significant digits, half-even) and pyaleph's
 * format_cost (18 decimals, floor), so every digit matches a pyaleph node (see decimal.ts).
 */
import { costViewOf, type CostMessageType } from './content.ts';
import { costString, Dec, formatCost, sumCosts } from './decimal.ts';
import { executableCost } from './executable.ts';
import { HOUR, type CostLine, type CostLineType, type FileSizeLookup, type PaymentType } from './lines.ts';
import { paymentTypeOf } from './content.ts';
import { DEFAULT_PRICING, type Pricing, type ProductType } from './pricing.ts';
import { storeCostLines } from './store.ts';

export * from './content.ts';
export * from './decimal.ts';
export * from './defaults.ts';
export * from './errors.ts';
export * from './payment-method.ts';
export * from './pricing.ts';
export * from './response.ts';
export { computeUnitsOf, computeUnitMultiplier } from './executable.ts';
export { HOUR, MIB, type CostLine, type CostLineType, type FileSizeLookup, type PaymentType } from './lines.ts';

export interface CostOptions {
  pricing?: Pricing | undefined;
  fileSize?: FileSizeLookup | undefined;
  storeBytes?: number | undefined;
  /** The message's hash, the `ref` of a STORE's line. */
  itemHash?: string | undefined;
}

/** A cost line with its amounts as 18-decimal strings. */
export interface CostDetail {
  type: CostLineType;
  name: string;
  ref: string | null;
  sizeMib: number | null;
  hold: string;
  stream: string;
  credit: string;
}

export interface MessageCost {
  paymentType: PaymentType;
  product: ProductType;
  computeUnits: number;
  multiplier: number;
  hold: string;
  streamPerSecond: string;
  streamPerHour: string;
  creditPerSecond: string;
  creditPerHour: string;
  cost: string;
  detail: CostDetail[];
}

function detailOf(line: CostLine): CostDetail {
  return { type: line.type, name: line.name, ref: line.ref, sizeMib: line.sizeMib, hold: costString(line.hold), stream: costString(line.stream), credit: costString(line.credit) };
}

export function messageCost(type: CostMessageType, content: unknown, options: CostOptions = {}): MessageCost {
  const pricing = options.pricing ?? DEFAULT_PRICING;
  const fileSize = options.fileSize ?? (() => undefined);
  const view = costViewOf(type, content);
  let lines: CostLine[];
  let product: ProductType = 'storage';
  let computeUnits = 0;
  let multiplier = 1;
  if (view.type === 'STORE') lines = storeCostLines(view.content, pricing, options.storeBytes, options.itemHash ?? null);
  else {
    const exe = executableCost(view, pricing, fileSize);
    ({ product, computeUnits, multiplier, lines } = exe);
  }
  const paymentType = paymentTypeOf(view.content);
  const hold = sumCosts(lines.map((l) => l.hold));
  const stream = sumCosts(lines.map((l) => l.stream));
  const credit = sumCosts(lines.map((l) => l.credit));
  const total = paymentType === 'superfluid' ? stream : paymentType === 'credit' ? credit : hold;
  return {
    paymentType,
    product,
    computeUnits,
    multiplier,
    hold: costString(hold),
    streamPerSecond: costString(stream),
    streamPerHour: costString(formatCost(stream.times(HOUR))),
    creditPerSecond: costString(credit),
    creditPerHour: costString(formatCost(credit.times(HOUR))),
    cost: costString(total),
    detail: lines.map(detailOf),
  };
}

/** The cost of `paymentType` in a result, as a Decimal (for sums and comparisons). */
export function costOf(cost: Pick<MessageCost, 'cost'>): Dec {
  return new Dec(cost.cost);
}
