import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { causeOf, getJson, NetworkError } from './http.ts';
import { maskSecrets } from './config-file.ts';
import { formatWrappedTable } from './output.ts';

describe('network errors', () => {
  it('name the URL and the system cause instead of `fetch failed`', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    await new Promise((r) => server.close(r));
    await assert.rejects(getJson(`http://127.0.0.1:${port}/api/v0/nodes`), (err: unknown) => {
      assert.ok(err instanceof NetworkError);
      assert.match(err.message, new RegExp(`^cannot reach http://127\\.0\\.0\\.1:${port}/api/v0/nodes: connect ECONNREFUSED`));
      return true;
    });
  });

  it('dig out the deepest cause, or the code of an AggregateError', () => {
    const inner = Object.assign(new AggregateError([new Error('connect ECONNREFUSED ::1:4024')], ''), { code: 'ECONNREFUSED' });
    assert.equal(causeOf(new TypeError('fetch failed', { cause: inner })), 'connect ECONNREFUSED ::1:4024');
    assert.equal(causeOf(Object.assign(new Error('x'), { name: 'TimeoutError' })), 'no answer in time');
  });
});

describe('operator output', () => {
  it('masks database passwords', () => {
    assert.deepEqual(maskSecrets({ db: 'postgres://u:s3cret@h:5432/db', port: 1 }), { db: 'postgres://u:***@h:5432/db', port: 1 });
  });

  it('wraps a table within its width', () => {
    const long = 'word '.repeat(60).trim();
    const text = formatWrappedTable([['A', 'B', 'C'], ['x', long, long]], 100);
    assert.ok(text.split('\n').every((l) => l.length <= 100));
    assert.equal(text.replace(/\s+/g, ' ').split('word').length - 1, 120, 'nothing lost');
  });
});
