import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enableKsm, ksmState } from './ksm.ts';

async function fakeSysfs(run: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ksm-'));
  await writeFile(join(dir, 'run'), run);
  await writeFile(join(dir, 'pages_shared'), '3\n');
  await writeFile(join(dir, 'pages_sharing'), '7\n');
  return dir;
}

describe('KSM switch', () => {
  it('writes run = 1 and reads the counters back', async () => {
    const dir = await fakeSysfs('0\n');
    try {
      assert.deepEqual(await enableKsm(dir), { run: 1, pagesShared: 3, pagesSharing: 7 });
      assert.equal(await readFile(join(dir, 'run'), 'utf8'), '1\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says so when the kernel has no KSM, and refuses garbage', async () => {
    const dir = await fakeSysfs('x\n');
    try {
      assert.equal(await ksmState(join(dir, 'missing')), undefined);
      await assert.rejects(enableKsm(join(dir, 'missing')), /no KSM/);
      assert.equal(await ksmState(dir), undefined);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
