/**
 * Observability of both nodes, in-process CCN and CRN (process executor): `/openapi.json` of each
 * validates as OpenAPI 3.1 and carries the zod schemas the routes validate with; `/metrics` of
 * each exposes the documented series; the console and the document stay off program hosts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { AllocationRequestSchema, CHAINS, programHostname } from '@aleph-nodes/protocol';
import { request } from 'undici';
import { z } from 'zod';
import { ensureConsoleBuilt } from '../console/build.ts';
import { ECHO_PROGRAM, startNodes, type Nodes } from '../crn/helpers/nodes.ts';
import { REPO_ROOT } from '../helpers/process.ts';

type Json = Record<string, any>;

async function validate(doc: unknown): Promise<{ valid: boolean; errors: unknown; version: string }> {
  const validator = new Validator();
  const res = await validator.validate(doc as Parameters<Validator['validate']>[0]);
  return { valid: res.valid, errors: res.errors, version: validator.version };
}

/** Every sample line of a Prometheus text exposition: name{labels} value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    // prom-client writes NaN as `Nan` (Prometheus parses either): the event-loop lag mean is one
    // when two scrapes fall in one sampling window.
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?) (-?[0-9.e+-]+|NaN|Nan|\+Inf|-Inf)$/.exec(line);
    assert.ok(m, `not an exposition line: ${line}`);
    out.set(m[1] as string, Number(m[2]));
  }
  return out;
}

describe('OpenAPI documents and Prometheus metrics of both nodes', { timeout: 120_000 }, () => {
  let nodes: Nodes;
  let program = '';

  before(async () => {
    ensureConsoleBuilt();
    nodes = await startNodes();
    program = await nodes.publishProgram(ECHO_PROGRAM);
    const res = await fetch(`${nodes.crn.url}/vm/${program}/`);
    await res.body?.cancel();
  });
  after(async () => {
    await nodes?.close();
  });

  it('the CCN serves a valid OpenAPI 3.1 document of every route it registered, with the zod schemas', async () => {
    const res = await fetch(`${nodes.ccn.url}/openapi.json`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as Json;
    const result = await validate(doc);
    assert.equal(result.valid, true, String(JSON.stringify(result.errors)).slice(0, 2000));
    assert.equal(result.version, '3.1');
    for (const path of ['/api/v0/messages', '/api/v0/messages.json', '/api/v0/messages/{hash}', '/api/v0/nodes', '/api/v0/allocations', '/api/ws0/messages', '/metrics', '/openapi.json', '/console/{path}']) {
      assert.ok(doc.paths[path], `missing ${path}`);
    }
    // The submission body is the envelope schema the processor validates with.
    const body = doc.paths['/api/v0/messages'].post.requestBody.content['application/json'].schema;
    assert.deepEqual(body.properties.message.properties.chain.enum, [...CHAINS]);
    assert.deepEqual(body.required, ['message']);
    const probes = doc.paths['/api/v0/allocations/probes'].get.parameters.map((p: Json) => p.name);
    assert.deepEqual(probes.sort(), ['from', 'limit', 'node_hash', 'to']);
    assert.ok(doc.components.schemas.Error.properties.error.properties.code.enum.includes('INVALID_MESSAGE'));
  });

  it('the CRN serves a valid OpenAPI 3.1 document, its allocation body the protocol schema', async () => {
    const doc = (await (await fetch(`${nodes.crn.url}/openapi.json`)).json()) as Json;
    const result = await validate(doc);
    assert.equal(result.valid, true, String(JSON.stringify(result.errors)).slice(0, 2000));
    assert.equal(result.version, '3.1');
    for (const path of ['/about/usage/system', '/v2/about/executions/list', '/control/allocations', '/control/machine/{ref}/logs', '/vm/{ref}/{path}', '/status/config', '/console/api/usage']) {
      assert.ok(doc.paths[path], `missing ${path}`);
    }
    const schema = doc.paths['/control/allocations'].post.requestBody.content['application/json'].schema;
    const expected = z.toJSONSchema(AllocationRequestSchema, { io: 'input', unrepresentable: 'any' }) as Json;
    delete expected.$schema;
    assert.deepEqual(schema, expected);
  });

  it('the validator refuses a broken document (the check can fail)', async () => {
    const doc = (await (await fetch(`${nodes.ccn.url}/openapi.json`)).json()) as Json;
    delete doc.info;
    doc.paths['/api/v0/nodes'].get.responses = 'none';
    assert.equal((await validate(doc)).valid, false);
  });

  it('the CCN exposes its documented series', async () => {
    const res = await fetch(`${nodes.ccn.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const s = samples(await res.text());
    assert.ok((s.get('ccn_messages{status="processed"}') ?? 0) >= 2, 'processed messages counted');
    assert.equal(s.get(`pyaleph_build_info{version="${(await (await fetch(`${nodes.ccn.url}/api/v0/version`)).json() as Json).version}"}`), 1);
    assert.ok((s.get('ccn_http_requests_total{method="GET",route="/openapi.json",status_code="200"}') ?? 0) >= 2);
    assert.ok(s.has('ccn_http_request_duration_seconds_count{method="GET",route="/openapi.json"}'));
    assert.ok(s.has('ccn_files_pinned'));
    assert.ok(s.has('process_resident_memory_bytes'));
    // A URL never seen as a route is counted under its pattern, not its text.
    await (await fetch(`${nodes.ccn.url}/api/v0/messages/${'ab'.repeat(32)}`)).body?.cancel();
    const after = samples(await (await fetch(`${nodes.ccn.url}/metrics`)).text());
    assert.ok([...after.keys()].some((k) => k.startsWith('ccn_http_requests_total{method="GET",route="/api/v0/messages/:hash"')));
    assert.ok(![...after.keys()].some((k) => k.includes('abab')));
  });

  it('the CRN exposes its documented series', async () => {
    const s = samples(await (await fetch(`${nodes.crn.url}/metrics`)).text());
    assert.equal(s.get('crn_capacity_vcpus'), 32);
    assert.ok((s.get('crn_capacity_memory_bytes') ?? 0) > 0);
    assert.ok((s.get('crn_disk_free_bytes') ?? 0) > 0);
    assert.ok((s.get('crn_program_requests_total{outcome="ok"}') ?? 0) >= 1);
    assert.ok((s.get('crn_committed_memory_bytes') ?? 0) >= 128 * 1048576, 'the echo program holds 128 MiB');
    assert.ok([...s.keys()].some((k) => k.startsWith('crn_build_info{')));
    assert.ok([...s.keys()].some((k) => k.startsWith('crn_http_requests_total{method="GET",route="/vm/:ref/*"')));
    assert.ok(s.has('nodejs_eventloop_lag_seconds'));
  });

  it('the Grafana dashboard and the READMEs name only series the nodes expose, and the READMEs every one', async () => {
    const names = new Set<string>();
    for (const url of [nodes.ccn.url, nodes.crn.url]) {
      for (const line of (await (await fetch(`${url}/metrics`)).text()).split('\n')) {
        const m = /^# TYPE (\S+) /.exec(line);
        if (m) names.add(m[1] as string);
      }
    }
    const ours = (text: string): string[] => [...new Set(text.match(/\b(?:ccn|crn)_[a-z0-9_]+/g) ?? [])].map((n) => n.replace(/_(bucket|count|sum)$/, ''));
    const dashboard = readFileSync(join(REPO_ROOT, 'deploy/grafana/aleph-nodes.json'), 'utf8');
    for (const n of ours(dashboard)) assert.ok(names.has(n), `the dashboard uses ${n}, which no node exposes`);
    const readmes = ['packages/ccn/README.md', 'packages/crn/README.md'].map((p) => readFileSync(join(REPO_ROOT, p), 'utf8')).join('\n');
    for (const n of names) if (/^(ccn|crn)_/.test(n)) assert.ok(readmes.includes(`\`${n}\``), `${n} is not documented`);
  });

  it("a program's own host keeps /openapi.json and /console/ (host routing), the node's host serves them", async () => {
    const url = new URL(nodes.crn.url);
    const domain = (await (await fetch(`${nodes.crn.url}/status/config`)).json() as Json).DOMAIN_NAME as string;
    const host = programHostname(program, domain);
    for (const path of ['/openapi.json', '/console/']) {
      const own = await fetch(`${nodes.crn.url}${path}`);
      assert.equal(own.status, 200, path);
      await own.body?.cancel();
      // Through the program's host name: the echo program answers (it echoes the path), not the node.
      const res = await request(`http://${url.host}${path}`, { headers: { host } });
      assert.equal(res.statusCode, 200, path);
      assert.deepEqual({ path: ((await res.body.json()) as Json).path }, { path }, `${path} on the program host`);
    }
  });

  it("the console's log route is the operator's: no cookie 401, a program host 404, never CORS; with the login cookie, the lines", async () => {
    const path = `/about/executions/logs?ref=${program}`;
    const anonymous = await request(`${nodes.crn.url}${path}`, { headers: { origin: 'http://evil.example' } });
    assert.equal(anonymous.statusCode, 401);
    assert.equal(((await anonymous.body.json()) as Json).error.code, 'LOGIN_REQUIRED');
    assert.equal(anonymous.headers['access-control-allow-origin'], undefined);
    const token = readFileSync(join(nodes.crnDataDir, 'login.token'), 'utf8');
    const cookie = `token=${token}`;
    const domain = (await (await fetch(`${nodes.crn.url}/status/config`)).json() as Json).DOMAIN_NAME as string;
    // A program's page (its own host, same site) that got the cookie sent still gets nothing.
    const viaProgramHost = await request(`${nodes.crn.url}${path}`, { headers: { host: programHostname(program, domain), cookie, origin: `https://${programHostname(program, domain)}` } });
    assert.notEqual(viaProgramHost.statusCode, 200);
    assert.ok(!(await viaProgramHost.body.text()).includes('echo program starting'));
    assert.equal(viaProgramHost.headers['access-control-allow-origin'], undefined);
    const bad = await request(`${nodes.crn.url}/about/executions/logs?ref=../../etc`, { headers: { cookie } });
    assert.equal(bad.statusCode, 400);
    await bad.body.dump();
    const ok = await request(`${nodes.crn.url}${path}`, { headers: { cookie, origin: 'http://evil.example' } });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.headers['access-control-allow-origin'], undefined);
    const lines = ((await ok.body.json()) as Json).lines as { text: string }[];
    assert.ok(lines.some((l) => l.text.includes('echo program starting')), JSON.stringify(lines).slice(0, 500));
  });

  it('the console answers only its own files, with a CSP', async () => {
    const page = await fetch(`${nodes.ccn.url}/console/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Core Channel Node/);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    for (const path of ['/console/assets/../../package.json', '/console/assets/%2e%2e/%2e%2e/package.json', '/console/..%2fpackage.json', '/console/assets/nope.js', '/console/crn.html/']) {
      const res = await fetch(`${nodes.ccn.url}${path}`);
      assert.equal(res.status, 404, path);
      const body = (await res.json()) as Json;
      assert.equal(body.error.code, 'NOT_FOUND');
    }
  });
});
