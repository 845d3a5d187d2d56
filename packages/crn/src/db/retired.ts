/**
 * Messages that will never run again on this node (in `<dataDir>/crn.sqlite`): forgotten,
 * rejected or removed on the CCN. Kept on disk so that neither a restart of the node nor a
 * message cached elsewhere (memory, the execution records) can bring one back: every start
 * (request, allocation push, notify, owner start, restart) is refused once a ref is here.
 */
import type Database from 'better-sqlite3';

export interface RetiredMessage {
  ref: string;
  /** `forgotten`, `rejected` or `removed`. */
  reason: string;
  retiredAt: string;
}

export class RetiredMessages {
  // Prepared once: `get` runs on every proxied request (the retired check comes before any
  // start), and preparing the statement each time was a tenth of the CRN's busy time there.
  readonly #insert: Database.Statement<[string, string, string]>;
  readonly #select: Database.Statement<[string]>;

  constructor(db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS retired_messages (
      ref TEXT PRIMARY KEY,
      reason TEXT NOT NULL,
      retired_at TEXT NOT NULL
    )`);
    this.#insert = db.prepare('INSERT OR IGNORE INTO retired_messages (ref, reason, retired_at) VALUES (?, ?, ?)');
    this.#select = db.prepare('SELECT ref, reason, retired_at FROM retired_messages WHERE ref = ?');
  }

  /** Records `ref` as retired; the first reason stays. */
  retire(ref: string, reason: string): void {
    this.#insert.run(ref, reason, new Date().toISOString());
  }

  get(ref: string): RetiredMessage | undefined {
    const row = this.#select.get(ref) as { ref: string; reason: string; retired_at: string } | undefined;
    return row ? { ref: row.ref, reason: row.reason, retiredAt: row.retired_at } : undefined;
  }

  has(ref: string): boolean {
    return this.get(ref) !== undefined;
  }
}
