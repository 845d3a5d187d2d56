/**
 * The CRN supervisor against a real CCN, with the process executor: request routing and its
 * errors, idle stops, crashes and their logs, owner operations, signed allocations, FORGET,
 * metrics. The supervisor's decisions alone (start once, admission, caps, restarts, re-adoption)
 * are unit-tested without root in packages/crn/src/execution/supervisor.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import WebSocket from 'ws';
import { ProcessExecutor } from '@aleph-nodes/vmm';
import { buildInlineMessage, EthAccount, OwnerSession, signAllocationRequest } from '@aleph-nodes/protocol';
import { CRASHING_PROGRAM, ECHO_PROGRAM, TRIGGERED_PROGRAM, OTHER_KEY, OWNER_KEY, startNodes, type Nodes } from './helpers/nodes.ts';
import { eventually } from '../helpers/eventually.ts';

const scheduler = EthAccount.generate();

interface ErrorBody {
  error: { code: string; message: string };
}

async function listed(nodes: Nodes, hash: string): Promise<boolean> {
  const list = (await (await fetch(`${nodes.crn.url}/about/executions/list`)).json()) as Record<string, unknown>;
  return hash in list;
}

function ownerHeaders(key: string, method: string, path: string): Record<string, string> {
  const session = new OwnerSession(EthAccount.fromPrivateKey(key), '127.0.0.1');
  return { 'X-SignedPubKey': session.signedPubKey, 'X-SignedOperation': session.signOperation({ method, path, domain: '127.0.0.1' }) };
}

let pushes = 0;
async function allocate(nodes: Nodes, persistent: string[], signer = scheduler): Promise<Response> {
  const body = JSON.stringify({ persistent_vms: persistent, instances: [] });
  // Identical pushes within one second would be replays (refused): vary the signed time.
  const iat = Math.floor(Date.now() / 1000) + pushes++;
  return fetch(`${nodes.crn.url}/control/allocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: signAllocationRequest(signer, { method: 'POST', path: '/control/allocations', body, iat, target: { nodeHash: null, url: nodes.crn.url } }) },
    body,
  });
}

describe('CRN supervisor', () => {
  let nodes: Nodes;
  let echo: string;

  before(async () => {
    nodes = await startNodes({ idleTimeoutSeconds: 2, capacityMemoryMib: 1536, reservedMemoryMib: 0, authorizedAllocationSigners: [scheduler.address] });
    echo = await nodes.publishProgram(ECHO_PROGRAM, { variables: { FOO: 'bar' } });
  });
  after(async () => {
    await nodes?.close();
  });

  it('answers the monitor and scheduler probes', async () => {
    const usage = await fetch(`${nodes.crn.url}/about/usage/system`);
    assert.equal(usage.status, 200);
    assert.match(usage.headers.get('server') ?? '', /^aleph-vm\//);
    const body = (await usage.json()) as { cpu: { count: number }; mem: { available_kB: number }; active: boolean };
    assert.ok(body.cpu.count > 0);
    assert.equal(body.active, true);
    const login = await fetch(`${nodes.crn.url}/about/login`);
    assert.equal(login.status, 401);
    assert.match(login.headers.get('server') ?? '', /^aleph-vm\//);
    const config = (await (await fetch(`${nodes.crn.url}/status/config`)).json()) as { DOMAIN_NAME: string };
    assert.equal(config.DOMAIN_NAME, '127.0.0.1');
    const unknown = await fetch(`${nodes.crn.url}/about/nothing-here`);
    assert.equal(unknown.status, 404);
    assert.match(unknown.headers.get('server') ?? '', /^aleph-vm\//);
    const version = await fetch(`${nodes.crn.url}/status/check/version?reference=1.0.0`);
    assert.equal(version.status, 200);
  });

  it('refuses bad references with the right codes', async () => {
    const invalid = await fetch(`${nodes.crn.url}/vm/not-a-hash/`);
    assert.equal(invalid.status, 400);
    assert.equal(((await invalid.json()) as ErrorBody).error.code, 'INVALID_REF');
    const unknown = await fetch(`${nodes.crn.url}/vm/${'ab'.repeat(32)}/`);
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as ErrorBody).error.code, 'UNKNOWN_REF');
    const post = await nodes.client.createPost({ postType: 'note', content: { x: 1 }, channel: 'TEST', sync: true });
    const notProgram = await fetch(`${nodes.crn.url}/vm/${post.item_hash}/`);
    assert.equal(notProgram.status, 400);
    assert.equal(((await notProgram.json()) as ErrorBody).error.code, 'NOT_EXECUTABLE');
  });

  it('streams request bodies and refuses those over 1 MiB with 413', async () => {
    const ok = await fetch(`${nodes.crn.url}/vm/${echo}/upload`, { method: 'POST', body: new Uint8Array(512 * 1024) });
    assert.equal(((await ok.json()) as { bodyLength: number }).bodyLength, 512 * 1024);
    const tooLarge = await fetch(`${nodes.crn.url}/vm/${echo}/upload`, { method: 'POST', body: new Uint8Array(2 * 1024 * 1024) });
    assert.equal(tooLarge.status, 413);
    // Without Content-Length (chunked), the limit is enforced while the body streams.
    const chunks = Array.from({ length: 40 }, () => new Uint8Array(64 * 1024));
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.pop();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
    const chunked = await fetch(`${nodes.crn.url}/vm/${echo}/upload`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    assert.equal(chunked.status, 413);
  });

  it('stops an on-demand program after its idle timeout and starts it again on the next request', async () => {
    const res = await fetch(`${nodes.crn.url}/vm/${echo}/warm`);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    await eventually('idle stop', 20_000, async () => !(await listed(nodes, echo)));
    // The execution leaves the list when it starts stopping; its record says `stopped` once done.
    type ExecutionRecord = { vm_hash: string; state: string; memory_peak_mib: number | null };
    const recordOf = async (): Promise<ExecutionRecord | undefined> =>
      ((await (await fetch(`${nodes.crn.url}/about/executions/records`)).json()) as ExecutionRecord[]).find((r) => r.vm_hash === echo);
    await eventually('the record to say stopped', 20_000, async () => (await recordOf())?.state === 'stopped');
    const record = await recordOf();
    assert.equal(record?.state, 'stopped');
    assert.ok((record?.memory_peak_mib ?? 0) > 0, 'the measured memory use is recorded');
    const again = await fetch(`${nodes.crn.url}/vm/${echo}/again`);
    assert.equal(again.status, 200);
    await again.arrayBuffer();
  });

  it('answers 504 when the program does not respond within resources.seconds', async () => {
    // The SDK always asks for 30 s: publish a copy of a program with a 1 s budget by hand.
    const slow = await nodes.publishProgram(ECHO_PROGRAM.replace("if (req.url === '/crash')", "if (req.url === '/slow') return; if (req.url === '/crash')"));
    const original = (await nodes.client.getMessage(slow)).content as unknown as Record<string, unknown>;
    const { address: _address, time: _time, ...content } = original;
    const message = buildInlineMessage(EthAccount.fromPrivateKey(OWNER_KEY), 'PROGRAM', { ...content, resources: { ...(content.resources as object), seconds: 1 } }, { channel: 'TEST' });
    const posted = await fetch(`${nodes.ccn.url}/api/v0/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sync: true, message }) });
    assert.equal(posted.status, 200, await posted.clone().text());
    const res = await fetch(`${nodes.crn.url}/vm/${message.item_hash}/slow`);
    assert.equal(res.status, 504);
    assert.equal(((await res.json()) as ErrorBody).error.code, 'PROGRAM_TIMEOUT');
    const fine = await fetch(`${nodes.crn.url}/vm/${message.item_hash}/quick`);
    assert.equal(fine.status, 200);
    await fine.arrayBuffer();
  });

  it('reports a program that crashes on start with 502, its logs readable by the owner only', async () => {
    const crashing = await nodes.publishProgram(CRASHING_PROGRAM);
    const res = await fetch(`${nodes.crn.url}/vm/${crashing}/`);
    assert.equal(res.status, 502);
    assert.equal(((await res.json()) as ErrorBody).error.code, 'PROGRAM_START_FAILED');
    const path = `/control/machine/${crashing}/logs`;
    const logs = await fetch(`${nodes.crn.url}${path}`, { headers: ownerHeaders(OWNER_KEY, 'GET', path) });
    assert.equal(logs.status, 200);
    const lines = (await logs.json()) as { MESSAGE: string; file: string }[];
    assert.ok(lines.some((l) => l.file === 'stderr' && l.MESSAGE.includes('fatal: missing configuration')));
    const stranger = await fetch(`${nodes.crn.url}${path}`, { headers: ownerHeaders(OTHER_KEY, 'GET', path) });
    assert.equal(stranger.status, 403);
    const forged = ownerHeaders(OWNER_KEY, 'GET', path);
    forged['X-SignedOperation'] = ownerHeaders(OWNER_KEY, 'GET', '/control/machine/other/logs')['X-SignedOperation'] as string;
    const wrongPath = await fetch(`${nodes.crn.url}${path}`, { headers: forged });
    assert.equal(wrongPath.status, 401);
    const none = await fetch(`${nodes.crn.url}${path}`);
    assert.equal(none.status, 401);
  });

  it('runs persistent programs from signed allocations, restarts them after a crash, and keeps owner stops', async () => {
    const persistent = await nodes.publishProgram(ECHO_PROGRAM, { persistent: true, variables: { FOO: 'persistent' } });
    const forged = await allocate(nodes, [persistent], EthAccount.generate());
    assert.equal(forged.status, 401);
    const res = await allocate(nodes, [persistent]);
    assert.equal(res.status, 200, await res.clone().text());
    const result = (await res.json()) as { successful: string[] };
    assert.deepEqual(result.successful, [persistent]);
    const v2 = (await (await fetch(`${nodes.crn.url}/v2/about/executions/list`)).json()) as Record<string, { vm_type: string; running: boolean }>;
    assert.equal(v2[persistent]?.vm_type, 'persistent_program');
    const first = (await (await fetch(`${nodes.crn.url}/vm/${persistent}/`)).json()) as { boot: string; foo: string };
    assert.equal(first.foo, 'persistent');

    // A crash: the supervisor restarts it by itself.
    await fetch(`${nodes.crn.url}/vm/${persistent}/crash`).catch(() => undefined);
    await eventually('restart after crash', 20_000, async () => {
      const r = await fetch(`${nodes.crn.url}/vm/${persistent}/`);
      if (r.status !== 200) {
        await r.arrayBuffer();
        return false;
      }
      return ((await r.json()) as { boot: string }).boot !== first.boot;
    });

    // Owner stop is final: requests and allocation pushes do not revive it.
    const stopPath = `/control/machine/${persistent}/stop`;
    const stop = await fetch(`${nodes.crn.url}${stopPath}`, { method: 'POST', headers: ownerHeaders(OWNER_KEY, 'POST', stopPath) });
    assert.equal(stop.status, 200, await stop.clone().text());
    assert.match(await stop.text(), /Stopped VM/);
    const blocked = await fetch(`${nodes.crn.url}/vm/${persistent}/`);
    assert.equal(blocked.status, 503);
    assert.equal(((await blocked.json()) as ErrorBody).error.code, 'OWNER_STOPPED');
    const repush = await allocate(nodes, [persistent]);
    assert.equal(repush.status, 200);
    await repush.arrayBuffer();
    assert.equal(await listed(nodes, persistent), false);

    const startPath = `/control/machine/${persistent}/start`;
    const start = await fetch(`${nodes.crn.url}${startPath}`, { method: 'POST', headers: ownerHeaders(OWNER_KEY, 'POST', startPath) });
    assert.equal(start.status, 200, await start.clone().text());
    await start.arrayBuffer();
    assert.equal(await listed(nodes, persistent), true);

    // Deallocation stops it.
    const before = await (await fetch(`${nodes.crn.url}/v2/about/executions/list`)).text();
    const empty = await allocate(nodes, []);
    assert.equal(empty.status, 200, before);
    assert.deepEqual(((await empty.json()) as { stopped: string[] }).stopped, [persistent]);
    assert.equal(await listed(nodes, persistent), false);
  });

  it('streams live logs to the owner over a websocket after an auth frame', async () => {
    const res = await fetch(`${nodes.crn.url}/vm/${echo}/for-logs`);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    const path = `/control/machine/${echo}/stream_logs`;
    const headers = ownerHeaders(OWNER_KEY, 'GET', path);
    const socket = new WebSocket(`${nodes.crn.url.replace('http', 'ws')}${path}`);
    const frames: { status?: string; type?: string; message?: string }[] = [];
    const done = new Promise<void>((resolve, reject) => {
      socket.on('message', (data) => {
        frames.push(JSON.parse(String(data)) as (typeof frames)[number]);
        if (frames.some((f) => f.message?.includes('echo program starting'))) resolve();
      });
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
    socket.on('open', () => {
      socket.send(JSON.stringify({ auth: { 'X-SignedPubKey': JSON.parse(headers['X-SignedPubKey'] as string), 'X-SignedOperation': JSON.parse(headers['X-SignedOperation'] as string) } }));
    });
    await done;
    socket.close();
    assert.equal(frames[0]?.status, 'connected');
    assert.ok(frames.some((f) => f.type === 'stdout' && f.message?.includes('echo program starting')));

    const stranger = new WebSocket(`${nodes.crn.url.replace('http', 'ws')}${path}`);
    const refused = new Promise<string | undefined>((resolve) => {
      stranger.on('message', (data) => resolve((JSON.parse(String(data)) as { status?: string }).status));
      stranger.on('close', () => resolve(undefined));
    });
    const other = ownerHeaders(OTHER_KEY, 'GET', path);
    stranger.on('open', () => stranger.send(JSON.stringify({ auth: { 'X-SignedPubKey': JSON.parse(other['X-SignedPubKey'] as string), 'X-SignedOperation': JSON.parse(other['X-SignedOperation'] as string) } })));
    assert.equal(await refused, 'failed');
    stranger.close();
  });

  it('stops an execution whose message is forgotten', async () => {
    const doomed = await nodes.publishProgram(ECHO_PROGRAM);
    const res = await fetch(`${nodes.crn.url}/vm/${doomed}/`);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    assert.equal(await listed(nodes, doomed), true);
    await nodes.client.forget({ hashes: [doomed], channel: 'TEST', sync: true });
    await eventually('stop after FORGET', 20_000, async () => !(await listed(nodes, doomed)));
  });

  it('runs programs whose on.message subscription matches a new message', async () => {
    const subscriber = await nodes.publishProgram(TRIGGERED_PROGRAM, { subscriptions: [{ type: 'POST', content: { type: 'crn-trigger-test' } }] });
    // The CRN learns subscriptions from the websocket or when it loads the program: load it now.
    const first = (await (await fetch(`${nodes.crn.url}/vm/${subscriber}/events`)).json()) as { events: string[] };
    assert.deepEqual(first.events, [], JSON.stringify(first));
    const unrelated = await nodes.client.createPost({ postType: 'something-else', content: {}, channel: 'TEST', sync: true });
    const trigger = await nodes.client.createPost({ postType: 'crn-trigger-test', content: { n: 1 }, channel: 'TEST', sync: true });
    let events: string[] = [];
    await eventually('trigger delivery', 20_000, async () => {
      const res = await fetch(`${nodes.crn.url}/vm/${subscriber}/events`);
      events = ((await res.json()) as { events: string[] }).events;
      return events.includes(trigger.item_hash);
    });
    assert.equal(events.includes(unrelated.item_hash), false);
  });

  it('exposes Prometheus metrics', async () => {
    const res = await fetch(`${nodes.crn.url}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /crn_program_requests_total\{outcome="ok"\} [1-9]/);
    assert.match(text, /crn_committed_resources\{resource="vcpus"\}/);
  });

  it('leaves no namespace, cgroup or subnet lease behind once closed', async () => {
    const stateDir = join(nodes.crnDataDir, 'executions');
    await nodes.crn.close({ stopPersistent: true });
    const probe = new ProcessExecutor({ stateDir });
    assert.deepEqual(probe.hostResources(), { netns: [], cgroups: [], leases: [] });
    await probe.close();
  });
});
