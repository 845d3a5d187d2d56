/**
 * Group commit of submissions on a real database: concurrent submissions share commits, each
 * resolves with its own result, duplicates and known messages keep the single-submission rules,
 * and a batch whose transaction fails is retried one by one so only the bad row fails. The
 * SQLite sync setting is FULL inside every `full` section and NORMAL only inside `relaxed`
 * ones, whatever their interleaving.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildInlineMessage, EthAccount, type AlephMessage } from '@aleph-nodes/protocol';
import { sql } from 'kysely';
import { silentLogger } from '@aleph-nodes/service';
import { CommitDurability } from '../db/commit-durability.ts';
import { queuePending, type PendingIntake } from '../db/pending-intake.ts';
import { ENGINES, openTestStores, type TestStores } from '../testing/engines.ts';
import { IntakeBatch } from './intake-batch.ts';

const intakeOf = (message: AlephMessage): PendingIntake => ({ message, rawJson: JSON.stringify(message), receptionTime: 1000 });

for (const engine of ENGINES) describe(`group commit of submissions (${engine})`, () => {
  let t: TestStores;
  before(async () => {
    t = await openTestStores(engine);
  });
  after(() => t.dispose());

  it('commits concurrent submissions in fewer transactions, each with its own result', async () => {
    const account = EthAccount.generate();
    const messages = Array.from({ length: 40 }, (_, i) => buildInlineMessage(account, 'POST', { type: 'batch', content: { i } }));
    const sizes: number[] = [];
    const batch = new IntakeBatch({
      write: (items) => {
        sizes.push(items.length);
        return queuePending(t.stores.db, items);
      },
      writeOne: async (item) => (await queuePending(t.stores.db, [item]))[0]!,
      log: silentLogger(),
    });
    const first = messages[0]!;
    const results = await Promise.all([...messages, first].map((m) => batch.add(intakeOf(m))));
    assert.ok(sizes.length < messages.length, `one commit per message: ${sizes.join(',')}`);
    assert.deepEqual(results.slice(0, 40), messages.map(() => ({ queued: true })));
    // The same message twice in one group: the second finds the first pending.
    assert.deepEqual(results[40], { queued: false, status: 'pending' });
    for (const m of messages) assert.equal((await t.stores.messages.get(m.item_hash))?.status, 'pending');
    assert.deepEqual(await batch.add(intakeOf(first)), { queued: false, status: 'pending' });
    // A rejected message is queued again.
    await t.stores.messages.reject(first.item_hash, 1, 'test');
    assert.deepEqual(await batch.add(intakeOf(first)), { queued: true });
    assert.equal((await t.stores.messages.get(first.item_hash))?.status, 'pending');
    await batch.drained();
  });

  it('a failing group is committed one by one: only the bad submission fails', async () => {
    const account = EthAccount.generate();
    const good = Array.from({ length: 5 }, (_, i) => buildInlineMessage(account, 'POST', { type: 'batch', content: { i } }));
    const bad = buildInlineMessage(account, 'POST', { type: 'batch', content: 'bad' });
    const refuse = (items: readonly PendingIntake[]): void => {
      if (items.some((i) => i.message.item_hash === bad.item_hash)) throw new Error('refused row');
    };
    const batch = new IntakeBatch({
      write: (items) => {
        refuse(items);
        return queuePending(t.stores.db, items);
      },
      writeOne: async (item) => {
        refuse([item]);
        return (await queuePending(t.stores.db, [item]))[0]!;
      },
      log: silentLogger(),
    });
    const settled = await Promise.allSettled([...good, bad].map((m) => batch.add(intakeOf(m))));
    assert.deepEqual(settled.map((s) => s.status), [...good.map(() => 'fulfilled'), 'rejected']);
    for (const m of good) assert.equal((await t.stores.messages.get(m.item_hash))?.status, 'pending');
    assert.equal(await t.stores.messages.get(bad.item_hash), undefined);
  });

  it('full sections always commit synchronously, relaxed ones only when no full one is open', async () => {
    const durability = new CommitDurability(t.stores.db, engine);
    const level = async (): Promise<number> => Number((await sql<{ synchronous: number }>`PRAGMA synchronous`.execute(t.stores.db)).rows[0]?.synchronous);
    let full = 0;
    let relaxed = 0;
    const seen = new Set<string>();
    const section = (kind: 'full' | 'relaxed', i: number): Promise<void> =>
      durability[kind](async () => {
        if (kind === 'full') full++;
        else relaxed++;
        // Never both kinds at once on SQLite: the setting is per connection (PostgreSQL needs no turns).
        if (engine === 'sqlite') assert.ok(full === 0 || relaxed === 0, 'a full and a relaxed section overlapped');
        for (let k = 0; k < i % 3; k++) await new Promise<void>((resolve) => setImmediate(resolve));
        if (engine === 'sqlite') {
          const value = await level();
          assert.equal(value, kind === 'full' ? 2 : 1, `${kind} section ran with synchronous=${value}`);
          seen.add(kind);
        }
        if (kind === 'full') full--;
        else relaxed--;
      });
    await Promise.all(Array.from({ length: 60 }, (_, i) => section(i % 4 === 0 || i % 7 === 0 ? 'full' : 'relaxed', i)));
    if (engine === 'sqlite') {
      assert.deepEqual([...seen].sort(), ['full', 'relaxed']);
      await durability.full(async () => assert.equal(await level(), 2));
    }
  });
});
