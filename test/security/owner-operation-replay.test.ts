/**
 * Attack (owner operations): a signed owner operation (X-SignedOperation) was accepted
 * as often as it was presented within its ±120 s window, so whoever saw one request (a log, a
 * proxy, a shared terminal) could stop the owner's VM again right after the owner restarted it.
 * Against a real CCN and CRN: a stop replayed verbatim is refused with 401 and the program keeps
 * running, also after the CRN restarts (the used operations are on disk), and the websocket
 * auth frame of `stream_logs` is single-use too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { EthAccount, OwnerSession } from '@aleph-nodes/protocol';
import { startCrn, type CrnConfig, type RunningCrn } from '@aleph-nodes/crn';
import { silentLogger } from '@aleph-nodes/service';
import { ECHO_PROGRAM, OWNER_KEY, startNodes, type Nodes } from '../crn/helpers/nodes.ts';
import { eventually } from '../helpers/eventually.ts';

const DOMAIN = '127.0.0.1';

async function running(url: string, ref: string): Promise<boolean> {
  const list = (await (await fetch(`${url}/about/executions/list`)).json()) as Record<string, unknown>;
  return ref in list;
}

/** The first frame the node sends after the auth frame. */
function streamLogsAnswer(url: string, ref: string, frame: unknown): Promise<{ status?: string; reason?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/control/machine/${ref}/stream_logs`);
    ws.once('open', () => ws.send(JSON.stringify(frame)));
    ws.once('message', (data) => {
      resolve(JSON.parse(String(data)) as { status?: string; reason?: string });
      ws.close();
    });
    ws.once('error', reject);
  });
}

describe('owner operations are single-use', { timeout: 120_000 }, () => {
  let nodes: Nodes;
  let program = '';
  let restarted: RunningCrn | undefined;
  const session = new OwnerSession(EthAccount.fromPrivateKey(OWNER_KEY), DOMAIN);
  const headers = (method: string, path: string): Record<string, string> => ({
    'X-SignedPubKey': session.signedPubKey,
    'X-SignedOperation': session.signOperation({ method, path, domain: DOMAIN }),
  });

  before(async () => {
    nodes = await startNodes();
    program = await nodes.publishProgram(ECHO_PROGRAM);
  });
  after(async () => {
    await restarted?.close({ stopPersistent: true });
    await nodes?.close();
  });

  it('a stop replayed verbatim is refused (401) and the program keeps running, also after a CRN restart', async () => {
    const url = nodes.crn.url;
    assert.equal((await fetch(`${url}/vm/${program}/`)).status, 200);
    const stopPath = `/control/machine/${program}/stop`;
    const stop = headers('POST', stopPath);
    const first = await fetch(`${url}${stopPath}`, { method: 'POST', headers: stop });
    assert.equal(first.status, 200, await first.text());
    await eventually('the program to stop', 20_000, async () => !(await running(url, program)));

    // The owner starts it again, with a new operation.
    const start = await fetch(`${url}/control/machine/${program}/start`, { method: 'POST', headers: headers('POST', `/control/machine/${program}/start`) });
    assert.equal(start.status, 200, await start.text());
    assert.equal((await fetch(`${url}/vm/${program}/`)).status, 200);

    // Whoever saw the stop request replays it.
    const replay = await fetch(`${url}${stopPath}`, { method: 'POST', headers: stop });
    const body = await replay.text();
    assert.equal(replay.status, 401, body);
    assert.match(body, /already used/);
    assert.equal(await running(url, program), true, 'the replay did not stop the program');

    // After a restart of the CRN (same data dir), the operation is still spent.
    await nodes.crn.close();
    restarted = await startCrn({ executor: 'process', dataDir: nodes.crnDataDir, ccn: nodes.ccn.url, port: 0, logLevel: 'silent', capacityVcpus: 32, enforcePayments: false } as CrnConfig, { logger: silentLogger() });
    const afterRestart = await fetch(`${restarted.url}${stopPath}`, { method: 'POST', headers: stop });
    assert.equal(afterRestart.status, 401, await afterRestart.text());
    // A new operation of the owner still works.
    const fresh = await fetch(`${restarted.url}${stopPath}`, { method: 'POST', headers: headers('POST', stopPath) });
    assert.equal(fresh.status, 200, await fresh.text());
  });

  it('the stream_logs auth frame works once; the same frame again gets the failed frame', async () => {
    const url = (restarted as RunningCrn).url;
    const path = `/control/machine/${program}/stream_logs`;
    const startPath = `/control/machine/${program}/start`;
    assert.equal((await fetch(`${url}${startPath}`, { method: 'POST', headers: headers('POST', startPath) })).status, 200);
    const signed = headers('GET', path);
    const frame = { auth: { 'X-SignedPubKey': JSON.parse(signed['X-SignedPubKey'] as string) as unknown, 'X-SignedOperation': JSON.parse(signed['X-SignedOperation'] as string) as unknown } };
    assert.deepEqual(await streamLogsAnswer(url, program, frame), { status: 'connected' });
    const replayed = await streamLogsAnswer(url, program, frame);
    assert.equal(replayed.status, 'failed');
    assert.match(replayed.reason ?? '', /already used/);
  });
});
