/**
 * Cost lines (pyaleph's `account_costs` rows) and the per-MiB pricing of volumes, shared by
 * executables and STOREs.
 */
import { Dec, exactDecimalOfNumber, formatCost } from './decimal.ts';
import type { CostLimits, PriceOptions } from './pricing.ts';

export const HOUR = 3600;
export const MIB = 1024 * 1024;

export type CostLineType =
  | 'EXECUTION'
  | 'EXECUTION_VOLUME_PERSISTENT'
  | 'EXECUTION_VOLUME_INMUTABLE'
  | 'EXECUTION_VOLUME_DISCOUNT'
  | 'EXECUTION_INSTANCE_VOLUME_ROOTFS'
  | 'EXECUTION_PROGRAM_VOLUME_CODE'
  | 'EXECUTION_PROGRAM_VOLUME_RUNTIME'
  | 'EXECUTION_PROGRAM_VOLUME_DATA'
  | 'STORAGE';

export type PaymentType = 'hold' | 'superfluid' | 'credit';

/** One component of a cost: hold in ALEPH, stream in ALEPH per second, credit in credits per second. */
export interface CostLine {
  type: CostLineType;
  name: string;
  /** The STORE message hash a volume or file line is about. */
  ref: string | null;
  /** The size the line is about (before the credit STORE floor), MiB; null for execution and discount lines. */
  sizeMib: number | null;
  hold: Dec;
  stream: Dec;
  credit: Dec;
}

/** Bytes of the file behind a STORE message hash (`useLatest`: its latest amend), undefined when unknown. */
export type FileSizeLookup = (ref: string, useLatest: boolean) => number | undefined;

/** A volume to price: a known size, or a reference resolved through the file size lookup. */
export type VolumeToPrice =
  | { type: CostLineType; name: string; ref: string | null; sizeMib: Dec }
  | { type: CostLineType; name: string; ref: string; useLatest: boolean };

/** Size in MiB of `bytes`, exact as pyaleph's Decimal(size / MiB) (a power-of-two division is exact in binary). */
export function mibOfBytes(bytes: number): Dec {
  return new Dec(exactDecimalOfNumber(bytes / MIB));
}

/** pyaleph's minimum credit cost of a line: 1 credit per hour, per second, formatted. */
export function minCreditPerSecond(limits: CostLimits): Dec {
  return formatCost(limits.minCreditCostPerHour.div(HOUR));
}

/** Per-MiB prices of a product's storage, per second for stream and credit (each rounded once, as pyaleph). */
export interface PerMibPrices {
  hold: Dec;
  streamPerSecond: Dec;
  creditPerSecond: Dec;
}
export function perMibPrices(storage: PriceOptions): PerMibPrices {
  return { hold: storage.holding, streamPerSecond: storage.payg.div(HOUR), creditPerSecond: storage.credit.div(HOUR) };
}

/**
 * pyaleph's `_get_volumes_costs`: each volume at the product's per-MiB prices, a credit line never
 * below the credit minimum; a reference whose file is unknown is skipped (legacy volumes), as pyaleph.
 */
export function volumeLines(
  volumes: readonly VolumeToPrice[],
  paymentType: PaymentType,
  prices: PerMibPrices,
  limits: CostLimits,
  fileSize: FileSizeLookup,
): CostLine[] {
  const lines: CostLine[] = [];
  for (const volume of volumes) {
    let mib: Dec;
    if ('sizeMib' in volume) mib = volume.sizeMib;
    else {
      const bytes = fileSize(volume.ref, volume.useLatest);
      if (bytes === undefined || !Number.isSafeInteger(bytes) || bytes < 0) continue;
      mib = mibOfBytes(bytes);
    }
    let credit = formatCost(mib.times(prices.creditPerSecond));
    if (paymentType === 'credit') credit = Dec.max(credit, minCreditPerSecond(limits));
    lines.push({
      type: volume.type,
      name: volume.name,
      ref: volume.ref,
      sizeMib: mib.toNumber(),
      hold: formatCost(mib.times(prices.hold)),
      stream: formatCost(mib.times(prices.streamPerSecond)),
      credit,
    });
  }
  return lines;
}
