/**
 * The payment checks of this CRN against its CCN(s): the gate before every start, and the
 * reads and verdict cache the monitor (monitor.ts) shares. Reads are batched per owner: one
 * balance and one flows read answer for all of an owner's workloads, and prices (which change
 * only when the network's pricing does) are kept `priceCacheMs`, as aleph-vm keeps them 300 s.
 *
 * The last verdict per message is kept for the per-owner caps of on-demand programs
 * (`isPaid`: paid = the last check passed) and for the execution list. A CCN that does not
 * answer never makes a workload unpaid: its verdict is `unknown` (an on-demand program then starts,
 * counted as unpaid for the caps; notify, which must decide, answers 502).
 */
import type { Dec, MessageState } from '@aleph-nodes/protocol';
import { amountOf } from '@aleph-nodes/protocol';
import type { Logger } from '@aleph-nodes/service';
import { CRN_ERRORS } from '../errors.ts';
import { readBalance, readFlows, readMessageState, readPrice, type JsonReader } from '../ccn/payment-reads.ts';
import {
  ownerVerdicts,
  paygPlacementFailure,
  paymentChainOf,
  paymentTypeOf,
  statusVerdict,
  type AccountState,
  type PaymentFields,
  type PaymentType,
  type Verdict,
  type WorkloadPayment,
} from './decisions.ts';

export interface PaymentSettings {
  /** Off: nothing is checked, every on-demand program counts as unpaid for the caps (as before payments). */
  enforce: boolean;
  /** PAYMENT_RECEIVER_ADDRESS: where pay-as-you-go flows to this node go. */
  receiver: string;
  /** This node's registry hash (pay-as-you-go workloads must name it). */
  nodeHash: string;
  /** Programs never checked (the network monitor's diagnostic programs). */
  exempt: ReadonlySet<string>;
  priceCacheMs: number;
  /** How long the gate reuses an owner's balance and flows (the monitor reads them afresh each pass). */
  accountCacheMs: number;
}

/** A workload as the payment checks see it (a live execution, or the one about to start). */
export interface PaidWorkload {
  ref: string;
  owner: string;
  content: PaymentFields;
  /** Start order: the newest goes first on a shortfall. */
  since: string;
}

/** Prices and verdicts kept, at most (each a few hundred bytes). */
const MAX_ENTRIES = 50_000;

function setBounded<K, V>(map: Map<K, V>, key: K, value: V): void {
  map.delete(key);
  if (map.size >= MAX_ENTRIES) {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
  }
  map.set(key, value);
}

export function ownerKey(owner: string): string {
  return owner.toLowerCase();
}

/** Oldest first, then by ref: the order the shortfall rule drops from the end of. */
export function byStart(a: PaidWorkload, b: PaidWorkload): number {
  return a.since < b.since ? -1 : a.since > b.since ? 1 : a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0;
}

export class PaymentChecker {
  readonly #prices = new Map<string, { at: number; cost: Dec | undefined }>();
  readonly #accounts = new Map<string, { at: number; account: AccountState; kinds: string }>();
  readonly #verdicts = new Map<string, Verdict>();
  /** Recent 402s: a visitor repeating requests for an unpaid program costs the CCN nothing more. */
  readonly #refusals = new Map<string, { at: number; error: Error }>();

  constructor(
    private readonly ccn: JsonReader,
    readonly settings: PaymentSettings,
    private readonly logger: Logger,
  ) {}

  get enforced(): boolean {
    return this.settings.enforce;
  }

  isExempt(ref: string): boolean {
    return this.settings.exempt.has(ref);
  }

  /** The last verdict on `ref` (gate or monitor), if any. */
  verdict(ref: string): Verdict | undefined {
    return this.#verdicts.get(ref);
  }

  record(ref: string, verdict: Verdict): void {
    setBounded(this.#verdicts, ref, verdict);
  }

  forget(ref: string): void {
    this.#verdicts.delete(ref);
  }

  /** For the per-owner caps: paid = the last payment check of this message passed. */
  isPaid(itemHash: string): boolean {
    return this.settings.enforce && this.#verdicts.get(itemHash)?.kind === 'paid';
  }

  /** The message's state; undefined = not known to the CCN; throws when the CCN did not answer. */
  messageState(ref: string): Promise<MessageState | undefined> {
    return readMessageState(this.ccn, ref);
  }

