/** The node's persistent state, opened once per node and passed to every component. */
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { AggregatesRepo } from './db/aggregates-repo.ts';
import { AllocationsRepo } from './db/allocations-repo.ts';
import { BalancesRepo } from './db/balances-repo.ts';
import { openDatabase, type DatabaseHandle, type DatabaseTarget, type DbEngine } from './db/database.ts';
import { FilesRepo } from './db/files-repo.ts';
import { MessagesRepo } from './db/messages-repo.ts';
import { ProbesRepo } from './db/probes-repo.ts';
import { StateRepo } from './db/state-repo.ts';
import type { Tables } from './db/schema.ts';
import { FileStore } from './storage/file-store.ts';
import { PaymentsRepo } from './payments/repo.ts';

/** Repositories bound to one executor (the database, or a transaction). */
export interface Repos {
  messages: MessagesRepo;
  files: FilesRepo;
  aggregates: AggregatesRepo;
  balances: BalancesRepo;
  allocations: AllocationsRepo;
  probes: ProbesRepo;
  /** Costs, credits, flows and removals (issue 14). */
  payments: PaymentsRepo;
  /** Order-independence bookkeeping (waits, FORGET targets, dependants). */
  state: StateRepo;
  fileStore: FileStore;
}

export interface Stores extends Repos {
  db: Kysely<Tables>;
  engine: DbEngine;
  /** Runs `fn` in one transaction with repositories bound to it. */
  transaction<T>(fn: (repos: Repos) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

function reposOf(db: Kysely<Tables>, fileStore: FileStore): Repos {
  return {
    messages: new MessagesRepo(db),
    files: new FilesRepo(db),
    aggregates: new AggregatesRepo(db),
    balances: new BalancesRepo(db),
    allocations: new AllocationsRepo(db),
    probes: new ProbesRepo(db),
    payments: new PaymentsRepo(db),
    state: new StateRepo(db),
    fileStore,
  };
}

/** Resolves the `db` setting: "sqlite" (a file in the data dir), an SQLite path, ":memory:" or a postgres:// URL. */
export function databaseTargetOf(dataDir: string, dbSetting: string, pgSchema: string): DatabaseTarget {
  if (/^postgres(ql)?:\/\//.test(dbSetting)) return { engine: 'postgres', url: dbSetting, schema: pgSchema };
  return { engine: 'sqlite', path: dbSetting === '' || dbSetting === 'sqlite' ? join(dataDir, 'ccn.sqlite') : dbSetting };
}

export async function openStores(dataDir: string, target: DatabaseTarget): Promise<Stores> {
  const handle: DatabaseHandle = await openDatabase(target);
  const fileStore = new FileStore(join(dataDir, 'files'));
  return {
    ...reposOf(handle.db, fileStore),
    db: handle.db,
    engine: handle.engine,
    transaction: (fn) => handle.db.transaction().execute((trx) => fn(reposOf(trx, fileStore))),
    close: () => handle.close(),
  };
}
