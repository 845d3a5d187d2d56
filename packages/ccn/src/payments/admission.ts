/**
 * Payment checks at processing (issue 14, items 3-4; pyaleph `services/cost_validation.py` and the
 * VM/STORE handlers' `check_balance`): the payment method must be allowed by the cutoffs
 * (`paymentMethodCheck`: INVALID_PAYMENT_METHOD 202), then
 * - hold: the owner's token balance ≥ the hold costs of its held messages + this one's
 *   (BALANCE_INSUFFICIENT 5, details `{required_balance, account_balance}`);
 * - credit: the owner's credits ≥ (credits per second of its held messages + this one's) × 1 day
 *   (CREDIT_INSUFFICIENT 6, details `{required_credits, account_credits, min_runtime_days}`);
 * - superfluid: not checked here (pyaleph neither): the CRN checks the flow.
 * The cost is recorded with the message when it is processed (`message_costs`), what
 * `locked_amount`, the periodic job and credit consumption read.
 *
 * Amounts: decimal.js (the protocol's `Dec`, pyaleph's Decimal context); token balances are the
 * doubles the balances table stores, read through their shortest decimal form.
 *
 * Backdating: the cutoffs compare the message's `time`, which its sender chooses. A message dated
 * before a cutoff but arriving now would escape it (a hold instance after the credit-only date).
 * The cutoffs here judge a message by max(its time, its reception on this node −
 * `paymentBackdateToleranceSeconds`): it may be dated at most that far before it reached us. A node
 * that syncs old history long after the fact judges those old messages by the later time too
 * (documented in the README: cutoffs are in the past, so such history is refused, not let through).
 */
import { ALEPH_ERROR, Dec, isCostError, isProtocolError, paymentMethodCheck, type CostMessageType, type MessageCost, type PaymentMethodDecision } from '@aleph-nodes/protocol';
import { costOfContent, loadPricing } from '../pricing.ts';
import type { HandlerContext, UndoContext } from '../processing/handlers/context.ts';
import { OK, reject, retry, type Outcome } from '../processing/outcome.ts';

/** pyaleph's DAY: credits must cover one day of everything the owner runs. */
export const MIN_CREDIT_RUNTIME_SECONDS = 86_400;

/** The time the cutoffs judge a message by (see the module comment). */
export function cutoffTime(messageTime: number, receptionTime: number, toleranceSeconds: number): number {
  return Math.max(messageTime, receptionTime - toleranceSeconds);
}

/** Details in pyaleph's shape, stored as JSON in `error_details` (the messages API returns them as is). */
export function paymentDetails(entry: Record<string, string | number>): string {
  return JSON.stringify({ errors: [entry] });
}

interface Priced {
  cost: MessageCost;
  decision: PaymentMethodDecision;
}

async function price(ctx: Pick<HandlerContext, 'repos' | 'config' | 'message' | 'content' | 'row'>, type: CostMessageType): Promise<Priced | Outcome> {
  try {
    const pricing = await loadPricing(ctx.repos, ctx.config);
    const cost = await costOfContent(ctx.repos, pricing, type, ctx.content, ctx.message.item_hash);
    const storeSizeMib = type === 'STORE' && typeof ctx.content.size === 'number' ? new Dec(ctx.content.size).div(1024 * 1024) : undefined;
    const time = cutoffTime(ctx.message.time, ctx.row.reception_time, ctx.config.paymentBackdateToleranceSeconds);
    const decision = paymentMethodCheck(type, ctx.content, { pricing, time, storeSizeMib });
    return { cost, decision };
  } catch (err) {
    if (isCostError(err)) {
      return err.code === 'PRICING_INCOMPLETE' ? retry(err.alephCode, err.message) : reject(err.alephCode, err.message);
    }
    if (isProtocolError(err)) return reject(err.alephCode, err.message);
    throw err;
  }
}

/** The payment check of a PROGRAM, INSTANCE or STORE about to be processed. */
export async function checkPayment(ctx: HandlerContext, type: CostMessageType): Promise<Outcome> {
  if (!ctx.config.paymentChecks) return OK;
  const priced = await price(ctx, type);
  if ('kind' in priced) return priced;
  const { cost, decision } = priced;
  if (!decision.allowed) return reject(ALEPH_ERROR.INVALID_PAYMENT_METHOD, decision.reason);
  if (decision.check === 'none') return OK;
  const owner = String(ctx.content.address).toLowerCase();
  const payments = ctx.repos.payments;
  if (decision.check === 'hold') {
    const balance = new Dec((await ctx.repos.balances.of(owner)).total);
    const required = (await payments.lockedAmount(owner, ctx.message.item_hash)).plus(cost.hold);
    if (balance.lt(required)) {
      return reject(ALEPH_ERROR.BALANCE_INSUFFICIENT, paymentDetails({ required_balance: required.toFixed(), account_balance: balance.toFixed() }));
    }
    return OK;
  }
  const credits = await payments.creditBalance(owner, ctx.now);
  const required = (await payments.creditPerSecond(owner, ctx.message.item_hash)).plus(cost.creditPerSecond).times(MIN_CREDIT_RUNTIME_SECONDS);
  if (new Dec(credits).lt(required)) {
    return reject(ALEPH_ERROR.CREDIT_INSUFFICIENT, paymentDetails({ required_credits: required.toFixed(), account_credits: String(credits), min_runtime_days: 1 }));
  }
  return OK;
}

/** Records the cost of a message being processed (in its transaction). */
export async function recordPayment(ctx: HandlerContext, type: CostMessageType): Promise<void> {
  const priced = await price(ctx, type);
  if ('kind' in priced) return;
  const { cost, decision } = priced;
  const charged = decision.allowed && decision.check !== 'none';
  await ctx.repos.payments.recordCost({
    item_hash: ctx.message.item_hash,
    owner_lc: String(ctx.content.address).toLowerCase(),
    type,
    payment_type: cost.paymentType,
    charged: charged ? 1 : 0,
    hold: cost.hold,
    stream_per_second: cost.streamPerSecond,
    credit_per_second: cost.creditPerSecond,
    time: typeof ctx.content.time === 'number' ? ctx.content.time : ctx.message.time,
  });
}

/** Forgets a message's cost and removal state (forgotten, or evaluated again). */
export async function dropPayment(ctx: Pick<UndoContext, 'row' | 'repos'>): Promise<void> {
  await ctx.repos.payments.removeCost(ctx.row.item_hash);
  await ctx.repos.payments.clearRemoval(ctx.row.item_hash);
}
