/**
 * The pricing model: the `pricing` aggregate (one entry per product) and the `settings` aggregate
 * (GPU models by PCI device id), parsed with zod, plus the cutoffs and limits pyaleph hard-codes
 * and a private network may change. Parsing never throws: a published entry that does not parse
 * is replaced by its default and named in `warnings` (pyaleph would crash on it, see README).
 */
import { z } from 'zod';
import { DEFAULT_PRICE_AGGREGATE, DEFAULT_SETTINGS_AGGREGATE } from './defaults.ts';
import { Dec, toDec } from './decimal.ts';

export const PRODUCT_TYPES = [
  'storage',
  'web3_hosting',
  'program',
  'program_persistent',
  'instance',
  'instance_gpu_premium',
  'instance_confidential',
  'instance_gpu_standard',
] as const;
export type ProductType = (typeof PRODUCT_TYPES)[number];

/** Prices of one dimension (a compute unit, or one MiB): ALEPH held, ALEPH per hour streamed, credits per hour. */
export interface PriceOptions {
  holding: Dec;
  payg: Dec;
  credit: Dec;
}
/** What one compute unit of a product is. */
export interface ComputeUnitSpec {
  vcpus: number;
  diskMib: number;
  memoryMib: number;
}
export interface ProductTier {
  id: string;
  computeUnits: number;
  model?: string | undefined;
  vram?: number | undefined;
}
export interface ProductPricing {
  type: ProductType;
  storage: PriceOptions;
  /** Price of a compute unit; pyaleph reads it only when the product defines `compute_unit`. */
  computeUnitPrice?: PriceOptions | undefined;
  /** The compute unit; pyaleph keeps it only when the product has tiers (else 1 vCPU / 2 GiB and no included disk). */
  computeUnit?: ComputeUnitSpec | undefined;
  tiers: ProductTier[];
}
export interface CompatibleGpu {
  name: string;
  model: string;
  vendor: string;
  deviceId: string;
}
export interface CostSettings {
  compatibleGpus: CompatibleGpu[];
  communityWalletAddress: string;
  communityWalletTimestamp: number;
}
/**
 * pyaleph's cutoffs (`toolkit/constants.py`), unix seconds compared with the message's `time`
 * (and a confirmation height when the message has one). A private network may move them.
 */
export interface PaymentCutoffs {
  /** Confirmed before this height: STOREs and on-demand programs are free. */
  freeStoreAndProgramBeforeHeight: number;
  /** Unconfirmed and dated before this: STOREs and on-demand programs are free. */
  freeStoreAndProgramBeforeTime: number;
  /** From this time, instances and persistent programs paid by hold or stream are refused (202). */
  holdAndStreamRefusedFromTime: number;
  /** From this time, every paid message must pay with credits (202 otherwise). */
  creditOnlyFromTime: number;
}
export const DEFAULT_PAYMENT_CUTOFFS: PaymentCutoffs = Object.freeze({
  freeStoreAndProgramBeforeHeight: 22_196_000,
  freeStoreAndProgramBeforeTime: 1_743_775_079,
  holdAndStreamRefusedFromTime: 1_773_187_200,
  creditOnlyFromTime: 1_798_761_600,
});
/** pyaleph's constants: credit floor per line and hour, credit STORE floor, free hold STORE size. */
export interface CostLimits {
  minCreditCostPerHour: Dec;
  minStoreCostMib: number;
  /** A hold STORE at most this big is free (pyaleph: its unauthenticated upload limit, 25 MiB). */
  freeHoldStoreMaxMib: number;
}
export interface Pricing {
  products: Readonly<Record<ProductType, ProductPricing>>;
  settings: CostSettings;
  cutoffs: PaymentCutoffs;
  limits: CostLimits;
  /** Published entries replaced by their default, for the operator's log. */
  warnings: readonly string[];
}

