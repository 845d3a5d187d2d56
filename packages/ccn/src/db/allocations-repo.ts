/**
 * The scheduler's placement decisions (one row per placed workload, with its reason) and the
 * executables it places, read from the processed messages.
 */
import type { Kysely } from 'kysely';
import type { AllocationsTable, Tables } from './schema.ts';

export type AllocationRow = AllocationsTable;

/** A processed PROGRAM or INSTANCE, as the scheduler needs it. */
export interface ExecutableRow {
  item_hash: string;
  type: 'PROGRAM' | 'INSTANCE';
  owner_lc: string | null;
  /** JSON of the content. */
  content: string | null;
  time: number;
}

export class AllocationsRepo {
  readonly #db: Kysely<Tables>;

  constructor(db: Kysely<Tables>) {
    this.#db = db;
  }

  /** Every processed executable (forgotten ones have another status and drop out by themselves). */
  async processedExecutables(): Promise<ExecutableRow[]> {
    const rows = await this.#db
      .selectFrom('messages')
      .select(['item_hash', 'type', 'owner_lc', 'content', 'time'])
      // A `removing` workload keeps running through its payment grace (a top-up keeps it);
      // `removed` drops it, and its CRN is pushed a set without it.
      .where('status', 'in', ['processed', 'removing'])
      .where('type', 'in', ['PROGRAM', 'INSTANCE'])
      .orderBy('time')
      .orderBy('item_hash')
      .execute();
    return rows as ExecutableRow[];
  }

  list(): Promise<AllocationRow[]> {
    return this.#db.selectFrom('allocations').selectAll().orderBy('decided_at').orderBy('item_hash').execute();
  }

  /** Makes the table equal `rows` (one transaction): rows not listed are deleted. */
  async replaceAll(rows: readonly AllocationRow[]): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      const keep = rows.map((r) => r.item_hash);
      if (keep.length === 0) await trx.deleteFrom('allocations').execute();
      else await trx.deleteFrom('allocations').where('item_hash', 'not in', keep).execute();
      for (const row of rows) {
        await trx
          .insertInto('allocations')
          .values(row)
          .onConflict((oc) =>
            oc.column('item_hash').doUpdateSet({
              type: row.type,
              crn_hash: row.crn_hash,
              reason: row.reason,
              previous_crn_hash: row.previous_crn_hash,
              decided_at: row.decided_at,
              push_status: row.push_status,
            }),
          )
          .execute();
      }
    });
  }

  /** Records what `crnHash` did with a workload, unless the workload has since moved elsewhere. */
  async setPushStatus(itemHash: string, crnHash: string, status: string): Promise<void> {
    await this.#db.updateTable('allocations').set({ push_status: status }).where('item_hash', '=', itemHash).where('crn_hash', '=', crnHash).execute();
  }
}
