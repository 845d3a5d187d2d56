/**
 * The CRN list Aleph's clients choose a node from (`CRN_LIST_URL` of the Python SDK, settable as
 * `ALEPH_CRN_LIST_URL`; upstream it is crns-list.aleph.sh's `/crns.json`). Upstream builds it by
 * spreading each `resource_nodes` entry of the `corechannel` aggregate and adding what it read
 * from the node itself: `/status/config` (version, payment receiver, QEMU / confidential / GPU
 * switches), `/about/usage/system` and `/status/check/ipv6`. A field whose source could not be
 * read is null, as upstream does. The CCN serves it (packages/ccn, `GET /api/v0/crns.json`); the
 * clients' parsing (aleph-sdk-python `CRN`, aleph-client `CRNInfo.from_unsanitized_input`) needs
 * every key below present, so the schema is strict on both sides.
 */
import { z } from 'zod';
import { GpuDeviceSchema, SystemUsageAnswerSchema } from './usage.ts';

/** Where a CCN of ours serves the list (its clients' `ALEPH_CRN_LIST_URL` is the CCN's URL + this). */
export const CRN_LIST_PATH = '/api/v0/crns.json';

/** Bounds: a registry holds a few hundred CRNs; these keep a hostile list from being unbounded. */
export const CRN_LIST_MAX_ENTRIES = 5000;
const TEXT = z.string().max(4096);
const ADDRESS = z.string().max(256);

/** The subset of a CRN's `/status/config` the list reads: lenient on the rest (aleph-vm versions differ). */
export const CrnStatusConfigSchema = z.object({
  version: z.string().max(64),
  payment: z.object({ PAYMENT_RECEIVER_ADDRESS: ADDRESS.nullable().optional() }).optional(),
  computing: z
    .object({
      ENABLE_QEMU_SUPPORT: z.boolean().optional(),
      ENABLE_CONFIDENTIAL_COMPUTING: z.boolean().optional(),
      ENABLE_GPU_SUPPORT: z.boolean().optional(),
    })
    .optional(),
});
export type CrnStatusConfig = z.infer<typeof CrnStatusConfigSchema>;

/** What a CRN's node reports about itself, as a list entry carries it (null: not read). */
export interface CrnSelfReport {
  version: string | null;
  payment_receiver_address: string | null;
  qemu_support: boolean | null;
  confidential_support: boolean | null;
  gpu_support: boolean | null;
}

/** The fields of a `/status/config` answer the list keeps. */
export function selfReportOf(config: CrnStatusConfig): CrnSelfReport {
  return {
    version: config.version,
    payment_receiver_address: config.payment?.PAYMENT_RECEIVER_ADDRESS ?? null,
    qemu_support: config.computing?.ENABLE_QEMU_SUPPORT ?? null,
    confidential_support: config.computing?.ENABLE_CONFIDENTIAL_COMPUTING ?? null,
    gpu_support: config.computing?.ENABLE_GPU_SUPPORT ?? null,
  };
}

export const CrnListEntrySchema = z.strictObject({
  // The `corechannel` aggregate's resource node entry, every field of it (aleph-protocol.md §8.2).
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  name: TEXT,
  type: z.literal('compute'),
  address: TEXT,
  owner: ADDRESS,
  manager: ADDRESS,
  reward: ADDRESS,
  stream_reward: ADDRESS,
  status: z.enum(['waiting', 'linked']),
  parent: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
  score: z.number(),
  performance: z.number(),
  decentralization: z.number(),
  inactive_since: z.number().nullable(),
  time: z.number(),
  locked: z.boolean(),
  authorized: z.array(ADDRESS).max(1000),
  picture: TEXT,
  banner: TEXT,
  description: TEXT,
  registration_url: TEXT,
  terms_and_conditions: TEXT,
  multiaddress: TEXT,
  // What the list's maker read from the node (null when it could not).
  config_from_crn: z.boolean(),
  version: z.string().max(64).nullable(),
  payment_receiver_address: ADDRESS.nullable(),
  qemu_support: z.boolean().nullable(),
  confidential_support: z.boolean().nullable(),
  gpu_support: z.boolean().nullable(),
  system_usage: SystemUsageAnswerSchema.nullable(),
  compatible_gpus: z.array(GpuDeviceSchema).max(64),
  compatible_available_gpus: z.array(GpuDeviceSchema).max(64),
  ipv6_check: z.strictObject({ host: z.boolean(), vm: z.boolean() }).nullable(),
});
export type CrnListEntry = z.infer<typeof CrnListEntrySchema>;

export const CrnListSchema = z.strictObject({
  /** ISO date of the newest node report the list holds; null when it holds none. */
  last_refresh: z.string().max(64).nullable(),
  crns: z.array(CrnListEntrySchema).max(CRN_LIST_MAX_ENTRIES),
});
export type CrnList = z.infer<typeof CrnListSchema>;
