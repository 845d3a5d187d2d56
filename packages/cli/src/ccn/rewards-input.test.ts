import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ccnConfig, startCcn, type RunningCcn } from '@aleph-nodes/ccn';
import { buildInlineMessage, EthAccount } from '@aleph-nodes/protocol';
import { silentLogger } from '@aleph-nodes/service';
import { DISTRIBUTION_POST_TYPE, readDistributions } from './rewards-input.ts';

// CCNs cap page sizes (pagination=0 is no longer "everything"): the reader pages through.
describe('rewards input from a CCN that caps page sizes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rewards-input-'));
  let ccn: RunningCcn;
  const publisher = EthAccount.generate();
  const count = 23;

  before(async () => {
    ccn = await startCcn(ccnConfig({ dataDir: dir, port: 0, p2pPort: 0, maxPagination: 5, schedulerEnabled: false, scoringEnabled: false }), { logger: silentLogger() });
    for (let i = 0; i < count; i++) {
      const post = buildInlineMessage(publisher, 'POST', { type: DISTRIBUTION_POST_TYPE, content: { period: { from_date: i * 10, to_date: i * 10 + 10 } } }, { time: Date.now() / 1000 + i / 1000 });
      const res = await fetch(`${ccn.url}/api/v0/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sync: true, message: post }) });
      assert.equal(res.status, 200);
    }
  });
  after(async () => {
    await ccn?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads every distribution, oldest first, page by page', async () => {
    const periods = await readDistributions(ccn.url, publisher.address);
    assert.equal(periods.length, count);
    assert.deepEqual(
      periods.map((p) => p.from),
      Array.from({ length: count }, (_, i) => i * 10),
    );
  });
});
