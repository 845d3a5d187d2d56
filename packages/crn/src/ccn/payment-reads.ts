/**
 * The CCN reads behind the payment checks, typed with the wire schemas of
 * `@aleph-nodes/protocol` (payments/account-reads.ts, cost/response.ts): an account's balances,
 * its pay-as-you-go flows, a message's price and its state. Each goes through the CCN client's
 * fail-over (`getJson`). Errors stay `CcnError`s: the callers tell "the CCN did not answer"
 * (never a lapse) from an answer.
 */
import {
  AddressBalanceSchema,
  AddressFlowsSchema,
  MessageStateSchema,
  PriceResponseSchema,
  zeroBalance,
  type AddressBalance,
  type AddressFlows,
  type MessageState,
  type PriceResponse,
} from '@aleph-nodes/protocol';
import type { z } from 'zod';
import { CcnError } from './ccn-client.ts';

/** The part of the CCN client the payment reads use (a fake one in unit tests). */
export interface JsonReader {
  getJson(path: string): Promise<unknown>;
}

function parsed<S extends z.ZodType>(schema: S, body: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(body);
  if (!result.success) throw new CcnError('INVALID', `CCN answer for ${what} is malformed: ${result.error.issues[0]?.message ?? 'invalid'}`);
  return result.data;
}

async function getOrUndefined(ccn: JsonReader, path: string): Promise<unknown> {
  try {
    return await ccn.getJson(path);
  } catch (err) {
    if (err instanceof CcnError && err.code === 'NOT_FOUND') return undefined;
    throw err;
  }
}

/** Token balance, locked amount and credits of `address` (an unknown address: zeros, as pyaleph). */
export async function readBalance(ccn: JsonReader, address: string): Promise<AddressBalance> {
  const body = await getOrUndefined(ccn, `api/v0/addresses/${encodeURIComponent(address)}/balance`);
  return body === undefined ? zeroBalance(address) : parsed(AddressBalanceSchema, body, `the balance of ${address}`);
}

/** Pay-as-you-go flows of `address` (a CCN without the route, or an unknown address: none). */
export async function readFlows(ccn: JsonReader, address: string): Promise<AddressFlows> {
  const body = await getOrUndefined(ccn, `api/v0/addresses/${encodeURIComponent(address)}/flows`);
  return body === undefined ? { address, outgoing: [], incoming: [] } : parsed(AddressFlowsSchema, body, `the flows of ${address}`);
}

/** pyaleph's price of a message (`cost`: hold amount, or per second for streams and credits); undefined when unknown. */
export async function readPrice(ccn: JsonReader, itemHash: string): Promise<PriceResponse | undefined> {
  const body = await getOrUndefined(ccn, `api/v0/price/${encodeURIComponent(itemHash)}`);
  return body === undefined ? undefined : parsed(PriceResponseSchema, body, `the price of ${itemHash}`);
}

/** A message's status with pyaleph's removal `reason` (and our `removing_at`); undefined when unknown. */
export async function readMessageState(ccn: JsonReader, itemHash: string): Promise<MessageState | undefined> {
  const body = await getOrUndefined(ccn, `api/v0/messages/${encodeURIComponent(itemHash)}`);
  return body === undefined ? undefined : parsed(MessageStateSchema, body, `the message ${itemHash}`);
}
