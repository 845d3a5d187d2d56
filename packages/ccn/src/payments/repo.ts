/**
 * Payment tables (migration 0030): message costs, credit movements and consumption, flow reports,
 * removals. Derived figures (credit balances, current flows, locked amounts) are computed from
 * these rows on read, in the total order, so they never depend on arrival order.
 */
import { Dec } from '@aleph-nodes/protocol';
import type { Kysely } from 'kysely';
import type { CreditEventsTable, MessageCostsTable, MessageRemovalsTable, MessageStatus, Tables } from '../db/schema.ts';
import { replayCredits, type CreditEvent } from './credits.ts';

/** A held message counts while processed or in its removal grace. */
const HELD: MessageStatus[] = ['processed', 'removing'];

export interface CostRow extends MessageCostsTable {
  status: MessageStatus;
}

export interface CurrentFlow {
  chain: string;
  sender: string;
  receiver: string;
  rate_per_hour: string;
  since: number;
}

export type CreditEventRow = CreditEventsTable;

export class PaymentsRepo {
  readonly #db: Kysely<Tables>;

  constructor(db: Kysely<Tables>) {
    this.#db = db;
  }

  // ---- costs ---------------------------------------------------------------------------------

  async recordCost(row: MessageCostsTable): Promise<void> {
    await this.#db.deleteFrom('message_costs').where('item_hash', '=', row.item_hash).execute();
    await this.#db.insertInto('message_costs').values(row).execute();
  }

  async removeCost(itemHash: string): Promise<void> {
    await this.#db.deleteFrom('message_costs').where('item_hash', '=', itemHash).execute();
  }

  async costOf(itemHash: string): Promise<MessageCostsTable | undefined> {
    return this.#db.selectFrom('message_costs').selectAll().where('item_hash', '=', itemHash).executeTakeFirst();
  }

  /** The charged costs of an owner's held messages of one payment type, in the total order (oldest first). */
  async heldCosts(owner: string, paymentType: 'hold' | 'credit', statuses: MessageStatus[] = HELD): Promise<CostRow[]> {
    const rows = await this.#db
      .selectFrom('message_costs as c')
      .innerJoin('messages as m', 'm.item_hash', 'c.item_hash')
      .selectAll('c')
      .select('m.status')
      .where('c.owner_lc', '=', owner.toLowerCase())
      .where('c.payment_type', '=', paymentType)
      .where('c.charged', '=', 1)
      .where('m.status', 'in', statuses)
      .orderBy('c.time')
      .orderBy('c.item_hash')
      .execute();
    return rows.map((r) => ({ ...r, time: Number(r.time), charged: Number(r.charged) }));
  }

  /** Owners with charged costs of held messages of this payment type. */
  async chargedOwners(paymentType: 'hold' | 'credit'): Promise<string[]> {
    const rows = await this.#db
      .selectFrom('message_costs as c')
      .innerJoin('messages as m', 'm.item_hash', 'c.item_hash')
      .select('c.owner_lc')
      .distinct()
      .where('c.payment_type', '=', paymentType)
      .where('c.charged', '=', 1)
      .where('m.status', 'in', HELD)
      .orderBy('c.owner_lc')
      .execute();
    return rows.map((r) => r.owner_lc);
  }

  /** pyaleph's `locked_amount`: the hold costs of the owner's held messages (decimal string). */
  async lockedAmount(owner: string, exclude?: string): Promise<Dec> {
    const rows = await this.heldCosts(owner, 'hold');
    return rows.filter((r) => r.item_hash !== exclude).reduce((s, r) => s.plus(r.hold), new Dec(0));
  }

  /** Credits per second of the owner's held credit-paid messages. */
  async creditPerSecond(owner: string, exclude?: string): Promise<Dec> {
    const rows = await this.heldCosts(owner, 'credit');
    return rows.filter((r) => r.item_hash !== exclude).reduce((s, r) => s.plus(r.credit_per_second), new Dec(0));
  }

  // ---- credits -------------------------------------------------------------------------------

  async addCreditEvents(rows: CreditEventsTable[]): Promise<void> {
    for (const row of rows) {
      await this.#db
        .insertInto('credit_events')
        .values(row)
        .onConflict((oc) => oc.columns(['item_hash', 'idx', 'kind']).doNothing())
        .execute();
    }
  }

