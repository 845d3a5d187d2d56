/**
 * The scheduler's wire contract with a CRN (crn-api.md §3.5, §3.6), defined once and used on
 * both sides: the CRN parses pushes and notifies with the strict request schemas and answers in
 * the AllocationAnswer shape; the CCN's scheduler parses that answer with the same schema.
 *
 * aleph-vm answers `errors: {hash: "text"}` only. Ours also carries `error_codes: {hash: CODE}`
 * (the CRN error table's code), so that a scheduler decides on a field, not on parsed text; an
 * answer without it (an aleph-vm CRN) falls back to the text (`failureCode`).
 */
import { z } from 'zod';
import { isItemHash } from '../item-hash.ts';

export const ALLOCATIONS_PATH = '/control/allocations';
export const ALLOCATION_NOTIFY_PATH = '/control/allocation/notify';

/** Most workloads one push may list (a bound on what one request makes the CRN do). */
export const MAX_ALLOCATION_ENTRIES = 10_000;

const itemHash = z.string().refine(isItemHash, 'not an item hash');

/** `POST /control/allocations`: the CRN's whole desired set of scheduled workloads. */
export const AllocationRequestSchema = z.strictObject({
  persistent_vms: z.array(itemHash).max(MAX_ALLOCATION_ENTRIES).default([]),
  instances: z.array(itemHash).max(MAX_ALLOCATION_ENTRIES).default([]),
  /** Sent by aleph's scheduler, ignored by aleph-vm and by us. */
  on_demand_vms: z.array(z.string()).nullable().optional(),
  jobs: z.array(z.string()).nullable().optional(),
});
export type AllocationRequestBody = z.infer<typeof AllocationRequestSchema>;

/** `POST /control/allocation/notify`: a user-placed instance. */
export const AllocationNotifySchema = z.strictObject({ instance: itemHash });

/** What the CRN answers to a push it applied (200 all started, 207 mixed, 503 all failed). */
export const AllocationAnswerSchema = z.object({
  success: z.boolean().optional(),
  successful: z.array(z.string()).default([]),
  failing: z.array(z.string()).default([]),
  stopped: z.array(z.string()).default([]),
  errors: z.record(z.string(), z.string()).default({}),
  error_codes: z.record(z.string(), z.string()).optional(),
});
export type AllocationAnswer = z.infer<typeof AllocationAnswerSchema>;

/**
 * The code of a workload's failure in an answer: `error_codes` when the CRN sends it, else the
 * `CODE: message` prefix of the text (ours before error_codes), else undefined (aleph-vm's
 * free text).
 */
export function failureCode(answer: Pick<AllocationAnswer, 'errors' | 'error_codes'>, hash: string): string | undefined {
  const code = answer.error_codes?.[hash];
  if (code) return code;
  const text = answer.errors[hash];
  const prefix = text === undefined ? undefined : /^([A-Z][A-Z0-9_]{2,63}): /.exec(text)?.[1];
  if (prefix) return prefix;
  // aleph-vm says "Insufficient capacity" in words.
  return text !== undefined && /insufficient capacity/i.test(text) ? 'INSUFFICIENT_CAPACITY' : undefined;
}
