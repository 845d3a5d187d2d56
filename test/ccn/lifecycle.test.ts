/** A CCN process keeps its state across restarts: messages, pending work, files and its key. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { buildInlineMessage, EthAccount, sha256Hex, type AlephMessage } from '@aleph-nodes/protocol';
import { startCcnProcess, type CcnProcess } from './helpers/ccn-process.ts';
import { eventually } from '../helpers/eventually.ts';

describe('CCN restart', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ccn-restart-'));
  const running: CcnProcess[] = [];
  after(async () => {
    for (const p of running) await p.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const start = async (): Promise<CcnProcess> => {
    // Slow retries: a message waiting for its file stays pending across the restart.
    const p = await startCcnProcess({ retryBaseMs: 600_000, retryMaxMs: 600_000 }, dataDir);
    running.push(p);
    return p;
  };
  const submit = async (ccn: CcnProcess, message: AlephMessage, sync: boolean): Promise<number> => {
    const res = await fetch(`${ccn.url}/api/v0/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sync, message }),
    });
    await res.arrayBuffer();
    return res.status;
  };
  const status = async (ccn: CcnProcess, hash: string): Promise<string> =>
    ((await (await fetch(`${ccn.url}/api/v0/messages/${hash}/status`)).json()) as { status: string }).status;

  it('resumes pending messages and keeps processed ones and its key', async () => {
    const alice = EthAccount.generate();
    const file = new TextEncoder().encode('arrives after the restart');
    const post = buildInlineMessage(alice, 'POST', { type: 'note', content: 'kept' });
    const store = buildInlineMessage(alice, 'STORE', { item_type: 'storage', item_hash: sha256Hex(file) });

    const first = await start();
    assert.equal(await submit(first, post, true), 200);
    assert.equal(await submit(first, store, false), 202);
    assert.equal(await status(first, store.item_hash), 'pending');
    await first.stop();

    const second = await start();
    assert.equal(second.address, first.address);
    assert.equal(await status(second, post.item_hash), 'processed');
    assert.equal(await status(second, store.item_hash), 'pending');

    const form = new FormData();
    form.append('file', new Blob([file]), 'blob');
    assert.equal((await fetch(`${second.url}/api/v0/storage/add_file`, { method: 'POST', body: form })).status, 200);
    await eventually('the message to be processed on the second node', 60_000, async () => ((await status(second, store.item_hash)) === 'processed' ? true : undefined));
  });
});