/** Amounts: decimal strings or JSON numbers, never negative; absurd magnitudes are refused. */
const MAX_PRICE = new Dec('1e15');
const amount = z
  .union([z.string().max(64).regex(/^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?$|^$/), z.number().finite().min(0)])
  .nullish()
  .transform((v, ctx) => {
    // pyaleph: Decimal(value or 0): an absent, null, empty or zero value is 0.
    const d = v === undefined || v === null || v === '' ? new Dec(0) : toDec(v);
    if (d.gt(MAX_PRICE)) {
      ctx.addIssue({ code: 'custom', message: `price above ${MAX_PRICE.toString()}` });
      return z.NEVER;
    }
    return d;
  });
const PriceOptionsSchema = z
  .object({ holding: amount, payg: amount, credit: amount })
  .transform((o): PriceOptions => ({ holding: o.holding, payg: o.payg, credit: o.credit }));
const count = (max: number) => z.number().int().min(0).max(max);
const ComputeUnitSchema = z.object({ vcpus: count(1_000_000), disk_mib: count(2 ** 40), memory_mib: z.number().int().min(1).max(2 ** 40) });
const TierSchema = z.object({
  id: z.string().max(256),
  compute_units: count(1_000_000),
  model: z.string().max(256).nullish(),
  vram: z.number().finite().nullish(),
});
const ProductSchema = z
  .object({
    price: z.object({ storage: PriceOptionsSchema, compute_unit: PriceOptionsSchema.optional() }),
    compute_unit: ComputeUnitSchema.partial().optional(),
    tiers: z.array(TierSchema).max(1000).nullish(),
  })
  .superRefine((p, ctx) => {
    const definesUnit = p.compute_unit !== undefined && Object.keys(p.compute_unit).length > 0;
    // pyaleph reads price.compute_unit (KeyError if absent) when compute_unit is defined, and the
    // compute unit's three fields (KeyError) when tiers are.
    if (definesUnit && !p.price.compute_unit) ctx.addIssue({ code: 'custom', path: ['price', 'compute_unit'], message: 'missing while compute_unit is defined' });
    if (p.tiers && p.tiers.length > 0 && !ComputeUnitSchema.safeParse(p.compute_unit).success) {
      ctx.addIssue({ code: 'custom', path: ['compute_unit'], message: 'vcpus, disk_mib and memory_mib are needed when tiers are defined' });
    }
  });

