/**
 * What the CRN remembers of signed control traffic, in its SQLite (`crn.sqlite`), so that a
 * restart does not reopen a replay window:
 *
 * - `allocation_signers`: per allocation signer, the last accepted `iat` and the payload digests
 *   accepted at that second (see `nextReplayState` in the protocol package). A push older than
 *   the last one accepted, or one already accepted, is refused, also after a restart.
 * - `owner_operations`: the owner operations (X-SignedOperation) already used, each until its
 *   ±120 s window has passed; expired rows are pruned on every use. The table is bounded: when
 *   `maxOwnerOperations` unexpired operations are held, new ones are refused until some expire
 *   (only operations that passed signature AND ownership checks are recorded, so only owners of
 *   executions on this node can fill it).
 *
 * Writes are synchronous (better-sqlite3) and each decision is one transaction: two identical
 * requests racing each other cannot both be accepted.
 */
import type Database from 'better-sqlite3';
import { nextReplayState, type AllocationReplayGuard, type SignerReplayState } from '@aleph-nodes/protocol';

export type OperationUse = 'accepted' | 'replayed' | 'full';

export class AuthState implements AllocationReplayGuard {
  readonly #db: Database.Database;
  readonly #maxOwnerOperations: number;

  constructor(db: Database.Database, opts: { maxOwnerOperations: number }) {
    this.#db = db;
    this.#maxOwnerOperations = opts.maxOwnerOperations;
    db.exec(`CREATE TABLE IF NOT EXISTS allocation_signers (
      signer TEXT PRIMARY KEY,
      last_iat INTEGER NOT NULL,
      digests TEXT NOT NULL
    )`);
    db.exec(`CREATE TABLE IF NOT EXISTS owner_operations (
      op_key TEXT PRIMARY KEY,
      expires_at_ms INTEGER NOT NULL
    )`);
    db.exec('CREATE INDEX IF NOT EXISTS owner_operations_expiry ON owner_operations (expires_at_ms)');
  }

  /** The allocation replay guard (AllocationReplayGuard). */
  accept(signer: string, iat: number, digest: string): boolean {
    return this.#db.transaction(() => {
      const row = this.#db.prepare('SELECT last_iat, digests FROM allocation_signers WHERE signer = ?').get(signer) as { last_iat: number; digests: string } | undefined;
      const current: SignerReplayState | undefined = row ? { lastIat: row.last_iat, digests: JSON.parse(row.digests) as string[] } : undefined;
      const next = nextReplayState(current, iat, digest);
      if (!next) return false;
      this.#db
        .prepare('INSERT INTO allocation_signers (signer, last_iat, digests) VALUES (?, ?, ?) ON CONFLICT (signer) DO UPDATE SET last_iat = excluded.last_iat, digests = excluded.digests')
        .run(signer, next.lastIat, JSON.stringify(next.digests));
      return true;
    })();
  }

  /** Last accepted `iat` of a signer (diagnostics and tests). */
  lastAllocationIat(signer: string): number | undefined {
    return (this.#db.prepare('SELECT last_iat FROM allocation_signers WHERE signer = ?').get(signer.toLowerCase()) as { last_iat: number } | undefined)?.last_iat;
  }

  /** Marks an owner operation used; `replayed` when it already was, `full` when the table is. */
  useOwnerOperation(key: string, expiresAtMs: number, nowMs = Date.now()): OperationUse {
    return this.#db.transaction((): OperationUse => {
      this.#db.prepare('DELETE FROM owner_operations WHERE expires_at_ms < ?').run(nowMs);
      if (this.#db.prepare('SELECT 1 FROM owner_operations WHERE op_key = ?').get(key)) return 'replayed';
      const { n } = this.#db.prepare('SELECT COUNT(*) AS n FROM owner_operations').get() as { n: number };
      if (n >= this.#maxOwnerOperations) return 'full';
      this.#db.prepare('INSERT INTO owner_operations (op_key, expires_at_ms) VALUES (?, ?)').run(key, expiresAtMs);
      return 'accepted';
    })();
  }
}
