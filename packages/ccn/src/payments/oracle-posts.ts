/**
 * Oracle posts (issue 14, item 2): POSTs of the oracle types from a configured oracle address set
 * token balances (`balanceIndexers`), credits (`creditOracles`) and flows (`flowOracles`). Anything
 * else with these types is a plain post without effect, as pyaleph. An oracle's post whose inner
 * content does not fit its schema (negative, non-numeric or huge amounts, bad addresses, too many
 * entries) is refused with the reason, so the oracle sees it; nothing of it applies.
 *
 * Every effect is recorded per post (one row per entry) and the derived state is computed from all
 * rows in the total order (payments/credits.ts, repo.ts `currentFlows`, BalancesRepo): the same on
 * every CCN whatever order the posts arrived in, and undone exactly when a post is forgotten.
 */
import {
  BALANCES_UPDATE_TYPE,
  CREDIT_DISTRIBUTION_TYPE,
  CREDIT_EXPENSE_TYPE,
  CREDIT_TRANSFER_TYPE,
  FLOWS_UPDATE_TYPE,
  isOraclePostType,
  parseOraclePost,
  type OraclePost,
  type OraclePostType,
} from '@aleph-nodes/protocol';
import type { CcnConfig } from '../config.ts';
import type { CreditEventsTable } from '../db/schema.ts';
import { sameAddress } from '../processing/permissions.ts';
import type { Repos } from '../stores.ts';

type OracleSettings = Pick<CcnConfig, 'balanceIndexers' | 'creditOracles' | 'flowOracles'>;

function oraclesFor(type: OraclePostType, config: OracleSettings): readonly string[] {
  if (type === BALANCES_UPDATE_TYPE) return config.balanceIndexers;
  if (type === FLOWS_UPDATE_TYPE) return config.flowOracles;
  return config.creditOracles;
}

/** The oracle post type of a POST when its sender is an oracle of that type; undefined otherwise. */
export function oracleTypeOf(postType: unknown, sender: string, config: OracleSettings): OraclePostType | undefined {
  if (!isOraclePostType(postType)) return undefined;
  return oraclesFor(postType, config).some((a) => sameAddress(a, sender)) ? postType : undefined;
}

/** Reads an oracle's post; the reason when its content is refused. */
export function readOraclePost(type: OraclePostType, inner: unknown): { ok: true; post: OraclePost } | { ok: false; reason: string } {
  return parseOraclePost(type, inner);
}

/** Unix seconds of a pyaleph credit expiration (unix milliseconds). */
function expirationOf(ms: number | null | undefined): number | null {
  return ms === null || ms === undefined ? null : ms / 1000;
}

function detailsOf(entry: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  const { address: _a, amount: _m, expiration: _e, ...rest } = entry;
  return JSON.stringify({ ...rest, ...extra });
}

/** Applies an oracle post's effects (in the processing transaction). */
export async function applyOraclePost(repos: Repos, itemHash: string, time: number, post: OraclePost): Promise<void> {
  switch (post.type) {
    case BALANCES_UPDATE_TYPE: {
      const c = post.content;
      const balances = Object.fromEntries(Object.entries(c.balances).map(([a, v]) => [a, Number(v)]));
      await repos.balances.apply(itemHash, time, c.chain, c.dapp ?? '', c.main_height ?? 0, balances);
      return;
    }
    case CREDIT_DISTRIBUTION_TYPE: {
      const d = post.content.distribution;
      const rows: CreditEventsTable[] = d.credits.map((e, idx) => ({
        item_hash: itemHash,
        idx,
        kind: 'distribution',
        address_lc: e.address.toLowerCase(),
        amount: e.amount,
        time,
        expiration: expirationOf(e.expiration),
        details: detailsOf(e, { token: d.token, chain: d.chain }),
      }));
      await repos.payments.addCreditEvents(rows);
      return;
    }
    case CREDIT_EXPENSE_TYPE: {
      const rows: CreditEventsTable[] = post.content.expense.credits.map((e, idx) => ({
        item_hash: itemHash,
        idx,
        kind: 'expense',
        address_lc: e.address.toLowerCase(),
        amount: e.amount,
        time,
        expiration: null,
        details: detailsOf(e),
      }));
      await repos.payments.addCreditEvents(rows);
      return;
    }
    case CREDIT_TRANSFER_TYPE: {
      // An oracle's transfer grants (pyaleph: whitelisted senders skip the debit). Transfers
      // between users are not applied here (documented in the README).
      const rows: CreditEventsTable[] = post.content.transfer.credits.map((e, idx) => ({
        item_hash: itemHash,
        idx,
        kind: 'transfer_in',
        address_lc: e.address.toLowerCase(),
        amount: e.amount,
        time,
        expiration: expirationOf(e.expiration),
        details: detailsOf(e),
      }));
      await repos.payments.addCreditEvents(rows);
      return;
    }
    case FLOWS_UPDATE_TYPE: {
      const c = post.content;
      await repos.payments.addFlowReports(
        c.flows.map((f, idx) => ({
          item_hash: itemHash,
          idx,
          chain: c.chain,
          sender_lc: f.sender.toLowerCase(),
          receiver_lc: f.receiver.toLowerCase(),
          rate_per_hour: f.rate_per_hour,
          time,
        })),
      );
      return;
    }
  }
}

/** Undoes an oracle post's effects (forgotten, or evaluated again). */
export async function withdrawOraclePost(repos: Repos, itemHash: string, postType: string | null): Promise<void> {
  if (postType === BALANCES_UPDATE_TYPE) await repos.balances.withdraw(itemHash);
  else if (isOraclePostType(postType)) await repos.payments.withdrawPost(itemHash);
}