  /** pyaleph's price `cost` of `ref`, cached; undefined when the CCN cannot price it (or did not answer). */
  async price(ref: string): Promise<Dec | undefined> {
    const cached = this.#prices.get(ref);
    if (cached && this.settings.priceCacheMs > 0 && Date.now() - cached.at <= this.settings.priceCacheMs) return cached.cost;
    let cost: Dec | undefined;
    try {
      const price = await readPrice(this.ccn, ref);
      cost = price ? amountOf(price.cost) : undefined;
    } catch (err) {
      this.logger.debug({ ref, err: (err as Error).message }, 'price unavailable');
      return undefined;
    }
    // A message the CCN cannot price now is asked again next time.
    if (cost !== undefined) setBounded(this.#prices, ref, { at: Date.now(), cost });
    return cost;
  }

  /**
   * What the CCN reports of `owner`'s account for the payment kinds of its workloads (one
   * balance read for hold and credit, one flows read for streams); undefined when it did not answer.
   */
  async account(owner: string, kinds: ReadonlySet<PaymentType>, maxAgeMs: number): Promise<AccountState | undefined> {
    const key = ownerKey(owner);
    const kindsKey = [...kinds].sort().join(',');
    const cached = this.#accounts.get(key);
    if (cached && maxAgeMs > 0 && cached.kinds === kindsKey && Date.now() - cached.at <= maxAgeMs) return cached.account;
    try {
      const needsBalance = kinds.has('hold') || kinds.has('credit');
      const [balance, flows] = await Promise.all([
        needsBalance ? readBalance(this.ccn, owner) : undefined,
        kinds.has('superfluid') ? readFlows(this.ccn, owner) : undefined,
      ]);
      const receiver = this.settings.receiver.toLowerCase();
      const toUs = (flows?.outgoing ?? []).filter((f) => f.receiver.toLowerCase() === receiver);
      const account: AccountState = {
        balance: amountOf(balance?.balance),
        creditBalance: amountOf(balance?.credit_balance),
        flowPerHour: (chain) =>
          toUs.filter((f) => chain === undefined || f.chain.toUpperCase() === chain.toUpperCase()).reduce((sum, f) => sum.plus(amountOf(f.rate_per_hour)), amountOf(0)),
      };
      setBounded(this.#accounts, key, { at: Date.now(), account, kinds: kindsKey });
      return account;
    } catch (err) {
      this.logger.debug({ owner, err: (err as Error).message }, 'account unavailable');
      return undefined;
    }
  }

  /** Verdicts for the workloads of one owner (any order), with the account and prices read now. */
  async ownerVerdicts(owner: string, workloads: readonly PaidWorkload[], accountMaxAgeMs: number, creditSeconds: number): Promise<Map<string, Verdict>> {
    const sorted = [...workloads].sort(byStart);
    const kinds = new Set(sorted.map((w) => paymentTypeOf(w.content)));
    const [account, costs] = await Promise.all([this.account(owner, kinds, accountMaxAgeMs), Promise.all(sorted.map((w) => this.price(w.ref)))]);
    const payments: WorkloadPayment[] = sorted.map((w, i) => ({ ref: w.ref, paymentType: paymentTypeOf(w.content), chain: paymentChainOf(w.content), cost: costs[i] }));
    return ownerVerdicts(payments, account, { creditSeconds });
  }

  /**
   * The gate before a start of `candidate`: throws 400 (a pay-as-you-go workload placed on the
   * wrong node or receiver), 402 (not paid, with the reason) or, when `strict`, 502 when the CCN
   * could not tell. `others`: the owner's live workloads here (they share its balance).
   */
  async beforeStart(candidate: PaidWorkload, others: readonly PaidWorkload[], opts: { strict?: boolean } = {}): Promise<Verdict> {
    if (!this.settings.enforce || this.isExempt(candidate.ref)) return { kind: 'paid' };
    const placement = paygPlacementFailure(candidate.content, { nodeHash: this.settings.nodeHash, receiver: this.settings.receiver });
    if (placement) throw CRN_ERRORS.error(placement.code, placement.message);
    const refused = this.#refusals.get(candidate.ref);
    if (refused && this.settings.accountCacheMs > 0 && Date.now() - refused.at <= this.settings.accountCacheMs) throw refused.error;
    let verdict: Verdict;
    try {
      verdict = statusVerdict(await this.messageState(candidate.ref));
    } catch (err) {
      verdict = { kind: 'unknown', why: `the CCN did not answer: ${(err as Error).message}` };
    }
    // A `removing` message is in the CCN's grace period: it runs until removed (a top-up restores it).
    if (verdict.kind === 'paid' && verdict.note === undefined) {
      const key = ownerKey(candidate.owner);
      const mine = others.filter((o) => ownerKey(o.owner) === key && o.ref !== candidate.ref && !this.isExempt(o.ref));
      // The candidate is the newest: on a shortfall it is the one left out.
      // Credits: one hour of use before a start (aleph-vm's notify).
      const all = await this.ownerVerdicts(candidate.owner, [...mine, { ...candidate, since: '\uffff' }], this.settings.accountCacheMs, 3600);
      verdict = all.get(candidate.ref) ?? { kind: 'unknown', why: 'no verdict' };
    }
    this.record(candidate.ref, verdict);
    if (verdict.kind === 'unpaid') {
      const error = CRN_ERRORS.error('PAYMENT_REQUIRED', `Payment required for ${candidate.ref} of ${candidate.owner}: ${verdict.reason}`, { reason: 'payment_required', detail: verdict.detail, owner: candidate.owner });
      setBounded(this.#refusals, candidate.ref, { at: Date.now(), error });
      throw error;
    }
    this.#refusals.delete(candidate.ref);
    if (verdict.kind === 'unknown' && opts.strict) throw CRN_ERRORS.error('CCN_UNAVAILABLE', `The payment of ${candidate.ref} could not be checked: ${verdict.why}`);
    return verdict;
  }
}
