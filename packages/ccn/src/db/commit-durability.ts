/**
 * When a commit reaches the disk. SQLite runs with synchronous=FULL (database.ts): every commit
 * waits for an fsync, and better-sqlite3 waits on the event loop, so the processing worker's one
 * commit per message capped ingest at the disk's fsync rate. Commits that nobody is answered on
 * (a message processed in the background) run `relaxed`, with synchronous=NORMAL: in WAL mode such
 * a commit survives a kill -9 of the node (the page cache keeps it) and reaches the disk with the
 * next FULL commit, which syncs the whole log. Commits an answer reports run `full`: the
 * submissions' group commit (a 202 or 200 answer follows it) and the barrier before a sync
 * answer. PostgreSQL commits are durable either way (the server, not this process, holds them):
 * both are plain transactions there.
 *
 * The setting is per connection and cannot change inside a transaction, so the two kinds take
 * turns (phases): holders of one kind run together, the other kind waits for them, and the
 * setting is switched between phases. A relaxed commit never runs while a full one is open, so
 * an answered commit is never made relaxed. The single SQLite connection runs one statement at a
 * time anyway: taking turns costs no parallelism.
 */
import { sql, type Kysely } from 'kysely';
import type { DbEngine } from './database.ts';
import type { Tables } from './schema.ts';

type Kind = 'full' | 'relaxed';

export class CommitDurability {
  readonly #db: Kysely<Tables>;
  readonly #sqlite: boolean;
  #phase: Kind = 'full';
  #holders = 0;
  readonly #waiting: { kind: Kind; go: () => void }[] = [];

  constructor(db: Kysely<Tables>, engine: DbEngine) {
    this.#db = db;
    this.#sqlite = engine === 'sqlite';
  }

  /** Runs `fn` (its commits) with every commit synced to disk before it returns. */
  full<T>(fn: () => Promise<T>): Promise<T> {
    return this.#with('full', fn);
  }

  /** Runs `fn` with commits that may reach the disk later (never lost to a process crash). */
  relaxed<T>(fn: () => Promise<T>): Promise<T> {
    return this.#with('relaxed', fn);
  }

  /**
   * Returns once every commit made so far is on disk: on SQLite a FULL commit of a row rewritten
   * as it is (`itemHash`'s, which exists) syncs the whole log, relaxed commits included.
   */
  async barrier(itemHash: string): Promise<void> {
    if (!this.#sqlite) return;
    await this.full(() =>
      this.#db
        .updateTable('messages')
        .set((eb) => ({ retries: eb.ref('retries') }))
        .where('item_hash', '=', itemHash)
        .execute(),
    );
  }

  async #with<T>(kind: Kind, fn: () => Promise<T>): Promise<T> {
    if (!this.#sqlite) return fn();
    await this.#enter(kind);
    try {
      // A switch to FULL that failed: refuse rather than report an unsynced commit as durable.
      if (kind === 'full' && this.#phase !== 'full') throw new Error('the database could not be set to synchronous commits');
      return await fn();
    } finally {
      this.#leave();
    }
  }

  async #enter(kind: Kind): Promise<void> {
    // Joining the running phase is allowed only when nobody of the other kind waits (no starving).
    if (this.#holders > 0 && (this.#phase !== kind || this.#waiting.length > 0)) {
      await new Promise<void>((go) => this.#waiting.push({ kind, go }));
      return;
    }
    this.#holders++;
    await this.#switchTo(kind).catch(() => undefined);
  }

  #leave(): void {
    this.#holders--;
    if (this.#holders > 0) return;
    if (this.#waiting.length === 0) {
      // Idle: back to FULL, so writes outside these sections (other parts of the node) are synced.
      if (this.#phase === 'relaxed') void this.#switchTo('full').catch(() => undefined);
      return;
    }
    // The next phase: the first waiter's kind, with every waiter of that kind.
    const kind = (this.#waiting[0] as { kind: Kind }).kind;
    const admitted = this.#waiting.filter((w) => w.kind === kind);
    this.#waiting.splice(0, this.#waiting.length, ...this.#waiting.filter((w) => w.kind !== kind));
    this.#holders = admitted.length;
    // A failed switch is seen by the full holders in #with (the phase did not change).
    const go = (): void => admitted.forEach((w) => w.go());
    void this.#switchTo(kind).then(go, go);
  }

  async #switchTo(kind: Kind): Promise<void> {
    if (kind === this.#phase) return;
    this.#phase = kind;
    try {
      await sql.raw(`PRAGMA synchronous = ${kind === 'full' ? 'FULL' : 'NORMAL'}`).execute(this.#db);
    } catch (err) {
      this.#phase = kind === 'full' ? 'relaxed' : 'full';
      throw err;
    }
  }
}
