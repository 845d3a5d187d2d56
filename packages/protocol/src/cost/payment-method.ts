/**
 * Whether a message's payment method is allowed at processing, and which balance check applies:
 * pyaleph's `check_balance` of the VM and STORE handlers (`toolkit/costs.py` cutoffs), decided from
 * the content, the message's `time` and the pricing's cutoffs. Pure: the caller then runs the check
 * it names (hold: free balance ≥ existing hold costs + cost; credit: credits ≥ (existing + cost)
 * per second × 86400) and turns a refusal into its pipeline error.
 */
import { ALEPH_ERROR } from '../errors.ts';
import { costViewOf, paymentTypeOf, type CostMessageType } from './content.ts';
import { Dec } from './decimal.ts';
import type { PaymentType } from './lines.ts';
import type { Pricing } from './pricing.ts';

export type PaymentMethodDecision =
  /** Nothing to check: before the cost cutoff, or a small hold STORE. The cost is still recorded. */
  | { allowed: true; check: 'none'; reason: 'free-before-cutoff' | 'small-hold-store'; paymentType: PaymentType }
  /** pyaleph records stream costs but never checks a flow at the CCN (the CRN does). */
  | { allowed: true; check: 'none'; reason: 'stream-checked-by-crn'; paymentType: 'superfluid' }
  /** Run the balance check of this kind. */
  | { allowed: true; check: 'hold' | 'credit'; paymentType: 'hold' | 'credit' }
  /** Refused: pyaleph's InvalidPaymentMethod. */
  | { allowed: false; code: 'INVALID_PAYMENT_METHOD'; alephCode: typeof ALEPH_ERROR.INVALID_PAYMENT_METHOD; reason: string; paymentType: PaymentType };

export interface PaymentMethodInput {
  pricing: Pricing;
  /** The message's `time` (the envelope's, unix seconds): what pyaleph compares with the cutoffs. */
  time: number;
  /** The height of the message's first chain confirmation, when it has one (it then decides "free"). */
  confirmationHeight?: number | undefined;
  /** STORE: the stored size in MiB, when known (a hold STORE up to `freeHoldStoreMaxMib` is free). */
  storeSizeMib?: Dec | number | undefined;
}

function refused(reason: string, paymentType: PaymentType): PaymentMethodDecision {
  return { allowed: false, code: 'INVALID_PAYMENT_METHOD', alephCode: ALEPH_ERROR.INVALID_PAYMENT_METHOD, reason, paymentType };
}

/** pyaleph's `are_store_and_program_free`: by confirmation height when confirmed, else by time. */
export function isBeforeCostCutoff(input: Pick<PaymentMethodInput, 'pricing' | 'time' | 'confirmationHeight'>): boolean {
  const c = input.pricing.cutoffs;
  if (input.confirmationHeight !== undefined) return input.confirmationHeight < c.freeStoreAndProgramBeforeHeight;
  return input.time < c.freeStoreAndProgramBeforeTime;
}

/**
 * The payment decision for a PROGRAM, INSTANCE or STORE content (throws the ProtocolError of
 * `costViewOf` on a content that cannot be priced).
 */
export function paymentMethodCheck(type: CostMessageType, content: unknown, input: PaymentMethodInput): PaymentMethodDecision {
  const view = costViewOf(type, content);
  const paymentType = paymentTypeOf(view.content);
  const { cutoffs, limits } = input.pricing;
  const creditOnly = input.time >= cutoffs.creditOnlyFromTime;
  if (view.type === 'STORE') {
    if (isBeforeCostCutoff(input)) return { allowed: true, check: 'none', reason: 'free-before-cutoff', paymentType };
    if (creditOnly && paymentType !== 'credit') return refused(`from ${cutoffs.creditOnlyFromTime} STOREs must be paid with credits`, paymentType);
    const size = input.storeSizeMib;
    if (paymentType === 'hold' && size !== undefined && new Dec(size).lte(limits.freeHoldStoreMaxMib)) {
      return { allowed: true, check: 'none', reason: 'small-hold-store', paymentType };
    }
    // pyaleph checks a STORE paid by stream against the token balance (its else branch).
    return { allowed: true, check: paymentType === 'credit' ? 'credit' : 'hold', paymentType: paymentType === 'credit' ? 'credit' : 'hold' };
  }
  const persistentProgram = view.type === 'PROGRAM' && !!view.content.on.persistent;
  if (view.type === 'PROGRAM' && !persistentProgram && isBeforeCostCutoff(input)) {
    return { allowed: true, check: 'none', reason: 'free-before-cutoff', paymentType };
  }
  if (creditOnly && paymentType !== 'credit') return refused(`from ${cutoffs.creditOnlyFromTime} executables must be paid with credits`, paymentType);
  if ((view.type === 'INSTANCE' || persistentProgram) && input.time >= cutoffs.holdAndStreamRefusedFromTime && paymentType !== 'credit') {
    return refused(`from ${cutoffs.holdAndStreamRefusedFromTime} instances and persistent programs must be paid with credits, not ${paymentType}`, paymentType);
  }
  if (paymentType === 'superfluid') return { allowed: true, check: 'none', reason: 'stream-checked-by-crn', paymentType };
  return { allowed: true, check: paymentType, paymentType };
}
