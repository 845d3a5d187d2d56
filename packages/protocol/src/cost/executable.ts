/**
 * Costs of PROGRAM and INSTANCE messages, pyaleph's `_calculate_executable_costs`: compute units
 * times the multiplier times the product's compute-unit price, the volumes at the product's
 * per-MiB prices, minus the disk each compute unit includes; GPU instances by GPU tier.
 */
import { Dec, formatCost } from './decimal.ts';
import { CostError } from './errors.ts';
import {
  HOUR,
  minCreditPerSecond,
  perMibPrices,
  volumeLines,
  type CostLine,
  type FileSizeLookup,
  type PaymentType,
  type VolumeToPrice,
} from './lines.ts';
import { isImmutableVolumeView, paymentTypeOf, type InstanceCostView, type ProgramCostView } from './content.ts';
import type { ComputeUnitSpec, Pricing, ProductPricing, ProductType } from './pricing.ts';

type Executable = { type: 'PROGRAM'; content: ProgramCostView } | { type: 'INSTANCE'; content: InstanceCostView };

/** The default compute unit pyaleph uses when a product has none: 1 vCPU, 2048 MiB. */
const DEFAULT_UNIT_MEMORY_MIB = 2048;

/** Compute units: the vCPUs or the memory in units of the product's compute unit, whichever is more. */
export function computeUnitsOf(resources: { vcpus: number; memory: number }, unit: ComputeUnitSpec | undefined): number {
  const memory = Math.ceil(resources.memory / (unit?.memoryMib ?? DEFAULT_UNIT_MEMORY_MIB));
  return resources.vcpus >= memory ? resources.vcpus : memory;
}

/** ×2 for an on-demand program with internet access, else ×1. */
export function computeUnitMultiplier(exe: Executable): number {
  if (exe.type === 'PROGRAM' && !exe.content.on.persistent && exe.content.environment.internet) return 2;
  return 1;
}

function isConfidential(exe: Executable): boolean {
  return exe.type === 'INSTANCE' && !!exe.content.environment.trusted_execution;
}
function gpusOf(exe: Executable): readonly { device_id: string }[] {
  return exe.type === 'INSTANCE' ? (exe.content.requirements?.gpu ?? []) : [];
}

type GpuTier = 'instance_gpu_premium' | 'instance_gpu_standard';

/** Compute units per GPU tier, in the order the tiers first appear (premium tiers are searched first). */
function gpuTierBreakdown(exe: Executable, pricing: Pricing): Map<GpuTier, number> {
  const breakdown = new Map<GpuTier, number>();
  for (const gpu of gpusOf(exe)) {
    // The first listed model wins when the settings list a device id twice, as pyaleph.
    const model = pricing.settings.compatibleGpus.find((g) => g.deviceId === gpu.device_id)?.model;
    if (model === undefined) throw new CostError('UNKNOWN_GPU', `GPU device_id ${JSON.stringify(gpu.device_id)} is not among the compatible GPUs`);
    let found = false;
    for (const tier of ['instance_gpu_premium', 'instance_gpu_standard'] as const) {
      const match = pricing.products[tier].tiers.find((t) => t.model === model);
      if (match) {
        breakdown.set(tier, (breakdown.get(tier) ?? 0) + match.computeUnits);
        found = true;
        break;
      }
    }
    if (!found) throw new CostError('GPU_NOT_PRICED', `GPU model ${JSON.stringify(model)} is in no pricing tier (premium or standard)`);
  }
  return breakdown;
}

/** The product an executable is priced as (pyaleph's `_get_product_price_type`). */
export function executableProduct(exe: Executable, pricing: Pricing): ProductType {
  if (exe.type === 'PROGRAM') return exe.content.on.persistent ? 'program_persistent' : 'program';
  if (isConfidential(exe)) return 'instance_confidential';
  if (gpusOf(exe).length === 0) return 'instance';
  const tiers = gpuTierBreakdown(exe, pricing);
  return tiers.size === 1 && tiers.has('instance_gpu_standard') ? 'instance_gpu_standard' : 'instance_gpu_premium';
}

/** Execution volumes: rootfs, or code, runtime and data; then the volumes (sizes known or looked up). */
function executionVolumes(exe: Executable): VolumeToPrice[] {
  const out: VolumeToPrice[] = [];
  if (exe.type === 'INSTANCE') {
    const r = exe.content.rootfs;
    out.push({ type: 'EXECUTION_INSTANCE_VOLUME_ROOTFS', name: 'EXECUTION_INSTANCE_VOLUME_ROOTFS', ref: r.parent.ref, sizeMib: new Dec(r.size_mib) });
  } else {
    const files = [
      ['EXECUTION_PROGRAM_VOLUME_CODE', exe.content.code],
      ['EXECUTION_PROGRAM_VOLUME_RUNTIME', exe.content.runtime],
      ['EXECUTION_PROGRAM_VOLUME_DATA', exe.content.data],
    ] as const;
    for (const [type, file] of files) {
      if (!file) continue;
      // A zero estimate counts as none (pyaleph tests its truthiness).
      if (file.estimated_size_mib) out.push({ type, name: type, ref: file.ref, sizeMib: new Dec(file.estimated_size_mib) });
      else out.push({ type, name: type, ref: file.ref, useLatest: file.use_latest });
    }
  }
  exe.content.volumes.forEach((volume, i) => {
    if (isImmutableVolumeView(volume)) {
      const name = `#${i}:${volume.mount || 'EXECUTION_VOLUME_INMUTABLE'}`;
      if (volume.estimated_size_mib) out.push({ type: 'EXECUTION_VOLUME_INMUTABLE', name, ref: volume.ref, sizeMib: new Dec(volume.estimated_size_mib) });
      else out.push({ type: 'EXECUTION_VOLUME_INMUTABLE', name, ref: volume.ref, useLatest: volume.use_latest });
    } else {
      const name = `#${i}:${volume.mount || 'EXECUTION_VOLUME_PERSISTENT'}`;
      out.push({ type: 'EXECUTION_VOLUME_PERSISTENT', name, ref: null, sizeMib: new Dec(volume.size_mib) });
    }
  });
  return out;
}