  /** Removes what an oracle post stated (forgotten, or evaluated again). */
  async withdrawPost(itemHash: string): Promise<void> {
    await this.#db.deleteFrom('credit_events').where('item_hash', '=', itemHash).execute();
    await this.#db.deleteFrom('flow_reports').where('item_hash', '=', itemHash).execute();
  }

  async creditEventRows(address: string): Promise<CreditEventRow[]> {
    const rows = await this.#db.selectFrom('credit_events').selectAll().where('address_lc', '=', address.toLowerCase()).execute();
    return rows.map((r) => ({ ...r, amount: Number(r.amount), time: Number(r.time), idx: Number(r.idx), expiration: r.expiration === null ? null : Number(r.expiration) }));
  }

  async consumptionRows(address: string): Promise<{ item_hash: string; boundary: number; amount: number; cumulative: number }[]> {
    const rows = await this.#db
      .selectFrom('credit_consumption')
      .select(['item_hash', 'boundary', 'amount', 'cumulative'])
      .where('address_lc', '=', address.toLowerCase())
      .execute();
    return rows.map((r) => ({ item_hash: r.item_hash, boundary: Number(r.boundary), amount: Number(r.amount), cumulative: Number(r.cumulative) }));
  }

  /** Every credit event of an address for the replay: oracle movements and consumption. */
  async creditEvents(address: string): Promise<CreditEvent[]> {
    const events: CreditEvent[] = (await this.creditEventRows(address)).map((r) => ({
      kind: r.kind === 'distribution' || r.kind === 'transfer_in' ? 'grant' : 'debit',
      amount: r.amount,
      time: r.time,
      hash: r.item_hash,
      idx: r.idx,
      expiration: r.expiration,
    }));
    for (const c of await this.consumptionRows(address)) {
      events.push({ kind: 'debit', amount: c.amount, time: c.boundary, hash: c.item_hash, idx: 0, expiration: null });
    }
    return events;
  }

  /** Credits of an address valid at `at` (unix seconds), after every debit up to then. */
  async creditBalance(address: string, at: number): Promise<number> {
    return replayCredits(await this.creditEvents(address), at).balance;
  }

  /** Addresses that ever held credits. */
  async creditAddresses(): Promise<string[]> {
    const rows = await this.#db.selectFrom('credit_events').select('address_lc').distinct().orderBy('address_lc').execute();
    return rows.map((r) => r.address_lc);
  }

