/**
 * The oracle posts that set payment state on a CCN (issue 14). They are POST messages; a CCN
 * applies one only when its sender is one of the configured oracle addresses (a post of these
 * types from anyone else is a plain post without effect, as pyaleph). These schemas are the
 * boundary: every amount is bounded (finite, ≥ 0, at most a sane maximum), every address checked,
 * every list capped, so that nothing an oracle (or an attacker holding a stale oracle key) writes
 * can make a balance negative, a sum overflow or a post unbounded.
 *
 * - `balances-update` (pyaleph's token balances, absolute, not deltas):
 *   `content.content = {chain, main_height, dapp?, balances: {address: amount}}`.
 * - credits (pyaleph `schemas/credit_transfer.py`, channel `ALEPH_CREDIT`), integer amounts:
 *   `aleph_credit_distribution` `{distribution: {credits: [{address, amount, price, tx_hash,
 *   provider, expiration?(unix ms), ...}], token, chain}}`, `aleph_credit_expense` `{expense:
 *   {credits: [{address, amount, ref?, ...}]}}`, `aleph_credit_transfer` `{transfer: {credits:
 *   [{address, amount, expiration?}]}}` (recipients unique).
 * - flows (ours; pyaleph reads Superfluid on chain): `aleph-flows-update` `{chain, flows:
 *   [{sender, receiver, rate_per_hour: "<decimal ALEPH/hour>"}]}`; each entry sets the current
 *   rate of its (chain, sender, receiver) flow, "0" ends it.
 */
import { z } from 'zod';
import { Dec } from '../cost/decimal.ts';

export const BALANCES_UPDATE_TYPE = 'balances-update';
export const CREDIT_DISTRIBUTION_TYPE = 'aleph_credit_distribution';
export const CREDIT_EXPENSE_TYPE = 'aleph_credit_expense';
export const CREDIT_TRANSFER_TYPE = 'aleph_credit_transfer';
export const FLOWS_UPDATE_TYPE = 'aleph-flows-update';
/** pyaleph's channel of credit posts. */
export const ALEPH_CREDIT_CHANNEL = 'ALEPH_CREDIT';

/** Entries of one balances-update post (an indexer reports many accounts at once). */
export const MAX_BALANCE_ENTRIES = 10_000;
/** Entries of one credit or flow post. */
export const MAX_ORACLE_ENTRIES = 1_000;
/** Largest token amount accepted (the ALEPH supply is 500 M; anything above is a bug or an attack). */
export const MAX_TOKEN_AMOUNT = 1e12;
/** Largest credit amount of one entry (integers, exact in a double below 2^53). */
export const MAX_CREDIT_AMOUNT = 1e15;
/** Largest flow rate, ALEPH per hour. */
export const MAX_FLOW_RATE_PER_HOUR = 1e9;

const DECIMAL = /^(0|[1-9]\d{0,14})(\.\d{1,18})?$/;

/** An address as chains write them: EVM hex, or a base58 / alphanumeric account of another chain. */
export const oracleAddress = z
  .string()
  .min(20)
  .max(100)
  .regex(/^(0x[0-9a-fA-F]{40}|[A-Za-z0-9]{20,100})$/, 'not an account address');

/** A non-negative decimal amount, as a string or a JSON number, at most `max`; read as a decimal string. */
export function decimalAmount(max: number) {
  return z
    .union([z.string().max(40), z.number()])
    .transform((v, ctx) => {
      const text = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : 'x') : v.trim();
      // Numbers print in exponent form beyond 1e21 or below 1e-7: read them through Dec.
      const normal = typeof v === 'number' && /e/i.test(text) && Number.isFinite(v) ? new Dec(v).toFixed() : text;
      if (!DECIMAL.test(normal) || new Dec(normal).gt(max)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `amount must be a decimal between 0 and ${max}` });
        return z.NEVER;
      }
      return new Dec(normal).toFixed();
    });
}

/** A positive integer credit amount (pyaleph: strictly positive int, no bool, no string). */
export const creditAmount = z.number().int().positive().max(MAX_CREDIT_AMOUNT);

/** Unix milliseconds (pyaleph's credit `expiration`), bounded to year 9999. */
const expirationMs = z.number().int().nonnegative().max(253_402_300_799_000);

const chainName = z.string().min(1).max(32).regex(/^[A-Za-z0-9_-]+$/);

