/** Pieces shared by PROGRAM and INSTANCE contents (aleph-protocol.md §4.1–§4.3). */
import { z } from 'zod';
import { ItemHash } from './common.ts';

const text256 = z.string().max(256);

export const ResourcesSchema = z.object({
  vcpus: z.number().int().min(1).max(256).default(1),
  memory: z.number().int().min(1).max(1_048_576).default(128),
  seconds: z.number().int().min(1).max(315_360_000).default(1),
  published_ports: z
    .array(z.strictObject({ protocol: z.enum(['tcp', 'udp']), port: z.number().int().min(1).max(65_535) }))
    .optional(),
});
export type Resources = z.infer<typeof ResourcesSchema>;

export const ImmutableVolumeSchema = z.strictObject({
  ref: ItemHash,
  use_latest: z.boolean().default(true),
  mount: text256.optional(),
  comment: text256.optional(),
});
export const EphemeralVolumeSchema = z.strictObject({
  ephemeral: z.literal(true),
  size_mib: z.number().int().min(1).max(1000),
  mount: text256.optional(),
  comment: text256.optional(),
});
export const PersistentVolumeSchema = z.strictObject({
  parent: z.strictObject({ ref: ItemHash, use_latest: z.boolean().default(true) }).optional(),
  persistence: z.enum(['host', 'store']).optional(),
  name: text256.optional(),
  size_mib: z.number().int().min(1).max(2_097_152),
  mount: text256.optional(),
  comment: text256.optional(),
});
export const VolumeSchema = z.union([EphemeralVolumeSchema, ImmutableVolumeSchema, PersistentVolumeSchema]);
export type Volume = z.infer<typeof VolumeSchema>;
export type ImmutableVolume = z.infer<typeof ImmutableVolumeSchema>;
export type EphemeralVolume = z.infer<typeof EphemeralVolumeSchema>;
export type PersistentVolume = z.infer<typeof PersistentVolumeSchema>;

export function isImmutableVolume(v: Volume): v is ImmutableVolume {
  return 'ref' in v;
}
export function isEphemeralVolume(v: Volume): v is EphemeralVolume {
  return 'ephemeral' in v;
}
export function isPersistentVolume(v: Volume): v is PersistentVolume {
  return !isImmutableVolume(v) && !isEphemeralVolume(v);
}

export const PaymentSchema = z.object({
  chain: z.string().optional(),
  receiver: z.string().optional(),
  type: z.enum(['hold', 'superfluid', 'credit']),
});
export type Payment = z.infer<typeof PaymentSchema>;

export const RequirementsSchema = z.strictObject({
  cpu: z
    .strictObject({
      architecture: z.enum(['x86_64', 'arm64']).optional(),
      vendor: z.string().optional(),
      features: z.array(z.string()).optional(),
    })
    .optional(),
  node: z
    .strictObject({
      owner: z.string().optional(),
      address_regex: z.string().max(256).optional(),
      node_hash: ItemHash.optional(),
      terms_and_conditions: ItemHash.optional(),
    })
    .optional(),
  gpu: z
    .array(
      z.strictObject({
        vendor: z.string(),
        device_name: z.string(),
        device_class: z.enum(['0300', '0302']),
        device_id: z.string(),
      }),
    )
    .optional(),
});
export type Requirements = z.infer<typeof RequirementsSchema>;

/** Fields common to PROGRAM and INSTANCE, with the reference's size limits. */
export const executableShape = {
  allow_amend: z.boolean(),
  metadata: z
    .record(z.string(), z.unknown())
    .refine((m) => Object.keys(m).length <= 256, { message: 'at most 256 metadata entries' })
    .optional(),
  authorized_keys: z.array(z.string().max(8192)).max(256).optional(),
  variables: z
    .record(z.string().min(1).max(128), z.string().max(4096))
    .refine((m) => Object.keys(m).length <= 256, { message: 'at most 256 variables' })
    .optional(),
  volumes: z.array(VolumeSchema).max(256).default([]),
  resources: ResourcesSchema.prefault({}),
  payment: PaymentSchema.optional(),
  requirements: RequirementsSchema.optional(),
  replaces: z.string().max(128).optional(),
};

/** Compute units (reference pricing): 1 CU = 1 vCPU and 2 GiB of memory; the larger need wins. */
export function computeUnits(resources: Pick<Resources, 'vcpus' | 'memory'>): number {
  return Math.max(resources.vcpus, Math.ceil(resources.memory / 2048));
}
