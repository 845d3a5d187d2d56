/**
 * The two CRN calls of the scheduler, over plain HTTP as aleph-vm's scheduler makes them:
 * `GET /about/usage/system` (capacity) and `POST /control/allocations` (the CRN's full desired
 * set, signed `Aleph-EIP191-V1` with the CCN key; crn-api.md §2.1, §3.1, §3.5).
 */
import { ALLOCATIONS_PATH, AllocationAnswerSchema, signAllocationRequest, UsageSystemSchema, type AllocationAnswer, type EthAccount } from '@aleph-nodes/protocol';
import type { CrnCapacity } from './placement.ts';

export interface DesiredSet {
  persistent_vms: string[];
  instances: string[];
}

/** Reads `/about/usage/system` into the placement's units; throws on any other answer. */
export function parseUsage(body: unknown): CrnCapacity {
  const u = UsageSystemSchema.parse(body);
  return {
    cpuCount: u.cpu.count,
    totalMemoryMib: Math.floor(u.mem.total_kB / 1024),
    availableMemoryMib: Math.floor(u.mem.available_kB / 1024),
    availableDiskMib: Math.floor(u.disk.available_kB / 1024),
    architecture: u.properties?.cpu?.architecture ?? '',
    vendor: u.properties?.cpu?.vendor ?? '',
    features: u.properties?.cpu?.features ?? [],
    gpuDeviceIds: (u.gpu?.available_devices ?? []).map((d) => d.device_id ?? '').filter((id) => id !== ''),
  };
}

/** What a CRN answered to a push that it accepted (200 all started, 207 mixed, 503 all failed). */
export type PushAnswer = AllocationAnswer & { status: number };

/** What the signed payload of a push carries besides the body (protocol allocation-signature.ts). */
export interface PushSigning {
  /** The target CRN's registry hash. */
  crnHash: string;
  /** Unix seconds; defaults to now. */
  iat?: number;
}

export class PushError extends Error {
  override readonly name = 'PushError';
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/**
 * Pushes the desired set. Resolves with the CRN's answer when it processed the set (even if some
 * workloads failed to start: the set itself was applied); throws PushError when the set was not
 * applied (unreachable, timeout, refused signature, unexpected answer), which the caller retries.
 */
export async function pushAllocations(account: EthAccount, crnUrl: string, set: DesiredSet, timeoutMs: number, signing: PushSigning): Promise<PushAnswer> {
  const body = JSON.stringify({ persistent_vms: set.persistent_vms, instances: set.instances });
  // Bound to this CRN (its registry hash and the URL pushed to), so that it cannot be replayed
  // to another CRN; `iat` comes from the pusher, never older than the last one sent to the CRN.
  const target = { nodeHash: signing.crnHash, url: crnUrl };
  const authorization = signAllocationRequest(account, { method: 'POST', path: ALLOCATIONS_PATH, body, target, ...(signing.iat === undefined ? {} : { iat: signing.iat }) });
  let res: Response;
  try {
    res = await fetch(`${trimSlash(crnUrl)}${ALLOCATIONS_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new PushError(`push to ${crnUrl} failed: ${(err as Error).message}${(err as { cause?: Error }).cause ? ` (${(err as { cause: Error }).cause.message})` : ''}`);
  }
  const text = await res.text().catch(() => '');
  if (res.status !== 200 && res.status !== 207 && res.status !== 503) {
    throw new PushError(`push to ${crnUrl} answered ${res.status}: ${text.slice(0, 300)}`);
  }
  let parsed;
  try {
    parsed = AllocationAnswerSchema.safeParse(JSON.parse(text));
  } catch {
    parsed = undefined;
  }
  // A 503 without the allocation answer shape is the CRN refusing the request (draining...).
  if (!parsed?.success) throw new PushError(`push to ${crnUrl} answered ${res.status} without an allocation result: ${text.slice(0, 300)}`);
  return { status: res.status, ...parsed.data };
}