export const BalancesUpdateSchema = z.object({
  chain: chainName,
  main_height: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
  dapp: z.string().max(100).optional(),
  balances: z
    .record(z.string(), z.unknown())
    .refine((b) => Object.keys(b).length <= MAX_BALANCE_ENTRIES, `at most ${MAX_BALANCE_ENTRIES} balances per post`)
    .pipe(z.record(oracleAddress, decimalAmount(MAX_TOKEN_AMOUNT))),
});
export type BalancesUpdate = z.infer<typeof BalancesUpdateSchema>;

const optText = (max: number) => z.string().max(max).optional();

export const CreditDistributionEntrySchema = z.object({
  address: oracleAddress,
  amount: creditAmount,
  price: decimalAmount(MAX_TOKEN_AMOUNT),
  tx_hash: z.string().max(200),
  provider: z.string().max(200),
  expiration: expirationMs.nullish(),
  origin: optText(200).nullable(),
  ref: optText(200).nullable(),
  payment_method: optText(100).nullable(),
  bonus_amount: z.unknown().optional(),
});

export const CreditDistributionSchema = z.object({
  distribution: z.object({
    credits: z.array(CreditDistributionEntrySchema).min(1).max(MAX_ORACLE_ENTRIES),
    token: z.string().max(100),
    chain: chainName,
  }),
});
export type CreditDistribution = z.infer<typeof CreditDistributionSchema>;

export const CreditExpenseSchema = z.object({
  expense: z.object({
    credits: z
      .array(
        z.object({
          address: oracleAddress,
          amount: creditAmount,
          ref: optText(200).nullable(),
          execution_id: optText(200).nullable(),
          node_id: optText(200).nullable(),
          price: decimalAmount(MAX_TOKEN_AMOUNT).nullish(),
          time: z.number().finite().nonnegative().nullish(),
        }),
      )
      .min(1)
      .max(MAX_ORACLE_ENTRIES),
  }),
});
export type CreditExpense = z.infer<typeof CreditExpenseSchema>;

export const CreditTransferSchema = z.object({
  transfer: z.object({
    credits: z
      .array(z.object({ address: oracleAddress, amount: creditAmount, expiration: expirationMs.nullish() }))
      .min(1)
      .max(MAX_ORACLE_ENTRIES)
      .refine((c) => new Set(c.map((e) => e.address.toLowerCase())).size === c.length, 'duplicate recipient addresses'),
  }),
});
export type CreditTransfer = z.infer<typeof CreditTransferSchema>;

export const FlowsUpdateSchema = z.object({
  chain: chainName,
  flows: z
    .array(z.object({ sender: oracleAddress, receiver: oracleAddress, rate_per_hour: decimalAmount(MAX_FLOW_RATE_PER_HOUR) }))
    .min(1)
    .max(MAX_ORACLE_ENTRIES),
});
export type FlowsUpdate = z.infer<typeof FlowsUpdateSchema>;

/** The oracle post types and the schema of their `content.content`. */
export const ORACLE_POST_SCHEMAS = {
  [BALANCES_UPDATE_TYPE]: BalancesUpdateSchema,
  [CREDIT_DISTRIBUTION_TYPE]: CreditDistributionSchema,
  [CREDIT_EXPENSE_TYPE]: CreditExpenseSchema,
  [CREDIT_TRANSFER_TYPE]: CreditTransferSchema,
  [FLOWS_UPDATE_TYPE]: FlowsUpdateSchema,
} as const;
export type OraclePostType = keyof typeof ORACLE_POST_SCHEMAS;

export function isOraclePostType(type: unknown): type is OraclePostType {
  return typeof type === 'string' && Object.hasOwn(ORACLE_POST_SCHEMAS, type);
}

export type OraclePost =
  | { type: typeof BALANCES_UPDATE_TYPE; content: BalancesUpdate }
  | { type: typeof CREDIT_DISTRIBUTION_TYPE; content: CreditDistribution }
  | { type: typeof CREDIT_EXPENSE_TYPE; content: CreditExpense }
  | { type: typeof CREDIT_TRANSFER_TYPE; content: CreditTransfer }
  | { type: typeof FLOWS_UPDATE_TYPE; content: FlowsUpdate };

/** Parses the inner content of an oracle post; a reason when it does not fit the schema. */
export function parseOraclePost(type: OraclePostType, inner: unknown): { ok: true; post: OraclePost } | { ok: false; reason: string } {
  const result = ORACLE_POST_SCHEMAS[type].safeParse(inner);
  if (!result.success) {
    const issue = result.error.issues[0];
    return { ok: false, reason: `${type}: ${issue ? `${issue.path.join('.') || '(content)'}: ${issue.message}` : 'invalid'}` };
  }
  return { ok: true, post: { type, content: result.data } as OraclePost };
}
