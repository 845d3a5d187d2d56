/**
 * The execution views of `/about/executions/list` (v1), `/v2/about/executions/list`,
 * `/about/executions/records` and `/about/executions/details`, in aleph-vm 1.14's shapes
 * (wire contracts: `@aleph-nodes/protocol` `crn-api/executions.ts`). Pure builders: the routes
 * in about.ts pass the live executions and the records.
 */
import { createHash } from 'node:crypto';
import {
  NO_NETWORKING_V2,
  type ExecutionDetail,
  type ExecutionListV1Entry,
  type ExecutionListV2Entry,
  type ExecutionRecordView,
  type ExecutionTimes,
  type NetworkingV2,
} from '@aleph-nodes/protocol';
import type { ExecutionNetwork, PortForward } from '@aleph-nodes/vmm';
import type { ExecutionRecord } from '../../db/records.ts';
import type { Execution } from '../../execution/execution.ts';

/**
 * IPv6 as a backend reports it, when it does (an executor with an IPv6 prefix fills these); without
 * it the lists say `""` (the Python SDK wants strings; aleph-client shows "N/A").
 */

/** `mapped_ports`: `{"22": {"host": 24000, "tcp": true, "udp": false}}`. */
export function mappedPorts(forwards: readonly PortForward[]): NetworkingV2['mapped_ports'] {
  const out: NetworkingV2['mapped_ports'] = {};
  for (const f of forwards) out[String(f.guestPort)] = { host: f.hostPort, tcp: f.tcp, udp: f.udp };
  return out;
}

/** The v2 `networking` of a live execution; `NO_NETWORKING_V2` when it has no network (yet). */
export function networkingV2(exec: Execution): NetworkingV2 {
  const handle = exec.handle;
  if (!handle || !exec.live) return { ...NO_NETWORKING_V2, mapped_ports: {} };
  const network = handle.network;
  if (network) {
    return {
      ipv4_network: network.ipv4Network,
      ipv4_ip: network.ipv4Ip,
      host_ipv4: network.hostIpv4 ?? '',
      ipv6_network: network.ipv6Network ?? '',
      ipv6_ip: network.ipv6Ip ?? '',
      mapped_ports: mappedPorts(network.portForwards),
    };
  }
  // The process backend: a /30 per workload on the host, no IPv6 and no port mappings.
  return { ...NO_NETWORKING_V2, ipv4_network: `${handle.endpoint.host}/30`, ipv4_ip: handle.endpoint.host, mapped_ports: {} };
}

/** aleph-vm lists in v1 the running executions only (and confidential ones awaiting their owner: none here). */
export function listV1(live: readonly Execution[]): Record<string, ExecutionListV1Entry> {
  const out: Record<string, ExecutionListV1Entry> = {};
  for (const exec of live) {
    if (exec.state !== 'running') continue;
    const n = networkingV2(exec);
    out[exec.ref] = { networking: { ipv4: n.ipv4_network, ipv6: n.ipv6_network }, vm_type: exec.vmType, awaiting_confidential_init: false };
  }
  return out;
}

/** What the records keep of the times of an execution that is not in memory any more. */
function recordTimes(rec: ExecutionRecord): ExecutionTimes {
  return { defined_at: rec.definedAt, preparing_at: null, prepared_at: null, starting_at: null, started_at: rec.startedAt, stopping_at: null, stopped_at: rec.stoppedAt };
}

export interface ListV2Input {
  records: readonly ExecutionRecord[];
  find(ref: string): Execution | undefined;
  /** This node's extras of an execution (payment verdict, stop reason). */
  extras(exec: Execution | undefined): Record<string, unknown>;
}

/**
 * The v2 list: every execution of the records, running or not. aleph-vm lists the executions of
 * its pool, where a persistent VM that stopped stays (`running: false`) and an ended on-demand
 * one is forgotten; we keep every recorded one with `running: false` and `status.stopped_at`, so
 * that an owner sees why the node stopped it (`stop_reason`), and its networking empty.
 */
