import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { checkDiagnosticProgram } from './fastapi-check.ts';

/** Answers as aleph's diagnostic program does on a node without internet. */
function fakeDiagnostic(overrides: Record<string, [number, unknown]> = {}): Server {
  let counter = -1;
  const cache = new Map<string, string>();
  return createServer((req, res) => {
    const path = (req.url ?? '').replace(/^\/vm\/x/, '');
    const reply = (status: number, body: unknown, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type });
      res.end(type === 'application/json' ? JSON.stringify(body) : String(body));
    };
    const override = overrides[path];
    if (override) return reply(override[0], override[1]);
    if (path === '/') return reply(200, { Example: 'example_fastapi', endpoints: [] });
    if (path === '/environ') return reply(200, { ALEPH_API_HOST: 'x', ALEPH_API_UNIX_SOCKET: 'x', ALEPH_REMOTE_CRYPTO_HOST: 'x', ALEPH_REMOTE_CRYPTO_UNIX_SOCKET: 'x', ALEPH_ADDRESS_TO_USE: 'x' });
    if (path === '/lifespan') return reply(200, { Lifespan: true });
    if (path === '/raise') return reply(500, 'Traceback (most recent call last):\n  ...\nCustomError: Whoops', 'text/plain');
    if (path === '/state/increment') return reply(200, { counter: ++counter });
    const set = /^\/cache\/set\/(\w+)\/(\w+)$/.exec(path);
    if (set) {
      cache.set(set[1] as string, set[2] as string);
      return reply(200, true);
    }
    const get = /^\/cache\/get\/(\w+)$/.exec(path);
    if (get) return reply(200, cache.get(get[1] as string) ?? null);
    if (path === '/cache/keys') return reply(200, [...cache.keys()]);
    if (path === '/dns') return reply(500, 'Internal Server Error', 'text/plain');
    return reply(503, { result: false, failures: [] });
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/vm/x`;
}

describe("the fastapi check (aleph-vm's status.py)", () => {
  const servers: Server[] = [];
  after(() => servers.forEach((s) => s.close()));
  let offline = '';
  before(async () => {
    const s = fakeDiagnostic();
    servers.push(s);
    offline = await listen(s);
  });

  it('without internet: the local checks true, the required internet ones false, not ok', async () => {
    const { ok, result } = await checkDiagnosticProgram(offline, false);
    assert.deepEqual(result, { index: true, environ: true, messages: false, dns: false, ipv4: false, internet: false, cache: true, persistent_storage: true, error_handling: true, get_a_message: false, lifespan: true });
    assert.equal(ok, false);
  });

  it('retro-compatibility leaves out get_a_message and lifespan', async () => {
    const { result } = await checkDiagnosticProgram(offline, true);
    assert.ok(!('lifespan' in result) && !('get_a_message' in result));
  });

  it('ok when the required checks pass; a wrong shape is false, not an error', async () => {
    const s = fakeDiagnostic({
      '/dns': [200, { ipv4: '1.2.3.4', ipv6: '::1' }],
      '/ip/4': [200, { result: true }],
      '/internet': [200, { result: true }],
      '/messages': [200, { Messages: 'not an object' }],
      '/environ': [200, { ALEPH_API_HOST: 'x' }],
    });
    servers.push(s);
    const { ok, result } = await checkDiagnosticProgram(await listen(s), false);
    assert.equal(result.messages, false);
    assert.equal(result.environ, false);
    assert.equal(ok, false, 'environ is required');
    const good = fakeDiagnostic({ '/dns': [200, { ipv4: '1.2.3.4', ipv6: '::1' }], '/ip/4': [200, { result: true }], '/internet': [200, { result: 200 }] });
    servers.push(good);
    assert.equal((await checkDiagnosticProgram(await listen(good), false)).ok, true);
  });

  it('an oversized answer fails its check', async () => {
    const s = fakeDiagnostic({ '/': [200, { Example: 'example_fastapi', pad: 'x'.repeat(2 * 1024 * 1024) }] });
    servers.push(s);
    const { result } = await checkDiagnosticProgram(await listen(s), false);
    assert.equal(result.index, false);
    assert.equal(result.lifespan, true);
  });

  it('an unreachable program: every check false', async () => {
    const { ok, result } = await checkDiagnosticProgram('http://127.0.0.1:1/vm/x', false);
    assert.equal(ok, false);
    assert.ok(Object.values(result).every((v) => v === false));
  });
});
