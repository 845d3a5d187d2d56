/**
 * What a cost depends on in a PROGRAM, INSTANCE or STORE content: a lenient view (unknown fields
 * are ignored) that takes processed contents as well as the cost-estimation contents the SDK
 * sends, whose code, runtime, data, immutable volumes and STORE carry `estimated_size_mib` for
 * files not uploaded yet. Defaults are aleph-message's. Bounds follow the content schemas, so
 * whatever the processing pipeline accepts parses here, and nothing parsed can overflow a cost.
 */
import { z } from 'zod';
import { ProtocolError } from '../errors.ts';
import { zodIssues } from '../content/index.ts';

const MAX_VOLUME_MIB = 2_097_152;
/** Estimated sizes of not-yet-uploaded files (MiB). */
const MAX_ESTIMATED_MIB = 1_000_000_000;

const ref = z.string().min(1).max(256);
/** pyaleph types it Optional[int] on executables (an integral float passes) and Optional[float] on STORE. */
const estimatedInt = z.number().int().min(0).max(MAX_ESTIMATED_MIB).nullish();
const estimatedFloat = z.number().finite().min(0).max(MAX_ESTIMATED_MIB).nullish();

const PaymentView = z.object({ type: z.enum(['hold', 'superfluid', 'credit']) }).nullish();
const ResourcesView = z
  .object({ vcpus: z.number().int().min(1).max(256).default(1), memory: z.number().int().min(1).max(1_048_576).default(128) })
  .prefault({});

const ImmutableVolumeView = z.object({
  ref,
  use_latest: z.boolean().default(true),
  mount: z.string().max(256).nullish(),
  estimated_size_mib: estimatedInt,
});
/** Ephemeral and persistent volumes: pyaleph charges both by `size_mib` as EXECUTION_VOLUME_PERSISTENT. */
const SizedVolumeView = z.object({
  size_mib: z.number().int().min(0).max(MAX_VOLUME_MIB),
  mount: z.string().max(256).nullish(),
});
// An immutable volume is the one with a `ref` (aleph-message's union tries ImmutableVolume first).
const VolumeView = z.union([ImmutableVolumeView, SizedVolumeView]);
export type ImmutableVolumeView = z.infer<typeof ImmutableVolumeView>;
export type VolumeView = z.infer<typeof VolumeView>;
export function isImmutableVolumeView(v: VolumeView): v is ImmutableVolumeView {
  return 'ref' in v && typeof v.ref === 'string';
}

const executableShape = {
  address: z.string().max(256),
  resources: ResourcesView,
  payment: PaymentView,
  volumes: z.array(VolumeView).max(256).default([]),
};

const FileRefView = (useLatestDefault: boolean) =>
  z.object({ ref, use_latest: z.boolean().nullish().transform((v) => v ?? useLatestDefault), estimated_size_mib: estimatedInt });

export const ProgramCostView = z.object({
  ...executableShape,
  on: z.object({ persistent: z.boolean().nullish() }),
  environment: z.object({ internet: z.boolean().default(false) }).prefault({}),
  code: FileRefView(false),
  runtime: FileRefView(true),
  data: FileRefView(false).nullish(),
});
export type ProgramCostView = z.infer<typeof ProgramCostView>;

export const InstanceCostView = z.object({
  ...executableShape,
  environment: z.object({ trusted_execution: z.object({}).passthrough().nullish() }).prefault({}),
  rootfs: z.object({ parent: z.object({ ref }), size_mib: z.number().int().min(0).max(MAX_VOLUME_MIB) }),
  requirements: z.object({ gpu: z.array(z.object({ device_id: z.string().max(64) })).max(64).nullish() }).nullish(),
});
export type InstanceCostView = z.infer<typeof InstanceCostView>;

export const StoreCostView = z.object({
  address: z.string().max(256),
  item_hash: z.string().max(256),
  size: z.number().int().min(0).nullish(),
  payment: PaymentView,
  estimated_size_mib: estimatedFloat,
});
export type StoreCostView = z.infer<typeof StoreCostView>;

export type CostMessageType = 'PROGRAM' | 'INSTANCE' | 'STORE';
export const COST_MESSAGE_TYPES: readonly CostMessageType[] = ['PROGRAM', 'INSTANCE', 'STORE'];

export type CostView =
  | { type: 'PROGRAM'; content: ProgramCostView }
  | { type: 'INSTANCE'; content: InstanceCostView }
  | { type: 'STORE'; content: StoreCostView };

/** Parses what the cost needs; a ProtocolError INVALID_CONTENT (or UNKNOWN_MESSAGE_TYPE) otherwise. */
export function costViewOf(type: string, content: unknown): CostView {
  const schema = type === 'PROGRAM' ? ProgramCostView : type === 'INSTANCE' ? InstanceCostView : type === 'STORE' ? StoreCostView : undefined;
  if (!schema) throw new ProtocolError('UNKNOWN_MESSAGE_TYPE', `only PROGRAM, INSTANCE and STORE messages have a cost, not ${JSON.stringify(String(type).slice(0, 64))}`);
  const parsed = schema.safeParse(content);
  if (!parsed.success) {
    const issues = zodIssues(parsed.error);
    const first = issues[0];
    throw new ProtocolError('INVALID_CONTENT', `${type} content cannot be priced: ${first ? `${first.path}: ${first.message}` : 'schema mismatch'}`, issues);
  }
  return { type, content: parsed.data } as CostView;
}

/** pyaleph's get_payment_type: credit, superfluid (stream), else hold. */
export function paymentTypeOf(content: { payment?: { type: 'hold' | 'superfluid' | 'credit' } | null | undefined }): 'hold' | 'superfluid' | 'credit' {
  return content.payment?.type ?? 'hold';
}