/** Volume lines and the included-disk discount line (pyaleph's `_get_additional_storage_price`). */
function storageLines(exe: Executable, product: ProductPricing, paymentType: PaymentType, pricing: Pricing, fileSize: FileSizeLookup): CostLine[] {
  const prices = perMibPrices(product.storage);
  const lines = volumeLines(executionVolumes(exe), paymentType, prices, pricing.limits, fileSize);
  const includedMib = (product.computeUnit?.diskMib ?? 0) * computeUnitsOf(exe.content.resources, product.computeUnit);
  const sum = (pick: (l: CostLine) => Dec): Dec => lines.reduce((acc, l) => acc.plus(pick(l)), new Dec(0));
  const discount = (total: Dec, perMib: Dec): Dec => formatCost(Dec.min(total, new Dec(includedMib).times(perMib)).neg());
  lines.push({
    type: 'EXECUTION_VOLUME_DISCOUNT',
    name: 'EXECUTION_VOLUME_DISCOUNT',
    ref: null,
    sizeMib: null,
    hold: discount(sum((l) => l.hold), prices.hold),
    stream: discount(sum((l) => l.stream), prices.streamPerSecond),
    credit: discount(sum((l) => l.credit), prices.creditPerSecond),
  });
  return lines;
}

function executionLine(name: ProductType, units: number, product: ProductPricing, paymentType: PaymentType | undefined, pricing: Pricing): CostLine {
  const price = product.computeUnitPrice;
  if (!price) throw new CostError('PRICING_INCOMPLETE', `no compute_unit price for ${name} in the pricing aggregate`);
  const n = new Dec(units);
  let credit = formatCost(n.times(price.credit.div(HOUR)));
  // The credit floor applies to the ordinary execution line, not to GPU tier lines (as pyaleph).
  if (paymentType === 'credit') credit = Dec.max(credit, minCreditPerSecond(pricing.limits));
  return {
    type: 'EXECUTION',
    name,
    ref: null,
    sizeMib: null,
    hold: formatCost(n.times(price.holding)),
    stream: formatCost(n.times(price.payg.div(HOUR))),
    credit,
  };
}

export interface ExecutableCost {
  product: ProductType;
  computeUnits: number;
  multiplier: number;
  lines: CostLine[];
}

export function executableCost(exe: Executable, pricing: Pricing, fileSize: FileSizeLookup): ExecutableCost {
  const paymentType = paymentTypeOf(exe.content);
  const multiplier = computeUnitMultiplier(exe);
  if (gpusOf(exe).length > 0) {
    const breakdown = gpuTierBreakdown(exe, pricing);
    // GPU tier units are a floor: more vCPUs or memory than they cover (in the dominant tier's
    // compute unit) add units to the dominant tier.
    const dominant: GpuTier = breakdown.has('instance_gpu_premium') ? 'instance_gpu_premium' : 'instance_gpu_standard';
    const resourceUnits = computeUnitsOf(exe.content.resources, pricing.products[dominant].computeUnit);
    const gpuUnits = [...breakdown.values()].reduce((a, b) => a + b, 0);
    if (resourceUnits > gpuUnits) breakdown.set(dominant, (breakdown.get(dominant) ?? 0) + resourceUnits - gpuUnits);
    const lines = [...breakdown].map(([tier, units]) => executionLine(tier, units * multiplier, pricing.products[tier], undefined, pricing));
    // Storage of a GPU instance is priced with the premium product (pyaleph's baseline).
    lines.push(...storageLines(exe, pricing.products.instance_gpu_premium, paymentType, pricing, fileSize));
    const units = [...breakdown.values()].reduce((a, b) => a + b, 0);
    return { product: executableProduct(exe, pricing), computeUnits: units, multiplier, lines };
  }
  const productType = executableProduct(exe, pricing);
  const product = pricing.products[productType];
  const units = computeUnitsOf(exe.content.resources, product.computeUnit);
  const lines = [executionLine(productType, units * multiplier, product, paymentType, pricing), ...storageLines(exe, product, paymentType, pricing, fileSize)];
  return { product: productType, computeUnits: units, multiplier, lines };
}
