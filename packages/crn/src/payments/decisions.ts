/**
 * Whether workloads are paid: pure decisions from what the CCN answered (no I/O here; the
 * checker and the monitor read, these decide). The rules are aleph-vm's (orchestrator/tasks.py
 * `check_payment`, views `notify_allocation`), per owner:
 *
 * - message status: `rejected`, `forgotten`, `removed` → unpaid; `removing` → still paid until the
 *   CCN removes it, but reported: the CCN's grace period, during which a top-up restores it (the
 *   monitor leaves such workloads out of the balance sums: the CCN has judged them already);
 * - hold: the token `balance` must cover the sum of the hold costs of the owner's hold workloads
 *   on this node (aleph-vm checks this for confidential VMs only, the CCN's `removing` lifecycle
 *   covering the rest; we check every hold workload here, so an on-demand program of an unfunded
 *   account does not start. `locked_amount` is not subtracted: it already counts these messages);
 * - credit: `credit_balance` must cover the sum of the per-second credit prices × `creditSeconds`:
 *   3600 (one hour) before a start, aleph-vm's notify rule; 1 in the monitor, aleph-vm's
 *   `check_payment` rule (credits not yet exhausted: the CCN marks them `removing` at zero);
 * - superfluid: the flows owner → this CRN's receiver on the message's chain (rates per hour)
 *   must cover the sum of the per-second stream prices × 3600 (no 80/20 community split: flows
 *   are reported by the oracle to the CRN's receiver only).
 *
 * On a shortfall aleph-vm stops the LAST execution and checks again: here the owner's workloads
 * of one kind are taken oldest first and the newest are declared unpaid until the rest fit.
 * Missing information (the CCN did not answer, a price it could not give) is never a lapse.
 */
import { Dec } from '@aleph-nodes/protocol';
import type { MessageState } from '@aleph-nodes/protocol';

export type PaymentType = 'hold' | 'superfluid' | 'credit';

/** Why a workload is not (or no longer) paid: the `detail` of a `payment_lapsed` stop. */
export type LapseDetail =
  | 'balance_insufficient'
  | 'credit_insufficient'
  | 'flow_insufficient'
  | 'message_removed'
  | 'message_rejected'
  | 'message_forgotten';

export type Verdict =
  /** Paid; `note` when the CCN is removing it (still runs until `removed`). */
  | { kind: 'paid'; note?: 'message_removing' }
  | { kind: 'unpaid'; detail: LapseDetail; reason: string }
  /** Not decided: the CCN did not answer, or could not price the message. Never a lapse. */
  | { kind: 'unknown'; why: string };

/** aleph-vm's PAYMENT_BUFFER: room for rounding in the comparisons. */
export const PAYMENT_BUFFER = new Dec('0.0000000001');
const HOUR = 3600;

/** The verdict of a message's status alone (undefined = the CCN does not know it). */
export function statusVerdict(state: MessageState | undefined): Verdict {
  if (!state) return { kind: 'unknown', why: 'the CCN does not know the message' };
  switch (state.status) {
    case 'rejected':
    case 'forgotten':
    case 'removed': {
      const why = state.status === 'removed' && state.reason ? ` (${state.reason})` : '';
      return { kind: 'unpaid', detail: `message_${state.status}`, reason: `the message is ${state.status}${why}` };
    }
    case 'removing':
      return { kind: 'paid', note: 'message_removing' };
    default:
      return { kind: 'paid' };
  }
}

/** One workload of an owner, as the payment rules see it. */
export interface WorkloadPayment {
  ref: string;
  paymentType: PaymentType;
  /** The message's `payment.chain` (superfluid: the chain of the flow). */
  chain: string | undefined;
  /** pyaleph's price `cost`: the hold amount, or per second for streams and credits; undefined = unknown. */
  cost: Dec | undefined;
}

/** What the CCN reports of an owner's account. */
export interface AccountState {
  balance: Dec;
  creditBalance: Dec;
  /** Sum of the owner's flows to this CRN's receiver on `chain` (all chains when undefined), per hour. */
  flowPerHour(chain: string | undefined): Dec;
}

interface Group {
  kind: PaymentType;
  chain: string | undefined;
  items: WorkloadPayment[];
}

/** What a group of workloads requires, in the unit its available amount is in. */
function required(kind: PaymentType, costs: readonly Dec[], creditSeconds: number): Dec {
  const sum = costs.reduce((a, c) => a.plus(c), new Dec(0));
  return kind === 'hold' ? sum : sum.times(kind === 'credit' ? creditSeconds : HOUR);
}

/**
 * As aleph-vm's notify (`price > balance` → 402, `flow < required − buffer` → 402): exactly
 * enough is enough, and the buffer absorbs rounding in the owner's favour. (Its monitor's
 * `balance < required + buffer` would stop a workload paid to the last unit, and a free one of
 * an empty account.)
 */
