/**
 * Attack: the operator's login cookie (`token`, `Path=/`) went to every program at
 * `/vm/…` on the node's origin, and a program's page could call `/about/config` as the operator.
 * Against a real CCN and CRN (process executor) and a program that echoes the headers it gets:
 * - the login cookie is `HttpOnly; Secure; SameSite=Strict; Path=/about`;
 * - the program receives no `token` cookie (its own cookies still arrive) and cannot set one on
 *   the node's origin;
 * - path-form program responses carry the CSP sandbox (no allow-same-origin), operator pages
 *   cannot be framed and send no CORS headers;
 * - the operator routes answer 404 on a program's host.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hashToHostLabel } from '@aleph-nodes/protocol';
import { startNodes, type Nodes } from '../crn/helpers/nodes.ts';

/** Echoes the request headers; sets a cookie of its own and tries to set the node's. */
const HEADERS_PROGRAM = `
import http from 'node:http';
http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.setHeader('set-cookie', ['token=planted-by-program; Path=/about', 'sid=program-session; Path=/']);
  res.end(JSON.stringify({ headers: req.headers, url: req.url }));
}).listen(8080, '0.0.0.0');
`;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw HTTP request (fetch does not let a test choose the Host header). */
function send(url: string, path: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, { method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('operator cookie and operator pages stay away from programs', { timeout: 120_000 }, () => {
  let nodes: Nodes;
  let program = '';
  let token = '';
  let programHost = '';

  before(async () => {
    nodes = await startNodes();
    program = await nodes.publishProgram(HEADERS_PROGRAM);
    token = readFileSync(join(nodes.crnDataDir, 'login.token'), 'utf8');
    programHost = `${hashToHostLabel(program)}.127.0.0.1`;
  });
  after(async () => {
    await nodes?.close();
  });

  it('login sets the cookie HttpOnly, Secure, SameSite=Strict, scoped to /about; operator pages refuse framing', async () => {
    const login = await send(nodes.crn.url, `/about/login?token=${token}`, {});
    assert.equal(login.status, 302);
    assert.equal(login.headers.location, '/about/config');
    assert.deepEqual(login.headers['set-cookie'], [`token=${token}; HttpOnly; Secure; SameSite=Strict; Path=/about`]);
    assert.equal(login.headers['referrer-policy'], 'no-referrer');
    const config = await send(nodes.crn.url, '/about/config', { cookie: `token=${token}`, origin: `http://${programHost}` });
    assert.equal(config.status, 200, config.body);
    assert.equal(config.headers['x-frame-options'], 'DENY');
    assert.equal(config.headers['content-security-policy'], "frame-ancestors 'none'");
    assert.equal(config.headers['access-control-allow-origin'], undefined, 'no CORS on operator pages');
    assert.equal(config.headers['access-control-allow-credentials'], undefined);
    assert.equal((await send(nodes.crn.url, '/about/config', {})).status, 401);
    assert.equal((await send(nodes.crn.url, '/about/config', { cookie: 'token=guess' })).status, 401);
    // Public /about routes keep their CORS (crn-api.md §1).
    const usage = await send(nodes.crn.url, '/about/usage/system', { origin: 'https://console.example' });
    assert.equal(usage.headers['access-control-allow-origin'], 'https://console.example');
  });

  it('a program at /vm/{hash} receives no token cookie, keeps its own, and cannot plant one', async () => {
    const res = await send(nodes.crn.url, `/vm/${program}/echo`, { cookie: `token=${token}; sid=visitor-session; theme=dark` });
    assert.equal(res.status, 200, res.body);
    const seen = JSON.parse(res.body) as { headers: Record<string, string> };
    assert.equal(seen.headers.cookie, 'sid=visitor-session; theme=dark');
    assert.doesNotMatch(res.body, new RegExp(token), 'the operator token reaches the program nowhere');
    assert.deepEqual(res.headers['set-cookie'], ['sid=program-session; Path=/'], 'the program cannot set the node cookie on the node origin');
    const alone = await send(nodes.crn.url, `/vm/${program}/`, { cookie: `token=${token}` });
    assert.equal((JSON.parse(alone.body) as { headers: Record<string, string> }).headers.cookie, undefined);
  });

  it('path-form program responses are sandboxed (opaque origin); the host form is not', async () => {
    const path = await send(nodes.crn.url, `/vm/${program}/`, {});
    const csp = String(path.headers['content-security-policy'] ?? '');
    assert.match(csp, /^sandbox /);
    assert.doesNotMatch(csp, /allow-same-origin/);
    assert.match(csp, /allow-scripts/);
    const host = await send(nodes.crn.url, '/page', { host: programHost });
    assert.equal(host.status, 200, host.body);
    assert.equal(host.headers['content-security-policy'], undefined);
    // On its own host the program's cookies are its own: a `token` of its own passes.
    assert.deepEqual(host.headers['set-cookie'], ['token=planted-by-program; Path=/about', 'sid=program-session; Path=/']);
  });

  it('the operator routes answer 404 on a program host, even with the cookie', async () => {
    for (const path of ['/about/config', `/about/login?token=${token}`, '/about/executions/details']) {
      const res = await send(nodes.crn.url, path, { host: programHost, cookie: `token=${token}` });
      assert.equal(res.status, 404, `${path}: ${res.body}`);
      assert.equal(res.headers['set-cookie'], undefined);
      assert.doesNotMatch(res.body, /dataDir|authorizedAllocationSigners/);
    }
    const other = await send(nodes.crn.url, '/about/config', { host: 'attacker.example', cookie: `token=${token}` });
    assert.equal(other.status, 404);
    // The node's own host still serves them.
    assert.equal((await send(nodes.crn.url, '/about/executions/details', { cookie: `token=${token}` })).status, 200);
  });
});