function productFrom(type: ProductType, raw: z.infer<typeof ProductSchema>): ProductPricing {
  const definesUnit = raw.compute_unit !== undefined && Object.keys(raw.compute_unit).length > 0;
  const tiers = raw.tiers ?? [];
  const unit = tiers.length > 0 ? ComputeUnitSchema.parse(raw.compute_unit) : undefined;
  return {
    type,
    storage: raw.price.storage,
    computeUnitPrice: definesUnit ? raw.price.compute_unit : undefined,
    computeUnit: unit ? { vcpus: unit.vcpus, diskMib: unit.disk_mib, memoryMib: unit.memory_mib } : undefined,
    tiers: tiers.map((t) => ({ id: t.id, computeUnits: t.compute_units, model: t.model ?? undefined, vram: t.vram ?? undefined })),
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseProducts(aggregate: unknown, warnings: string[]): Record<ProductType, ProductPricing> {
  const defaults = DEFAULT_PRICE_AGGREGATE as Record<string, unknown>;
  if (aggregate !== undefined && !isRecord(aggregate)) warnings.push('pricing aggregate is not an object: defaults used');
  const published = isRecord(aggregate) ? aggregate : undefined;
  const products = {} as Record<ProductType, ProductPricing>;
  for (const type of PRODUCT_TYPES) {
    const entry = published && Object.hasOwn(published, type) ? published[type] : undefined;
    let parsed = entry === undefined ? undefined : ProductSchema.safeParse(entry);
    if (parsed && !parsed.success) {
      const issue = parsed.error.issues[0];
      warnings.push(`pricing.${type} is invalid (${issue ? `${issue.path.join('.')}: ${issue.message}` : 'schema mismatch'}): default used`);
      parsed = undefined;
    } else if (published && entry === undefined) {
      warnings.push(`pricing.${type} is absent: default used`);
    }
    products[type] = productFrom(type, parsed?.success ? parsed.data : ProductSchema.parse(defaults[type]));
  }
  return products;
}

const GpuSchema = z.object({ name: z.string().max(256), model: z.string().max(256), vendor: z.string().max(256), device_id: z.string().max(64) });

function parseSettings(aggregate: unknown, warnings: string[]): CostSettings {
  const defaults = DEFAULT_SETTINGS_AGGREGATE;
  const gpusOf = (list: readonly z.infer<typeof GpuSchema>[]): CompatibleGpu[] =>
    list.map((g) => ({ name: g.name, model: g.model, vendor: g.vendor, deviceId: g.device_id }));
  if (aggregate === undefined) {
    return { compatibleGpus: gpusOf(defaults.compatible_gpus), communityWalletAddress: defaults.community_wallet_address, communityWalletTimestamp: defaults.community_wallet_timestamp };
  }
  if (!isRecord(aggregate)) {
    warnings.push('settings aggregate is not an object: defaults used');
    return parseSettings(undefined, warnings);
  }
  // A published aggregate is read as pyaleph's Settings.from_aggregate: absent keys are [] / "" / 0.
  const gpus = z.array(GpuSchema).max(10_000).safeParse(aggregate['compatible_gpus'] ?? []);
  if (!gpus.success) warnings.push('settings.compatible_gpus is invalid: default used');
  const wallet = z.string().max(256).safeParse(aggregate['community_wallet_address'] ?? '');
  const walletTime = z.number().finite().safeParse(aggregate['community_wallet_timestamp'] ?? 0);
  return {
    compatibleGpus: gpusOf(gpus.success ? gpus.data : defaults.compatible_gpus),
    communityWalletAddress: wallet.success ? wallet.data : defaults.community_wallet_address,
    communityWalletTimestamp: walletTime.success ? walletTime.data : defaults.community_wallet_timestamp,
  };
}

const CutoffsSchema = z
  .object({
    freeStoreAndProgramBeforeHeight: z.number().finite(),
    freeStoreAndProgramBeforeTime: z.number().finite(),
    holdAndStreamRefusedFromTime: z.number().finite(),
    creditOnlyFromTime: z.number().finite(),
  })
  .partial();

export interface PricingInput {
  /** Merged content of the `pricing` aggregate, when the network published one. */
  pricing?: unknown;
  /** Merged content of the `settings` aggregate, when the network published one. */
  settings?: unknown;
  /** Cutoffs that differ from pyaleph's (a private network's). */
  cutoffs?: Partial<PaymentCutoffs> | undefined;
  /** Largest free hold STORE, MiB (pyaleph: 25). */
  freeHoldStoreMaxMib?: number | undefined;
}

/** The pricing model from the published aggregates (absent = pyaleph's defaults). Never throws. */
export function pricingFrom(input: PricingInput = {}): Pricing {
  const warnings: string[] = [];
  const cutoffs = CutoffsSchema.safeParse(input.cutoffs ?? {});
  if (!cutoffs.success) warnings.push('cutoffs are invalid: defaults used');
  const freeHold = input.freeHoldStoreMaxMib;
  return {
    products: Object.freeze(parseProducts(input.pricing, warnings)),
    settings: parseSettings(input.settings, warnings),
    cutoffs: { ...DEFAULT_PAYMENT_CUTOFFS, ...(cutoffs.success ? cutoffs.data : {}) },
    limits: {
      minCreditCostPerHour: new Dec(1),
      minStoreCostMib: 25,
      freeHoldStoreMaxMib: typeof freeHold === 'number' && Number.isFinite(freeHold) && freeHold >= 0 ? freeHold : 25,
    },
    warnings,
  };
}

/** The defaults: pyaleph's DEFAULT_PRICE_AGGREGATE, DEFAULT_SETTINGS_AGGREGATE and cutoffs. */
export const DEFAULT_PRICING: Pricing = pricingFrom();
