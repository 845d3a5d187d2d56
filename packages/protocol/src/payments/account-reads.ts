/**
 * What a CRN reads from a CCN to decide whether a workload is paid (payments-contracts):
 * - `GET /api/v0/addresses/{a}/balance` → pyaleph's `{address, balance, details, locked_amount, credit_balance}`;
 * - `GET /api/v0/addresses/{a}/flows` → `{address, outgoing: [{chain, receiver, rate_per_hour, since}], incoming: [...]}`;
 * - `GET /api/v0/messages/{h}` → `{status, item_hash, reason?, removing_at?, ...}` (only the fields read here).
 * Defined once here for the CCN that serves them and the CRN that reads them.
 *
 * Amounts: pyaleph answers Decimals as JSON numbers, our CCN may answer decimal strings; both are
 * accepted and read with `toDec` (exact, never through a float sum). Unknown fields pass.
 */
import { z } from 'zod';
import { Dec, toDec } from '../cost/decimal.ts';

/** A non-negative decimal amount as a JSON number or a decimal string. */
export const AmountSchema = z.union([
  z.number().finite().nonnegative(),
  z.string().regex(/^\d{1,40}(\.\d{1,40})?$/, 'a non-negative decimal'),
]);

export const AddressBalanceSchema = z.looseObject({
  address: z.string().max(128),
  balance: AmountSchema,
  details: z.record(z.string(), AmountSchema).nullish(),
  locked_amount: AmountSchema.default(0),
  credit_balance: AmountSchema.default(0),
});
export type AddressBalance = z.infer<typeof AddressBalanceSchema>;

const MAX_FLOWS = 10_000;

export const OutgoingFlowSchema = z.looseObject({
  chain: z.string().max(32),
  receiver: z.string().max(128),
  rate_per_hour: AmountSchema,
  since: z.union([z.string(), z.number()]).nullish(),
});
export const IncomingFlowSchema = z.looseObject({
  chain: z.string().max(32),
  sender: z.string().max(128),
  rate_per_hour: AmountSchema,
  since: z.union([z.string(), z.number()]).nullish(),
});
export const AddressFlowsSchema = z.looseObject({
  address: z.string().max(128),
  outgoing: z.array(OutgoingFlowSchema).max(MAX_FLOWS).default([]),
  incoming: z.array(IncomingFlowSchema).max(MAX_FLOWS).default([]),
});
export type AddressFlows = z.infer<typeof AddressFlowsSchema>;
export type OutgoingFlow = z.infer<typeof OutgoingFlowSchema>;

/** Why a CCN marks a message `removing` / `removed` (pyaleph's RemovedMessageReason). */
export const REMOVAL_REASONS = ['balance_insufficient', 'credit_insufficient'] as const;

export const MessageStateSchema = z.looseObject({
  status: z.string().max(32),
  item_hash: z.string().max(128).optional(),
  reason: z.string().max(64).nullish(),
  /** Ours: when a `removing` message becomes `removed` (ISO time or unix seconds). */
  removing_at: z.union([z.string().max(64), z.number()]).nullish(),
});
export type MessageState = z.infer<typeof MessageStateSchema>;

/** An amount of the answers above as a Decimal. */
export function amountOf(value: z.infer<typeof AmountSchema> | undefined | null): Dec {
  return value === undefined || value === null ? new Dec(0) : toDec(value);
}

/** The zero balance a CCN answers for an address it does not know (pyaleph: zeros, not 404). */
export function zeroBalance(address: string): AddressBalance {
  return { address, balance: 0, details: {}, locked_amount: 0, credit_balance: 0 };
}
