/**
 * The CRN list of Aleph's clients (protocol crn-list.ts), as upstream's crns-list service makes it:
 * every `resource_nodes` entry of this node's `corechannel` registry, sorted by score, spread, with
 * what the CRN last said of itself. This node reads that only from the CRNs its monitor probes
 * (those linked to it); for the others every self-reported field is null, as upstream's are for a
 * node it could not read. Two fields are never known here, and say so:
 * - `ipv6_check` is null: upstream calls each CRN's `/status/check/ipv6`, which makes the CRN run
 *   its diagnostic VM; the monitor does not (a probe every few seconds would keep it busy);
 * - `compatible_gpus` / `compatible_available_gpus` are the devices the CRN itself flags
 *   `compatible` (aleph-vm's flag, from the same settings aggregate upstream filters by).
 */
import type { CrnList, CrnListEntry, CrnSelfReport, SystemUsageAnswer } from '@aleph-nodes/protocol';
import type { CrnEntry } from './types.ts';

/** What this node knows of one CRN from its own probes. */
export interface CrnKnown {
  report: CrnSelfReport | null;
  systemUsage: SystemUsageAnswer | null;
  /** Unix seconds of the round that read the report. */
  reportedAt: number | null;
}

const UNKNOWN: CrnSelfReport = { version: null, payment_receiver_address: null, qemu_support: null, confidential_support: null, gpu_support: null };

export function buildCrnList(resourceNodes: readonly CrnEntry[], known: (hash: string) => CrnKnown | undefined, filterInactive: boolean): CrnList {
  let newest: number | null = null;
  const crns: CrnListEntry[] = [...resourceNodes]
    .filter((crn) => !filterInactive || crn.inactive_since === null)
    .sort((a, b) => b.score - a.score)
    .map((crn) => {
      const k = known(crn.hash);
      if (k?.reportedAt != null && (newest === null || k.reportedAt > newest)) newest = k.reportedAt;
      const usage = k?.systemUsage ?? null;
      return {
        ...crn,
        config_from_crn: Boolean(k?.report),
        ...(k?.report ?? UNKNOWN),
        system_usage: usage,
        compatible_gpus: (usage?.gpu.devices ?? []).filter((d) => d.compatible),
        compatible_available_gpus: (usage?.gpu.available_devices ?? []).filter((d) => d.compatible),
        ipv6_check: null,
      };
    });
  return { last_refresh: newest === null ? null : new Date(newest * 1000).toISOString(), crns };
}
