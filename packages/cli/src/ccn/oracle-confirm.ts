/**
 * Whether a processed oracle post took effect, read back from the CCN's public routes:
 * - balance: `GET /api/v0/addresses/{a}/balance` reports the amount for the post's chain;
 * - credits: `GET /api/v0/addresses/{a}/credit_history` names the post (its lot's `credit_ref`);
 * - flow: `GET /api/v0/addresses/{sender}/flows` has the outgoing flow at the rate (none for "0").
 * `inEffect` is null when the CCN does not serve the route (a node without that part of payments):
 * the post was processed, nothing more can be said.
 */
import { canonicalAmount, type OracleRequest } from './oracle-args.ts';
import { ORACLE_CHAIN } from './oracle-posts.ts';

export interface Confirmation {
  inEffect: boolean | null;
  note?: string;
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as unknown };
  } catch {
    return { status: res.status, body: text };
  }
}

const sameDecimal = (a: unknown, b: string): boolean => canonicalAmount(String(a)) === canonicalAmount(b);

export async function confirmEffect(ccn: string, req: OracleRequest, itemHash: string): Promise<Confirmation> {
  switch (req.kind) {
    case 'balance': {
      const { status, body } = await getJson(`${ccn}/api/v0/addresses/${req.address}/balance`);
      if (status === 404) return { inEffect: null, note: 'the CCN serves no /api/v0/addresses/{a}/balance: effect not confirmed' };
      const reported = (body as { details?: Record<string, unknown> } | null)?.details?.[ORACLE_CHAIN];
      if (status === 200 && reported !== undefined && sameDecimal(reported, req.amount)) return { inEffect: true };
      return { inEffect: false, note: `the CCN reports ${String(reported ?? 'no')} ALEPH on ${ORACLE_CHAIN} for ${req.address}` };
    }
    case 'credits': {
      const { status, body } = await getJson(`${ccn}/api/v0/addresses/${req.address}/credit_history`);
      if (status === 404) return { inEffect: null, note: 'the CCN serves no /api/v0/addresses/{a}/credit_history: effect not confirmed' };
      // The history lists the lot with the distribution's hash as its reference, whatever the
      // other field names: looking for the hash anywhere in the answer is enough.
      if (status === 200 && JSON.stringify(body).includes(itemHash)) return { inEffect: true };
      return { inEffect: false, note: `the credit history of ${req.address} does not list the distribution` };
    }
    case 'flow': {
      const { status, body } = await getJson(`${ccn}/api/v0/addresses/${req.sender}/flows`);
      if (status === 404) return { inEffect: null, note: 'the CCN serves no /api/v0/addresses/{a}/flows: effect not confirmed' };
      const outgoing = (body as { outgoing?: { chain?: string; receiver?: string; rate_per_hour?: unknown }[] } | null)?.outgoing ?? [];
      const flow = outgoing.find((f) => f.chain === ORACLE_CHAIN && f.receiver?.toLowerCase() === req.receiver.toLowerCase());
      const ended = canonicalAmount(req.ratePerHour) === '0';
      if (status === 200 && (flow ? sameDecimal(flow.rate_per_hour, req.ratePerHour) : ended)) return { inEffect: true };
      return { inEffect: false, note: `the CCN reports ${flow ? `${String(flow.rate_per_hour)} ALEPH/hour` : 'no flow'} from ${req.sender} to ${req.receiver}` };
    }
  }
}
