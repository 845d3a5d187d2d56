/**
 * Durability: `kill -9` during a burst of 1,000 messages loses none that was answered (200 =
 * processed, 202 = accepted as pending): after a restart on the same data dir every one of them
 * is there, and the pending ones get processed. Two bursts: half sync and half queued with 16
 * in flight, and queued only with 64 in flight, where submissions are committed in groups
 * (processing/intake-batch.ts) and the worker's commits are not synced one by one
 * (db/commit-durability.ts): the kill lands while groups are being committed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { buildInlineMessage, EthAccount, type AlephMessage } from '@aleph-nodes/protocol';
import { postgresSettings, startCcnProcess, type CcnProcess } from './helpers/ccn-process.ts';
import { eventually } from '../helpers/eventually.ts';

const TOTAL = 1000;
/** Kill once this many answers came back, so the burst is cut in the middle. */
const KILL_AFTER = 400;

const BURSTS = [
  { name: 'half sync', inFlight: 16, sync: (i: number) => i % 2 === 0 },
  { name: 'queued, grouped commits', inFlight: 64, sync: () => false },
] as const;

for (const engine of ['sqlite', 'postgres'] as const) for (const burst of BURSTS) describe(`kill -9 during a burst (${engine}, ${burst.name})`, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ccn-crash-'));
  const pgSchema = engine === 'postgres' ? postgresSettings() : undefined;
  const settings = pgSchema?.settings ?? {};
  const started: CcnProcess[] = [];
  after(async () => {
    for (const p of started) await p.stop();
    await pgSchema?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('loses no answered message', async () => {
    const first = await startCcnProcess(settings, dataDir);
    started.push(first);
    const account = EthAccount.generate();
    const messages: AlephMessage[] = [];
    for (let i = 0; i < TOTAL; i++) {
      messages.push(buildInlineMessage(account, i % 3 === 0 ? 'AGGREGATE' : 'POST', i % 3 === 0 ? { key: `k${i % 7}`, content: { i } } : { type: 'burst', content: { i } }, { time: 1_700_000_000 + i / 1000 }));
    }
    const answered = new Map<string, number>();
    let next = 0;
    let killed = false;
    const worker = async (): Promise<void> => {
      while (next < messages.length && !killed) {
        const message = messages[next++] as AlephMessage;
        try {
          const res = await fetch(`${first.url}/api/v0/messages`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            // Sync ones wait for processing (200), the others are queued (202).
            body: JSON.stringify({ sync: burst.sync(next), message }),
          });
          await res.arrayBuffer();
          answered.set(message.item_hash, res.status);
          if (answered.size >= KILL_AFTER && !killed) {
            killed = true;
            await first.kill();
          }
        } catch {
          // The connection died with the process: this one was never answered.
        }
      }
    };
    await Promise.all(Array.from({ length: burst.inFlight }, () => worker()));
    assert.ok(killed, 'the node was killed during the burst');
    const ok = [...answered].filter(([, status]) => status === 200).map(([hash]) => hash);
    const accepted = [...answered].filter(([, status]) => status === 202).map(([hash]) => hash);
    assert.equal(ok.length + accepted.length, answered.size, 'every answer was 200 or 202');
    assert.ok(accepted.length > 0);
    if (BURSTS[0] === burst) assert.ok(ok.length > 0);

    const second = await startCcnProcess(settings, dataDir);
    started.push(second);
    const statusOf = async (hash: string): Promise<string> =>
      ((await (await fetch(`${second.url}/api/v0/messages/${hash}/status`)).json()) as { status: string }).status;
    for (const hash of ok) assert.equal(await statusOf(hash), 'processed', hash);
    for (const hash of accepted) assert.ok(['pending', 'processed'].includes(await statusOf(hash)), hash);
    // Queued messages are processed after the restart.
    await eventually('no message left pending', 60_000, async () => {
      const res = await fetch(`${second.url}/api/v0/messages.json?msgStatuses=pending&pagination=1`);
      return ((await res.json()) as { pagination_total: number }).pagination_total === 0 ? true : undefined;
    });
    for (const hash of accepted) assert.equal(await statusOf(hash), 'processed', hash);
  });
});
