import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { silentLogger } from '@aleph-nodes/service';
import { CrnConfigSchema } from './config.ts';
import { CrnNode } from './node.ts';

describe('CrnNode lifecycle', () => {
  const root = mkdtempSync(join(tmpdir(), 'crn-node-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const configIn = (name: string, extra: Record<string, unknown> = {}) => CrnConfigSchema.parse({ dataDir: join(root, name), ccn: 'http://127.0.0.1:9', executor: 'process', ...extra });

  it('a failed start ends as failed, releases the data dir, and cannot be started again', async () => {
    // The key file is a directory: the start fails after the data dir was locked.
    const keyDir = join(root, 'not-a-key');
    mkdirSync(keyDir);
    const node = new CrnNode(configIn('failing', { keyFile: keyDir }), { logger: silentLogger() });
    assert.equal(node.state, 'created');
    await assert.rejects(node.start());
    assert.equal(node.state, 'failed');
    // The data dir was locked, then released: no lock file is left for the next start.
    assert.equal(existsSync(join(root, 'failing')), true);
    assert.equal(existsSync(join(root, 'failing', 'crn.lock')), false);
    await assert.rejects(node.start(), /cannot go from failed to starting/);
    await node.close();
    assert.equal(node.state, 'failed', 'closing a failed node changes nothing');
  });

  it('a node closed before it started is stopped, and refuses to start', async () => {
    const node = new CrnNode(configIn('never'), { logger: silentLogger() });
    await node.close();
    assert.equal(node.state, 'stopped');
    await assert.rejects(node.start(), /cannot go from stopped to starting/);
  });
});