  /** The last consumption row of a message (its cumulative consumption). */
  async lastConsumption(itemHash: string): Promise<{ boundary: number; cumulative: number } | undefined> {
    const row = await this.#db
      .selectFrom('credit_consumption')
      .select(['boundary', 'cumulative'])
      .where('item_hash', '=', itemHash)
      .orderBy('boundary', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? { boundary: Number(row.boundary), cumulative: Number(row.cumulative) } : undefined;
  }

  async addConsumption(row: { item_hash: string; boundary: number; address_lc: string; amount: number; cumulative: number }): Promise<void> {
    await this.#db
      .insertInto('credit_consumption')
      .values(row)
      .onConflict((oc) => oc.columns(['item_hash', 'boundary']).doNothing())
      .execute();
  }

  /** Consumption per message over a period (for `ccn rewards`). */
  async consumptionBetween(from: number, to: number): Promise<{ item_hash: string; amount: number }[]> {
    const rows = await this.#db
      .selectFrom('credit_consumption')
      .select(['item_hash', (eb) => eb.fn.sum<number>('amount').as('amount')])
      .where('boundary', '>', from)
      .where('boundary', '<=', to)
      .groupBy('item_hash')
      .orderBy('item_hash')
      .execute();
    return rows.map((r) => ({ item_hash: r.item_hash, amount: Number(r.amount) }));
  }

  // ---- flows ---------------------------------------------------------------------------------

  async addFlowReports(rows: Tables['flow_reports'][]): Promise<void> {
    for (const row of rows) {
      await this.#db
        .insertInto('flow_reports')
        .values(row)
        .onConflict((oc) => oc.columns(['item_hash', 'idx']).doNothing())
        .execute();
    }
  }

  /**
   * Flows of an address (as sender or receiver) with a non-zero current rate. The current rate of
   * a (chain, sender, receiver) flow is its report with the greatest (time, item_hash, idx);
   * `since` is that report's time.
   */
  async currentFlows(address: string): Promise<CurrentFlow[]> {
    const a = address.toLowerCase();
    const rows = await this.#db
      .selectFrom('flow_reports')
      .selectAll()
      .where((eb) => eb.or([eb('sender_lc', '=', a), eb('receiver_lc', '=', a)]))
      .execute();
    return latestFlows(rows.map((r) => ({ ...r, time: Number(r.time), idx: Number(r.idx) })));
  }

  /** Every flow report naming the address (sender or receiver), in the total order: the flows' history. */
  async flowHistory(address: string): Promise<{ chain: string; sender: string; receiver: string; rate_per_hour: string; time: number; item_hash: string }[]> {
    const a = address.toLowerCase();
    const rows = await this.#db
      .selectFrom('flow_reports')
      .selectAll()
      .where((eb) => eb.or([eb('sender_lc', '=', a), eb('receiver_lc', '=', a)]))
      .orderBy('time')
      .orderBy('item_hash')
      .orderBy('idx')
      .limit(10_000)
      .execute();
    return rows.map((r) => ({ chain: r.chain, sender: r.sender_lc, receiver: r.receiver_lc, rate_per_hour: r.rate_per_hour, time: Number(r.time), item_hash: r.item_hash }));
  }

  /** Every current flow (for `ccn rewards`). */
  async allCurrentFlows(): Promise<CurrentFlow[]> {
    const rows = await this.#db.selectFrom('flow_reports').selectAll().execute();
    return latestFlows(rows.map((r) => ({ ...r, time: Number(r.time), idx: Number(r.idx) })));
  }

  // ---- removals ------------------------------------------------------------------------------

  async removal(itemHash: string): Promise<MessageRemovalsTable | undefined> {
    const row = await this.#db.selectFrom('message_removals').selectAll().where('item_hash', '=', itemHash).executeTakeFirst();
    return row ? { ...row, removing_since: Number(row.removing_since), removing_at: Number(row.removing_at), removed_at: row.removed_at === null ? null : Number(row.removed_at) } : undefined;
  }

  async setRemoval(row: MessageRemovalsTable): Promise<void> {
    await this.#db.deleteFrom('message_removals').where('item_hash', '=', row.item_hash).execute();
    await this.#db.insertInto('message_removals').values(row).execute();
  }

  async clearRemoval(itemHash: string): Promise<void> {
    await this.#db.deleteFrom('message_removals').where('item_hash', '=', itemHash).execute();
  }

  /** `removing` messages whose deadline is at or before `t`. */
  async removalsDue(t: number): Promise<MessageRemovalsTable[]> {
    const rows = await this.#db
      .selectFrom('message_removals as r')
      .innerJoin('messages as m', 'm.item_hash', 'r.item_hash')
      .selectAll('r')
      .where('m.status', '=', 'removing')
      .where('r.removing_at', '<=', t)
      .orderBy('r.item_hash')
      .execute();
    return rows.map((r) => ({ ...r, removing_since: Number(r.removing_since), removing_at: Number(r.removing_at), removed_at: null }));
  }

  /** Sets a held message's status (processed ↔ removing → removed); false when it was not in `from`. */
  async setStatus(itemHash: string, from: MessageStatus[], to: MessageStatus): Promise<boolean> {
    const result = await this.#db.updateTable('messages').set({ status: to }).where('item_hash', '=', itemHash).where('status', 'in', from).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }
}

function latestFlows(rows: Tables['flow_reports'][]): CurrentFlow[] {
  const best = new Map<string, Tables['flow_reports']>();
  for (const r of rows) {
    const key = `${r.chain}\u0000${r.sender_lc}\u0000${r.receiver_lc}`;
    const cur = best.get(key);
    const later = !cur || r.time > cur.time || (r.time === cur.time && (r.item_hash > cur.item_hash || (r.item_hash === cur.item_hash && r.idx > cur.idx)));
    if (later) best.set(key, r);
  }
  return [...best.values()]
    .filter((r) => !new Dec(r.rate_per_hour).isZero())
    .sort((x, y) => (x.chain + x.sender_lc + x.receiver_lc < y.chain + y.sender_lc + y.receiver_lc ? -1 : 1))
    .map((r) => ({ chain: r.chain, sender: r.sender_lc, receiver: r.receiver_lc, rate_per_hour: r.rate_per_hour, since: r.time }));
}
