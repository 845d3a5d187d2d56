/**
 * The CRN's execution views as aleph-vm 1.14 serves them (`orchestrator/views/__init__.py`,
 * `metrics.py`), defined once: the CRN builds its answers with these types and checks them in its
 * tests; clients (the CCN's liveness prober, `crn status`) read them with the same schemas.
 *
 * The Python SDK (aleph-sdk-python `aleph.sdk.types`) validates the WHOLE list with
 * `CrnV1List` / `CrnV2List`: one entry with a null where it wants a string, or without a
 * networking field, fails every entry. So, unlike aleph-vm (which answers `"networking": {}`
 * while a VM has no tap interface yet and `null` without IPv6), every networking field here is a
 * string, `""` when there is none (aleph-client prints `""` as "N/A").
 */
import { z } from 'zod';

/** aleph-vm's `VmExecutionTimes`: every key present, null until reached (SDK `VmStatus`). */
export const ExecutionTimesSchema = z.strictObject({
  defined_at: z.string().nullable(),
  preparing_at: z.string().nullable(),
  prepared_at: z.string().nullable(),
  starting_at: z.string().nullable(),
  started_at: z.string().nullable(),
  stopping_at: z.string().nullable(),
  stopped_at: z.string().nullable(),
});
export type ExecutionTimes = z.infer<typeof ExecutionTimesSchema>;

/** `VmType.name` of aleph-message. */
export const VmTypeNameSchema = z.enum(['microvm', 'persistent_program', 'instance']);

/** `GET /about/executions/list` (v1): the running executions only. */
export const ExecutionListV1EntrySchema = z.looseObject({
  networking: z.looseObject({ ipv4: z.string(), ipv6: z.string() }),
  vm_type: VmTypeNameSchema,
  awaiting_confidential_init: z.boolean(),
});
export const ExecutionListV1Schema = z.record(z.string(), ExecutionListV1EntrySchema);
export type ExecutionListV1Entry = z.infer<typeof ExecutionListV1EntrySchema>;

export const PortMappingSchema = z.strictObject({ host: z.number().int().positive(), tcp: z.boolean(), udp: z.boolean() });

export const NetworkingV2Schema = z.strictObject({
  ipv4_network: z.string(),
  ipv4_ip: z.string(),
  host_ipv4: z.string(),
  ipv6_network: z.string(),
  ipv6_ip: z.string(),
  /** Guest port → host port: `{"22": {"host": 24000, "tcp": true, "udp": false}}`. */
  mapped_ports: z.record(z.string(), PortMappingSchema),
});
export type NetworkingV2 = z.infer<typeof NetworkingV2Schema>;

/** What `networking` says of an execution that has no network (yet, or any more). */
export const NO_NETWORKING_V2: NetworkingV2 = Object.freeze({ ipv4_network: '', ipv4_ip: '', host_ipv4: '', ipv6_network: '', ipv6_ip: '', mapped_ports: {} }) as NetworkingV2;

/** This CRN's extras on a v2 entry (not in aleph-vm; clients ignore unknown fields). */
export const ExecutionPaymentViewSchema = z.looseObject({ status: z.enum(['paid', 'removing', 'unpaid', 'unknown']), detail: z.string().optional(), reason: z.string().optional() });

/** `GET /v2/about/executions/list`: every execution the node knows, running or not. */
export const ExecutionListV2EntrySchema = z.looseObject({
  networking: NetworkingV2Schema,
  status: ExecutionTimesSchema,
  running: z.boolean(),
  awaiting_confidential_init: z.boolean(),
  vm_type: VmTypeNameSchema,
  /** Ours: the execution's state (`preparing` … `stopped` / `failed`). */
  state: z.string().optional(),
  payment: ExecutionPaymentViewSchema.optional(),
  stop_reason: z.string().optional(),
  stop_detail: z.string().optional(),
  last_error: z.string().optional(),
});
export const ExecutionListV2Schema = z.record(z.string(), ExecutionListV2EntrySchema);
export type ExecutionListV2Entry = z.infer<typeof ExecutionListV2EntrySchema>;

/**
 * `GET /about/executions/records`: aleph-vm's `ExecutionRecord` rows (newest first), the columns it
 * has; the ones our backends do not measure are null. Ours adds `state`, `owner`, `owner_stopped`,
 * `disk_mib`, `memory_peak_mib`, `time_stopped`, `last_error`, `vm_type`.
 */
export const ExecutionRecordViewSchema = z.looseObject({
  uuid: z.string(),
  vm_hash: z.string(),
  vm_id: z.number().int().nullable(),
  time_defined: z.string(),
  time_prepared: z.string().nullable(),
  time_started: z.string().nullable(),
  time_stopping: z.string().nullable(),
  cpu_time_user: z.number().nullable(),
  cpu_time_system: z.number().nullable(),
  io_read_count: z.number().int().nullable(),
  io_write_count: z.number().int().nullable(),
  io_read_bytes: z.number().int().nullable(),
  io_write_bytes: z.number().int().nullable(),
  vcpus: z.number().int(),
  memory: z.number().int(),
  network_tap: z.string().nullable(),
  message: z.unknown(),
  original_message: z.unknown(),
  persistent: z.boolean().nullable(),
  gpus: z.array(z.unknown()).nullable(),
  mapped_ports: z.record(z.string(), PortMappingSchema).nullable(),
});
export const ExecutionRecordsSchema = z.array(ExecutionRecordViewSchema);
export type ExecutionRecordView = z.infer<typeof ExecutionRecordViewSchema>;

/**
 * `GET /about/executions/details` (operator only): aleph-vm answers `[{hash: VmExecution.to_dict()}]`,
 * a one-element list of a map; each value carries `is_running`, `vm_hash`, `times`, `persistent`,
 * `mapped_ports` and backend internals. Ours carries the same keys and our own internals.
 */
export const ExecutionDetailSchema = z.looseObject({
  is_running: z.boolean(),
  vm_hash: z.string(),
  uuid: z.string(),
  times: ExecutionTimesSchema,
  persistent: z.boolean(),
  mapped_ports: z.record(z.string(), PortMappingSchema),
  gpus: z.array(z.unknown()),
  state: z.string(),
  concurrent_runs: z.number().int().nonnegative(),
});
export const ExecutionDetailsSchema = z.tuple([z.record(z.string(), ExecutionDetailSchema)]);
export type ExecutionDetail = z.infer<typeof ExecutionDetailSchema>;
