/**
 * Who may act for an owner (aleph-protocol.md §3): the owner's own address, or an address the
 * owner's `security` aggregate authorizes, with every filter of that authorization matching
 * (chain, channels, message types). One function for every place the CRN decides it: owner
 * operations on `/control/machine/*` and messages heard from the CCN that would stop, amend or
 * forget an execution (the CRN re-checks, it does not take the CCN's word).
 */
import { sameAddress } from '@aleph-nodes/protocol';
import type { CcnClient } from './ccn-client.ts';

/** What is known about the act: its signer and, for a message, its type, chain and channel. */
export interface Acting {
  sender: string;
  /** Message type (`FORGET`, `STORE`...), or `INSTANCE` for owner operations (crn-api.md §2.2 item 6). */
  type?: string | undefined;
  chain?: string | undefined;
  channel?: string | null | undefined;
}

interface Authorization {
  address?: unknown;
  chain?: unknown;
  channels?: unknown;
  types?: unknown;
}

/** EVM addresses match whatever their case; base58 (Solana...) ones only exactly: case changes them. */
const same = sameAddress;

/** An authorization filter matches when it is absent/empty, the value is unknown, or it lists the value. */
function allows(filter: unknown, value: string | null | undefined): boolean {
  if (!Array.isArray(filter) || filter.length === 0) return true;
  if (value === undefined) return true;
  return value !== null && filter.includes(value);
}

/** True when the `security` aggregate value `security` lets `acting` act for its owner. */
export function securityAllows(security: Record<string, unknown> | undefined, acting: Acting): boolean {
  const list = Array.isArray(security?.authorizations) ? (security.authorizations as unknown[]) : [];
  return list.some((raw) => {
    if (typeof raw !== 'object' || raw === null) return false;
    const a = raw as Authorization;
    if (typeof a.address !== 'string' || !same(a.address, acting.sender)) return false;
    if (typeof a.chain === 'string' && a.chain !== '' && acting.chain !== undefined && a.chain !== acting.chain) return false;
    return allows(a.channels, acting.channel) && allows(a.types, acting.type);
  });
}

/**
 * True when `acting.sender` may act for `owner`. A failed aggregate read counts as no
 * authorization (fail closed: the owner can always act with their own key).
 */
export async function mayActFor(ccn: Pick<CcnClient, 'getAggregate'>, owner: string, acting: Acting): Promise<boolean> {
  if (typeof owner !== 'string' || typeof acting.sender !== 'string') return false;
  if (same(acting.sender, owner)) return true;
  const security = await ccn.getAggregate(owner, 'security').catch(() => undefined);
  return securityAllows(security, acting);
}
