import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Server } from 'node:http';
import { GuestCache, globToRegExp, startGuestApi } from './guest-api.ts';

function call(socketPath: string, method: string, path: string, body?: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('guest API (the cache of aleph programs, on the Unix socket)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'guest-api-'));
  const socket = join(dir, 'socat-socket');
  let server: Server;
  before(async () => {
    server = await startGuestApi(socket);
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers as aleph's guest API: PUT true, GET bytes, 404, keys by pattern, DELETE count", async () => {
    assert.deepEqual(await call(socket, 'PUT', '/cache/a', Buffer.from('42')), { status: 200, text: 'true' });
    assert.deepEqual(await call(socket, 'GET', '/cache/a'), { status: 200, text: '42' });
    assert.equal((await call(socket, 'GET', '/cache/nope')).status, 404);
    await call(socket, 'PUT', '/cache/ab', Buffer.from('x'));
    assert.deepEqual(JSON.parse((await call(socket, 'GET', '/cache/?pattern=a*')).text).sort(), ['a', 'ab']);
    assert.deepEqual(JSON.parse((await call(socket, 'GET', '/cache/?pattern=a?')).text), ['ab']);
    assert.deepEqual(await call(socket, 'DELETE', '/cache/a'), { status: 200, text: '1' });
    assert.deepEqual(await call(socket, 'DELETE', '/cache/a'), { status: 200, text: '0' });
  });

  it('refuses bad keys and patterns, and unknown routes', async () => {
    assert.equal((await call(socket, 'GET', '/cache/a.b')).status, 400);
    assert.equal((await call(socket, 'GET', '/cache/%E0%A4%A')).status, 400);
    assert.equal((await call(socket, 'GET', '/cache/?pattern=[a]')).status, 400);
    assert.equal((await call(socket, 'GET', '/api/v0/messages.json')).status, 501);
  });
});

describe('GuestCache', () => {
  it('keeps within its limits', () => {
    const cache = new GuestCache({ maxKeys: 2, maxValueBytes: 4, maxTotalBytes: 6 });
    assert.equal(cache.set('a', Buffer.from('1234')), true);
    assert.equal(cache.set('b', Buffer.from('12345')), false, 'value too large');
    assert.equal(cache.set('b', Buffer.from('123')), false, 'total too large');
    assert.equal(cache.set('b', Buffer.from('12')), true);
    assert.equal(cache.set('c', Buffer.from('')), false, 'too many keys');
    assert.equal(cache.set('a', Buffer.from('1')), true, 'replacing frees its bytes');
    assert.equal(cache.delete('a'), 1);
    assert.equal(cache.set('c', Buffer.from('123')), true);
  });

  it('globs like Redis without brackets; other characters are literal', () => {
    assert.ok(globToRegExp('a*').test('abc'));
    assert.ok(!globToRegExp('a?').test('abc'));
    assert.ok(globToRegExp('a-^').test('a-^'));
    assert.ok(!globToRegExp('a-^').test('ab^'));
  });
});
