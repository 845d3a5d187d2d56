/**
 * The POST contents an oracle publishes (pyaleph's shapes where pyaleph has them):
 * - `balances-update`: `{chain, main_height, balances: {address: amount}}`, absolute balances.
 *   `main_height` stands for the indexer's block height; with no chain, the publication time in
 *   unix milliseconds is used, so that a later report always has a greater height.
 * - `aleph_credit_distribution` on channel `ALEPH_CREDIT`: pyaleph's
 *   `{distribution: {credits: [{address, amount, price, tx_hash, provider, expiration?}], token, chain}}`
 *   (src/aleph/schemas/credit_transfer.py); `expiration` in unix milliseconds as pyaleph reads it.
 * - `aleph-flows-update` (ours): `{chain, flows: [{sender, receiver, rate_per_hour}]}`, the rate a
 *   decimal string; "0" ends the flow.
 * The types and schemas are the CCN's (packages/protocol/src/payments/oracle.ts): every post is
 * checked against its schema before it is signed, so that the CLI never publishes a post the CCN
 * would read differently.
 */
import { ALEPH_CREDIT_CHANNEL, BALANCES_UPDATE_TYPE, CREDIT_DISTRIBUTION_TYPE, FLOWS_UPDATE_TYPE, parseOraclePost, type OraclePostType } from '@aleph-nodes/protocol';
import type { OracleRequest } from './oracle-args.ts';

export const ORACLE_CHAIN = 'ETH';
export const CREDIT_CHANNEL = ALEPH_CREDIT_CHANNEL;
/** Channel of balance and flow posts (pyaleph's indexer does not care; any channel is accepted). */
export const ORACLE_CHANNEL = 'ALEPH';

export const POST_TYPES = {
  balance: BALANCES_UPDATE_TYPE,
  credits: CREDIT_DISTRIBUTION_TYPE,
  flow: FLOWS_UPDATE_TYPE,
} as const satisfies Record<OracleRequest['kind'], OraclePostType>;

export interface OraclePost {
  channel: string;
  /** The POST content: `{type, content}` (address and time are added when signing). */
  content: { type: string; content: Record<string, unknown> };
}

/** The post for a checked request; throws when it does not fit the CCN's schema (a bug here, not bad input). */
export function oraclePost(req: OracleRequest, opts: { nowMs: number }): OraclePost {
  const post = buildPost(req, opts);
  const parsed = parseOraclePost(post.content.type as OraclePostType, post.content.content);
  if (!parsed.ok) throw new Error(`ccn oracle built a ${post.content.type} post the CCN would refuse: ${parsed.reason}`);
  return post;
}

function buildPost(req: OracleRequest, opts: { nowMs: number }): OraclePost {
  switch (req.kind) {
    case 'balance':
      return {
        channel: ORACLE_CHANNEL,
        content: { type: POST_TYPES.balance, content: { chain: ORACLE_CHAIN, main_height: opts.nowMs, balances: { [req.address]: Number(req.amount) } } },
      };
    case 'credits':
      return {
        channel: CREDIT_CHANNEL,
        content: {
          type: POST_TYPES.credits,
          content: {
            distribution: {
              credits: [
                {
                  address: req.address,
                  amount: req.amount,
                  // Given, not bought: no price, and a reference that names this tool.
                  price: '0',
                  tx_hash: `ccn-oracle-${opts.nowMs}`,
                  provider: 'ALEPH',
                  ...(req.expirationMs !== undefined ? { expiration: req.expirationMs } : {}),
                },
              ],
              token: 'ALEPH',
              chain: ORACLE_CHAIN,
            },
          },
        },
      };
    case 'flow':
      return {
        channel: ORACLE_CHANNEL,
        content: { type: POST_TYPES.flow, content: { chain: ORACLE_CHAIN, flows: [{ sender: req.sender, receiver: req.receiver, rate_per_hour: req.ratePerHour }] } },
      };
  }
}