export function listV2(input: ListV2Input): Record<string, ExecutionListV2Entry> {
  const out: Record<string, ExecutionListV2Entry> = {};
  for (const rec of input.records) {
    const exec = input.find(rec.ref);
    out[rec.ref] = {
      networking: exec ? networkingV2(exec) : { ...NO_NETWORKING_V2, mapped_ports: {} },
      status: exec ? { ...exec.times } : recordTimes(rec),
      running: exec?.state === 'running',
      awaiting_confidential_init: false,
      vm_type: rec.vmType,
      state: exec?.state ?? rec.state,
      ...input.extras(exec),
      ...(!exec && rec.lastError?.startsWith('payment_lapsed') ? { stop_reason: 'payment_lapsed', last_error: rec.lastError } : {}),
    };
  }
  return out;
}

/** A stable UUID-shaped id of one execution (aleph-vm's `uuid`): its ref and its definition time. */
export function executionUuid(ref: string, definedAt: string): string {
  const h = createHash('sha256').update(`${ref}\n${definedAt}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16] ?? '0', 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function messageContent(raw: string): { message: unknown; content: unknown } {
  try {
    const parsed = JSON.parse(raw) as { message?: { content?: unknown }; content?: unknown };
    return { message: parsed.message ?? null, content: parsed.content ?? parsed.message?.content ?? null };
  } catch {
    return { message: null, content: null };
  }
}

/**
 * `/about/executions/records`: aleph-vm's columns (newest first), null where our backends do not
 * measure (CPU time, I/O), then ours. `message` is the executable content, as aleph-vm stores it;
 * `original_message` too (we do not rewrite messages: amends start a new execution).
 */
export function recordViews(records: readonly ExecutionRecord[], liveForwards: (ref: string) => readonly PortForward[] | undefined): ExecutionRecordView[] {
  return [...records].reverse().map((r) => {
    const { content } = messageContent(r.message);
    const forwards = liveForwards(r.ref);
    return {
      uuid: executionUuid(r.ref, r.definedAt),
      vm_hash: r.ref,
      vm_id: null,
      time_defined: r.definedAt,
      time_prepared: null,
      time_started: r.startedAt,
      time_stopping: r.stoppedAt,
      cpu_time_user: null,
      cpu_time_system: null,
      io_read_count: null,
      io_write_count: null,
      io_read_bytes: null,
      io_write_bytes: null,
      vcpus: r.vcpus,
      memory: r.memoryMib,
      network_tap: null,
      message: content,
      original_message: content,
      persistent: r.persistent,
      gpus: [],
      mapped_ports: forwards ? mappedPorts(forwards) : null,
      // Ours.
      vm_type: r.vmType,
      state: r.state,
      owner: r.owner,
      owner_stopped: r.ownerStopped,
      disk_mib: r.diskMib,
      memory_peak_mib: r.memoryPeakMib,
      time_stopped: r.stoppedAt,
      last_error: r.lastError,
    };
  });
}

/** `/about/executions/details`: `[{hash: execution}]` as aleph-vm, with our execution's internals. */
export function detailViews(live: readonly Execution[]): [Record<string, ExecutionDetail>] {
  const out: Record<string, ExecutionDetail> = {};
  for (const exec of live) {
    const network = exec.handle?.network;
    out[exec.ref] = {
      is_running: exec.state === 'running',
      vm_hash: exec.ref,
      uuid: executionUuid(exec.ref, exec.times.defined_at ?? ''),
      times: { ...exec.times },
      persistent: exec.persistent,
      mapped_ports: network ? mappedPorts(network.portForwards) : {},
      gpus: [],
      state: exec.state,
      concurrent_runs: exec.inflight,
      vm_type: exec.vmType,
      vm_id: exec.id,
      resources: exec.resources,
      endpoint: exec.handle?.endpoint ?? null,
      networking: networkingV2(exec),
      last_error: exec.lastError,
    };
  }
  return [out];
}
