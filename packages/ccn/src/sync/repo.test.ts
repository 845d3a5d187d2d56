/**
 * The local sequence of migration 0010: stamped once, when a row first becomes servable, in the
 * order rows become so (not the order they were stored), never reused; existing rows backfilled
 * in reception order. On SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { buildInlineMessage, EthAccount } from '@aleph-nodes/protocol';
import { MIGRATIONS } from '../db/migrations/index.ts';
import { openStores, type Stores } from '../stores.ts';
import { ENGINES, openTestStores, type TestStores } from '../testing/engines.ts';
import { insertProcessed } from '../testing/processed.ts';
import { envelopeOf, SyncRepo } from './repo.ts';

const account = EthAccount.generate();
const post = (n: number) => buildInlineMessage(account, 'POST', { type: 'test', content: { n } }, { time: 1_700_000_000 + n });

async function markProcessed(stores: Stores, hash: string): Promise<void> {
  await stores.messages.markProcessed(hash, { content: '{}', content_time: 1, size: 2, owner_lc: 'x', content_type: null, content_ref: null, content_key: null, content_item_hash: null, payment_type: null, tags: [], refs: [] });
}

for (const engine of ENGINES) {
  describe(`sync sequence (${engine})`, () => {
    let t: TestStores;
    let repo: SyncRepo;
    before(async () => {
      t = await openTestStores(engine);
      repo = new SyncRepo(t.stores.db);
    });
    after(async () => {
      await t?.dispose();
    });

    it('stamps rows when they become processed, in that order, and lists only servable ones', async () => {
      const [a, b, c] = [post(1), post(2), post(3)];
      for (const m of [a, b, c]) await t.stores.messages.insertPending(m, m, 1000);
      assert.deepEqual(await repo.page(0, 10), [], 'pending rows are not listed');
      await markProcessed(t.stores, c.item_hash);
      await markProcessed(t.stores, a.item_hash);
      const page = await repo.page(0, 10);
      assert.deepEqual(page.map((e) => e.item_hash), [c.item_hash, a.item_hash]);
      assert.ok(page[1]!.seq > page[0]!.seq);
      // The cursor after the first page still sees a message processed later, although it was stored first.
      await markProcessed(t.stores, b.item_hash);
      const later = await repo.page(page[1]!.seq, 10);
      assert.deepEqual(later.map((e) => e.item_hash), [b.item_hash]);
      assert.equal(await repo.lastSeq(), later[0]!.seq);
    });

    it('keeps the seq of a forgotten row and lists it as forgotten; rejected rows get none', async () => {
      const m = post(10);
      await insertProcessed(t.stores, m);
      const [entry] = (await repo.page(0, 1000)).filter((e) => e.item_hash === m.item_hash);
      await t.stores.messages.markForgotten(m.item_hash, 'f'.repeat(64));
      const [again] = (await repo.page(0, 1000)).filter((e) => e.item_hash === m.item_hash);
      assert.equal(again?.seq, entry?.seq);
      assert.equal(again?.status, 'forgotten');
      const r = post(11);
      await t.stores.messages.insertPending(r, r, 1000);
      await t.stores.messages.reject(r.item_hash, 1, 'bad');
      assert.equal((await repo.page(0, 1000)).some((e) => e.item_hash === r.item_hash), false);
    });

    it('never reuses a number, even when the newest row is deleted', async () => {
      const m = post(20);
      await insertProcessed(t.stores, m);
      const last = await repo.lastSeq();
      await t.stores.db.deleteFrom('messages').where('item_hash', '=', m.item_hash).execute();
      const n = post(21);
      await insertProcessed(t.stores, n);
      assert.ok((await repo.lastSeq()) > last);
    });

    it('serves the signed envelope only (no node-derived fields)', async () => {
      const m = post(30);
      await insertProcessed(t.stores, m);
      const [row] = await repo.rows([m.item_hash]);
      assert.deepEqual(envelopeOf(row!), { ...m });
    });

    it("names the files of the STOREs that workloads placed on this node's CRNs use", async () => {
      const store = post(40);
      await insertProcessed(t.stores, store);
      const file = 'f'.repeat(64);
      await t.stores.db.updateTable('messages').set({ content_item_hash: file }).where('item_hash', '=', store.item_hash).execute();
      const program = post(41);
      await insertProcessed(t.stores, program, { refs: [store.item_hash] });
      const allocation = { item_hash: program.item_hash, type: 'PROGRAM' as const, reason: 'test', previous_crn_hash: null, decided_at: 1, push_status: null };
      await t.stores.allocations.replaceAll([{ ...allocation, crn_hash: null }]);
      assert.equal((await repo.referencedFiles()).has(file), false, 'not placed on a CRN');
      await t.stores.allocations.replaceAll([{ ...allocation, crn_hash: 'c'.repeat(64) }]);
      assert.equal((await repo.referencedFiles()).has(file), true);
      await t.stores.allocations.replaceAll([]);
    });

    it('keeps cursors per peer', async () => {
      assert.equal(await repo.cursor('http://a'), 0);
      await repo.setCursor('http://a', 42, 1);
      await repo.setCursor('http://b', 7, 1);
      await repo.setCursor('http://a', 43, 2);
      assert.deepEqual([...(await repo.cursors())].sort(), [['http://a', 43], ['http://b', 7]]);
    });
  });
}

describe('sync sequence backfill (sqlite)', () => {
  it('numbers existing servable rows in reception order, then continues after them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ccn-backfill-'));
    try {
      const path = join(dir, 'ccn.sqlite');
      // A database from before migration 0010.
      const old = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new Database(path) }) });
      const earlier = Object.fromEntries(Object.entries(MIGRATIONS).filter(([name]) => name < '0010'));
      const { error } = await new Migrator({ db: old, provider: { getMigrations: () => Promise.resolve(earlier) } }).migrateToLatest();
      assert.equal(error, undefined);
      await old.destroy();
      // Rows written by the old code (no seq column yet): insert through raw SQL on the old schema.
      const raw = new Database(path);
      const insert = raw.prepare(
        `INSERT INTO messages (item_hash, status, chain, sender, sender_lc, type, time, item_type, signature, reception_time, raw) VALUES (?, ?, 'ETH', 's', 's', 'POST', 1, 'inline', 'x', ?, '{}')`,
      );
      insert.run('b'.repeat(64), 'processed', 20);
      insert.run('a'.repeat(64), 'processed', 30);
      insert.run('c'.repeat(64), 'pending', 10);
      insert.run('d'.repeat(64), 'forgotten', 5);
      raw.close();
      const stores = await openStores(dir, { engine: 'sqlite', path });
      try {
        const repo = new SyncRepo(stores.db);
        assert.deepEqual(
          (await repo.page(0, 10)).map((e) => [e.seq, e.item_hash[0]]),
          [
            [1, 'd'],
            [2, 'b'],
            [3, 'a'],
          ],
        );
        await markProcessed(stores, 'c'.repeat(64));
        assert.deepEqual((await repo.page(3, 10)).map((e) => [e.seq, e.item_hash[0]]), [[4, 'c']]);
      } finally {
        await stores.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
