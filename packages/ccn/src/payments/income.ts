/**
 * Operators' income (issue 14, item 7): over a period, the pay-as-you-go flows each address
 * received (ALEPH: each flow report sets its rate from its time until the next report of the same
 * (chain, sender, receiver), integrated over the period) and the credits consumed by the
 * credit-paid messages each CRN runs (the consumption rows of the period, attributed to the CRN
 * the scheduler placed the message on; a message this CCN does not place, an on-demand program,
 * or one no longer placed is `unattributed`). `ccn rewards` shows it beside the score rewards.
 */
import { Dec } from '@aleph-nodes/protocol';
import type { Stores } from '../stores.ts';

export interface FlowReport {
  chain: string;
  sender_lc: string;
  receiver_lc: string;
  rate_per_hour: string;
  time: number;
  item_hash: string;
  idx: number;
}

/** ALEPH received per receiver over [from, to] (decimal strings, 18 places at most). */
export function flowIncome(reports: readonly FlowReport[], from: number, to: number): Map<string, Dec> {
  const byFlow = new Map<string, FlowReport[]>();
  for (const r of reports) {
    const key = `${r.chain}\u0000${r.sender_lc}\u0000${r.receiver_lc}`;
    byFlow.set(key, [...(byFlow.get(key) ?? []), r]);
  }
  const out = new Map<string, Dec>();
  for (const list of byFlow.values()) {
    list.sort((a, b) => a.time - b.time || (a.item_hash < b.item_hash ? -1 : a.item_hash > b.item_hash ? 1 : a.idx - b.idx));
    list.forEach((r, i) => {
      const next = list[i + 1];
      const start = Math.max(r.time, from);
      const end = Math.min(next ? next.time : Number.POSITIVE_INFINITY, to);
      if (end <= start) return;
      const amount = new Dec(r.rate_per_hour).times(new Dec(end).minus(start)).div(3600);
      out.set(r.receiver_lc, (out.get(r.receiver_lc) ?? new Dec(0)).plus(amount));
    });
  }
  return out;
}

export interface IncomeReport {
  from: number;
  to: number;
  /** ALEPH per receiving address from flows. */
  flows: { receiver: string; aleph: string }[];
  /** Credits consumed per CRN hash (or `unattributed`). */
  credits: { crn_hash: string; credits: number; messages: number }[];
}

export async function incomeBetween(stores: Stores, from: number, to: number): Promise<IncomeReport> {
  const reports = (await stores.db.selectFrom('flow_reports').selectAll().where('time', '<', to).execute()).map((r) => ({ ...r, time: Number(r.time), idx: Number(r.idx) }));
  const flows = [...flowIncome(reports, from, to).entries()]
    .filter(([, v]) => v.gt(0))
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([receiver, v]) => ({ receiver, aleph: v.toDecimalPlaces(18, Dec.ROUND_FLOOR).toFixed() }));
  const placed = new Map((await stores.allocations.list()).map((a) => [a.item_hash, a.crn_hash]));
  const perCrn = new Map<string, { credits: number; messages: number }>();
  for (const c of await stores.payments.consumptionBetween(from, to)) {
    const crn = placed.get(c.item_hash) ?? 'unattributed';
    const cur = perCrn.get(crn) ?? { credits: 0, messages: 0 };
    perCrn.set(crn, { credits: cur.credits + c.amount, messages: cur.messages + 1 });
  }
  const credits = [...perCrn.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([crn_hash, v]) => ({ crn_hash, ...v }));
  return { from, to, flows, credits };
}
