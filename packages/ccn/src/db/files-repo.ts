/**
 * File bookkeeping: which files the node holds, which messages pin them, and until when an
 * unpinned upload is kept (aleph-protocol.md §5: 24 h without a STORE message).
 */
import type { Kysely, Selectable } from 'kysely';
import { countOf } from './database.ts';
import type { FilesTable, Tables } from './schema.ts';

export type FileRow = Selectable<FilesTable>;

export class FilesRepo {
  readonly #db: Kysely<Tables>;

  constructor(db: Kysely<Tables>) {
    this.#db = db;
  }

  get(hash: string): Promise<FileRow | undefined> {
    return this.#db.selectFrom('files').selectAll().where('hash', '=', hash).executeTakeFirst();
  }

  /** Records a stored file; an existing record keeps the later of the two grace periods. */
  async upsert(hash: string, engine: FileRow['engine'], size: number, now: number, graceUntil: number): Promise<void> {
    const existing = await this.get(hash);
    if (!existing) {
      await this.#db
        .insertInto('files')
        .values({ hash, engine, size, created_at: now, grace_until: graceUntil })
        .onConflict((oc) => oc.column('hash').doNothing())
        .execute();
      return;
    }
    await this.#db
      .updateTable('files')
      .set({ grace_until: Math.max(existing.grace_until ?? 0, graceUntil) })
      .where('hash', '=', hash)
      .execute();
  }

  async pin(fileHash: string, itemHash: string): Promise<void> {
    await this.#db.insertInto('file_pins').values({ file_hash: fileHash, item_hash: itemHash }).onConflict((oc) => oc.doNothing()).execute();
  }

  async unpin(fileHash: string, itemHash: string): Promise<void> {
    await this.#db.deleteFrom('file_pins').where('file_hash', '=', fileHash).where('item_hash', '=', itemHash).execute();
  }

  async pinCount(fileHash: string): Promise<number> {
    const row = await this.#db.selectFrom('file_pins').select((eb) => eb.fn.countAll().as('n')).where('file_hash', '=', fileHash).executeTakeFirst();
    return countOf(row as { n: string | number } | undefined);
  }

  /** Every (file, message) pin: pyaleph's `pyaleph_status_sync_permanent_files_total`. */
  async totalPins(): Promise<number> {
    const row = await this.#db.selectFrom('file_pins').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
    return countOf(row as { n: string | number } | undefined);
  }

  /** Files with no pin whose grace period is over: safe to delete. */
  expiredUnpinned(now: number): Promise<FileRow[]> {
    return this.#db
      .selectFrom('files')
      .selectAll()
      .where('grace_until', 'is not', null)
      .where('grace_until', '<', now)
      .where((eb) => eb.not(eb.exists(eb.selectFrom('file_pins').select('file_pins.item_hash').whereRef('file_pins.file_hash', '=', 'files.hash'))))
      .execute();
  }

  async delete(hash: string): Promise<void> {
    await this.#db.deleteFrom('files').where('hash', '=', hash).execute();
  }
}
