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
  constructor(private readonly db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS retired_messages (
      ref TEXT PRIMARY KEY,
      reason TEXT NOT NULL,
      retired_at TEXT NOT NULL
    )`);
  }

  /** Records `ref` as retired; the first reason stays. */
  retire(ref: string, reason: string): void {
    this.db.prepare('INSERT OR IGNORE INTO retired_messages (ref, reason, retired_at) VALUES (?, ?, ?)').run(ref, reason, new Date().toISOString());
  }

  get(ref: string): RetiredMessage | undefined {
    const row = this.db.prepare('SELECT ref, reason, retired_at FROM retired_messages WHERE ref = ?').get(ref) as { ref: string; reason: string; retired_at: string } | undefined;
    return row ? { ref: row.ref, reason: row.reason, retiredAt: row.retired_at } : undefined;
  }

  has(ref: string): boolean {
    return this.get(ref) !== undefined;
  }
}