function covered(available: Dec, need: Dec): boolean {
  return available.plus(PAYMENT_BUFFER).gte(need);
}

const DETAIL: Record<PaymentType, LapseDetail> = { hold: 'balance_insufficient', credit: 'credit_insufficient', superfluid: 'flow_insufficient' };
const UNIT: Record<PaymentType, string> = { hold: 'ALEPH held', credit: 'credits', superfluid: 'ALEPH/hour streamed to this node' };

function availableFor(group: Group, account: AccountState): Dec {
  if (group.kind === 'hold') return account.balance;
  if (group.kind === 'credit') return account.creditBalance;
  return account.flowPerHour(group.chain);
}

/**
 * Verdicts for the workloads of ONE owner, given oldest first (the last one is the first to go).
 * `account` undefined = the CCN did not answer: everything unknown.
 */
export function ownerVerdicts(workloads: readonly WorkloadPayment[], account: AccountState | undefined, opts: { creditSeconds?: number } = {}): Map<string, Verdict> {
  const creditSeconds = opts.creditSeconds ?? HOUR;
  const out = new Map<string, Verdict>();
  if (!account) {
    for (const w of workloads) out.set(w.ref, { kind: 'unknown', why: 'the account could not be read from the CCN' });
    return out;
  }
  const groups = new Map<string, Group>();
  for (const w of workloads) {
    if (w.cost === undefined) {
      out.set(w.ref, { kind: 'unknown', why: 'the CCN could not price the message' });
      continue;
    }
    const chain = w.paymentType === 'superfluid' ? w.chain?.toUpperCase() : undefined;
    const key = `${w.paymentType}/${chain ?? ''}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { kind: w.paymentType, chain, items: [] }));
    g.items.push(w);
  }
  for (const g of groups.values()) {
    const available = availableFor(g, account);
    const kept = [...g.items];
    // Drop the newest until the rest are covered (aleph-vm: stop the last, check again).
    while (kept.length > 0 && !covered(available, required(g.kind, kept.map((w) => w.cost as Dec), creditSeconds))) {
      const last = kept.pop() as WorkloadPayment;
      const need = required(g.kind, [...kept, last].map((w) => w.cost as Dec), creditSeconds);
      out.set(last.ref, {
        kind: 'unpaid',
        detail: DETAIL[g.kind],
        reason: `${UNIT[g.kind]}: ${available.toString()} available, ${need.toString()} required${g.kind === 'credit' ? ` (${creditSeconds} s of use)` : ''} with the ${kept.length} older workload(s) of this owner here`,
      });
    }
    for (const w of kept) out.set(w.ref, { kind: 'paid' });
  }
  return out;
}

/** The message content fields the payment rules read. */
export interface PaymentFields {
  address?: unknown;
  payment?: { type?: unknown; chain?: unknown; receiver?: unknown } | null;
  requirements?: { node?: { node_hash?: unknown } | null } | null;
}

export function paymentTypeOf(content: PaymentFields): PaymentType {
  const t = content.payment?.type;
  return t === 'superfluid' || t === 'credit' ? t : 'hold';
}

export function paymentChainOf(content: PaymentFields): string | undefined {
  const c = content.payment?.chain;
  return typeof c === 'string' && c !== '' ? c : undefined;
}

/**
 * Where a pay-as-you-go workload may run (aleph-vm's notify: 400s): only on the node its
 * `requirements.node.node_hash` names, and only when its `payment.receiver` is this node's
 * receiver. Undefined when it may run here (or is not pay-as-you-go).
 */
export function paygPlacementFailure(
  content: PaymentFields,
  self: { nodeHash: string; receiver: string },
): { code: 'WRONG_NODE' | 'WRONG_RECEIVER' | 'NODE_HASH_UNKNOWN'; message: string } | undefined {
  if (paymentTypeOf(content) !== 'superfluid') return undefined;
  const receiver = content.payment?.receiver;
  if (typeof receiver !== 'string' || receiver.toLowerCase() !== self.receiver.toLowerCase()) {
    return { code: 'WRONG_RECEIVER', message: `Message is not for this node: the stream goes to ${String(receiver)}, this node receives at ${self.receiver}` };
  }
  const wanted = content.requirements?.node?.node_hash;
  if (typeof wanted !== 'string' || wanted === '') return { code: 'WRONG_NODE', message: 'A pay-as-you-go workload must name its node (requirements.node.node_hash)' };
  if (self.nodeHash === '') return { code: 'NODE_HASH_UNKNOWN', message: 'This node does not know its node hash yet' };
  if (wanted.toLowerCase() !== self.nodeHash.toLowerCase()) return { code: 'WRONG_NODE', message: 'The workload requires another node' };
  return undefined;
}
