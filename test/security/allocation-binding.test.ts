/**
 * Attack: allocation pushes were not bound to their target. The signed payload was
 * `{method, path, body_sha256, iat}`, so a CRN that received a push from its CCN could replay it
 * to its siblings (the same CCN key is authorized on each) and replace their sets, and the
 * replay cache lived in memory, so a restarted CRN took a push again.
 *
 * End to end: a real CCN (in this process) and three real CRN processes (`process` executor),
 * registered and linked; two CRNs know their node hash, one does not (it checks the signed URL's
 * host instead). Each CRN is registered behind a small recording proxy that keeps the pushes the
 * CCN sends it. A captured push is replayed to the other two CRNs (401, their sets unchanged), to
 * its own CRN (401), to its own CRN after that CRN restarts (401), and a push signed with an
 * older `iat` is refused (401); the CCN's own pushes keep being delivered throughout.
 */
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildInlineMessage, EthAccount } from '@aleph-nodes/protocol';
import { loadOrCreateKeyFile, silentLogger } from '@aleph-nodes/service';
import { ccnConfig, startCcn, type CcnNode } from '@aleph-nodes/ccn';
import { createCoreNode, createResourceNode, linkResourceNode, publishMessage, publishRuntime, buildSampleZip, storeFile } from '@aleph-nodes/cli';
import { PushError, pushAllocations } from '../../packages/ccn/src/scheduler/crn-client.ts';
import { startNodeProcess, type NodeProcess, type NodeSettings } from '../kit/node-process.ts';
import { eventually as waitFor, getJson as json } from '../helpers/eventually.ts';
import { freePort } from '../helpers/net.ts';

const TAG = 'allocation-binding-test';
const CHANNEL = 'ALLOCATION-BINDING-TEST';

interface Captured {
  authorization: string;
  body: Buffer;
  iat: number;
  at: number;
}

interface CrnProc {
  index: number;
  host: string;
  /** The CRN itself. */
  url: string;
  /** Its registered address: the recording proxy in front of it. */
  proxyUrl: string;
  proxy: Server | undefined;
  settings: NodeSettings;
  dir: string;
  hash: string;
  captured: Captured[];
  proc: NodeProcess | undefined;
}

interface AllocationsView {
  allocations: { item_hash: string; crn: string | null; push_status: string | null }[];
  crns: { hash: string; health: string; push: { delivered: boolean; last_delivered_at: number | null } | null }[];
}

/** Forwards everything to the CRN and keeps a copy of each allocation push. */
function recordingProxy(crn: CrnProc, targetPort: number): Server {
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.method === 'POST' && req.url === '/control/allocations' && req.headers.authorization) {
        const payload = JSON.parse(Buffer.from(req.headers.authorization.split('payload=')[1] ?? '', 'hex').toString('utf8')) as { iat: number };
        crn.captured.push({ authorization: req.headers.authorization, body, iat: payload.iat, at: Date.now() });
      }
      const upstream = httpRequest({ host: crn.host, port: targetPort, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      upstream.end(body);
    });
  });
}

/** Replays a captured push verbatim to `url`. */
async function replay(url: string, push: Captured): Promise<{ status: number; text: string }> {
  const res = await fetch(`${url}/control/allocations`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: push.authorization }, body: push.body });
  return { status: res.status, text: await res.text() };
}

async function runningOn(crn: CrnProc): Promise<string[]> {
  return Object.keys(await json<Record<string, unknown>>(`${crn.url}/about/executions/list`)).sort();
}

describe('allocation pushes are bound to their CRN and cannot be replayed', { timeout: 300_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'allocation-binding-'));
  const ccnKeyFile = join(root, 'ccn.key');
  const ccnAccount = loadOrCreateKeyFile(ccnKeyFile).account;
  const user = EthAccount.generate();
  let ccn: CcnNode;
  const crns: CrnProc[] = [];
  let program = '';
  const allocations = (): Promise<AllocationsView> => json<AllocationsView>(`${ccn.url}/api/v0/allocations`);
  const eventually = <T>(what: string, ms: number, check: () => Promise<T | undefined | false>): Promise<T> => waitFor(what, ms, check, allocations);

  async function startCrnProcess(crn: CrnProc): Promise<void> {
    crn.proc = await startNodeProcess('crn', crn.settings, { dataDir: crn.dir });
  }

  before(async () => {
    ccn = await startCcn(
      ccnConfig({
        dataDir: join(root, 'ccn'),
        paymentChecks: false, // the test's users hold no tokens; payments are tested in test/payments
        keyFile: ccnKeyFile,
        port: 0,
        p2pPort: 0,
        logLevel: 'silent',
        registryTag: TAG,
        ccnOwnerMinBalance: 0,
        stakerMinBalance: 0,
        ccnActivationStake: 0,
        schedulerIntervalSeconds: 2,
        allocationRetryBaseMs: 200,
        allocationRetryMaxMs: 2000,
        monitorIntervalSeconds: 1,
        monitorProbeTimeoutSeconds: 2,
        monitorFailuresBeforeDown: 3,
      }),
      { logger: silentLogger() },
    );
    await createCoreNode(ccn.url, ccnAccount, TAG, { name: 'binding-ccn', multiaddress: '' });
    for (let i = 0; i < 3; i++) {
      // One loopback address per CRN (the registry gives one CRN per host); the proxy listens on
      // the same address, so the registered URL's host is the CRN's domain.
      const host = `127.0.0.${i + 12}`;
      const port = await freePort(host);
      const proxyPort = await freePort(host);
      const crn: CrnProc = { index: i, host, url: `http://${host}:${port}`, proxyUrl: `http://${host}:${proxyPort}`, proxy: undefined, settings: {}, dir: join(root, `crn-${i}`), hash: '', captured: [], proc: undefined };
      crn.proxy = recordingProxy(crn, port);
      await new Promise<void>((r) => crn.proxy?.listen(proxyPort, host, r));
      crn.hash = await createResourceNode(ccn.url, EthAccount.generate(), TAG, { name: `binding-crn-${i}`, address: crn.proxyUrl });
      mkdirSync(crn.dir, { recursive: true });
      // CRNs 0 and 1 know their node hash; CRN 2 does not (it checks the signed URL's host).
      crn.settings = { host, port, domain: host, executor: 'process', ccn: ccn.url, authorizedAllocationSigners: [ccn.address], ...(i < 2 ? { nodeHash: crn.hash } : {}) };
      crns.push(crn);
      await startCrnProcess(crn);
      await linkResourceNode(ccn.url, ccnAccount, TAG, crn.hash);
    }
  });

  after(async () => {
    try {
      await ccn?.close();
      for (const crn of crns) {
        try {
          if (!crn.proc?.running) await startCrnProcess(crn);
          // Signed as the CCN would, later than any push it sent (the CRN refuses older iats).
          await pushAllocations(ccnAccount, crn.url, { persistent_vms: [], instances: [] }, 60_000, { crnHash: crn.hash, iat: Math.floor(Date.now() / 1000) + 5 }).catch(() => undefined);
          await eventually('the CRN to stop its workloads', 30_000, async () => (await runningOn(crn)).length === 0).catch(() => undefined);
        } finally {
          await crn.proc?.stop();
          await new Promise((r) => crn.proxy?.close(r));
        }
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('the CCN places a persistent program and pushes every CRN its set through the recording proxies', async () => {
    await eventually('three healthy CRNs', 60_000, async () => {
      const v = await allocations();
      return v.crns.length === 3 && v.crns.every((c) => c.health === 'healthy');
    });
    const runtime = await publishRuntime(ccn.url, user, 'process', CHANNEL, silentLogger());
    const code = await storeFile(ccn.url, user, await buildSampleZip(), CHANNEL);
    const message = buildInlineMessage(
      user,
      'PROGRAM',
      {
        type: 'vm-function',
        allow_amend: false,
        metadata: { name: 'allocation-binding' },
        on: { http: true, persistent: true },
        environment: { reproducible: false, internet: false, aleph_api: false, shared_cache: false },
        resources: { vcpus: 1, memory: 128, seconds: 30 },
        runtime: { ref: runtime, use_latest: true, comment: 'host Node.js (process executor)' },
        volumes: [],
        variables: { GREETING: 'bound' },
        code: { encoding: 'zip', entrypoint: 'main.mjs', ref: code, use_latest: false },
      },
      { channel: CHANNEL },
    );
    await publishMessage(ccn.url, message);
    program = message.item_hash;
    const row = await eventually('the program to be placed and pushed', 60_000, async () => {
      const r = (await allocations()).allocations.find((a) => a.item_hash === program);
      return r?.crn && r.push_status === 'ok' ? r : undefined;
    });
    const host = crns.find((c) => c.hash === row.crn) as CrnProc;
    await eventually('the program to run on its CRN', 60_000, async () => (await runningOn(host)).includes(program));
    assert.ok(crns.every((c) => c.captured.length > 0), 'every CRN got pushes through its proxy');
  });

  it('a push captured for one CRN is refused by the two others (401, sets unchanged), and by its own CRN', async () => {
    const row = (await allocations()).allocations.find((a) => a.item_hash === program);
    const host = crns.find((c) => c.hash === row?.crn) as CrnProc;
    // A CRN that does not run the program: its pushes say "run nothing", which would stop the
    // program on its host if the host took them.
    const source = crns.find((c) => c !== host) as CrnProc;
    const push = source.captured[source.captured.length - 1] as Captured;
    assert.deepEqual(JSON.parse(push.body.toString()), { persistent_vms: [], instances: [] });
    for (const victim of crns.filter((c) => c !== source)) {
      const before = await runningOn(victim);
      const res = await replay(victim.url, push);
      assert.equal(res.status, 401, `replay to CRN ${victim.index}: ${res.text}`);
      assert.match(res.text, /Authentication token received is invalid: the signed payload names another node/);
      assert.deepEqual(await runningOn(victim), before, `CRN ${victim.index} runs what it ran`);
    }
    assert.ok((await runningOn(host)).includes(program), 'the program still runs on its CRN');

    const again = await replay(source.url, push);
    assert.equal(again.status, 401, again.text);
    assert.match(again.text, /already used, or is older than the last one accepted/);
  });

  it('a push signed with an older iat is refused, even with a new body', async () => {
    const source = crns.find((c) => !c.captured.some((p) => p.body.toString().includes(program))) as CrnProc;
    const last = source.captured[source.captured.length - 1] as Captured;
    // Signed by the CCN's key for this very CRN: only the iat is older than what it accepted.
    await assert.rejects(
      pushAllocations(ccnAccount, source.proxyUrl, { persistent_vms: [program], instances: [] }, 10_000, { crnHash: source.hash, iat: last.iat - 1 }),
      (err: Error) => err instanceof PushError && /answered 401/.test(err.message) && /older than the last one accepted/.test(err.message),
    );
    assert.equal((await runningOn(source)).includes(program), false, 'no duplicate started');
  });

  it('a CRN that restarts still refuses a push it already took; the CCN\'s own pushes keep working', async () => {
    const source = crns.find((c) => !c.captured.some((p) => p.body.toString().includes(program))) as CrnProc;
    const push = source.captured[source.captured.length - 1] as Captured;
    await source.proc?.stop();
    const restartedAt = Date.now() / 1000;
    await startCrnProcess(source);
    const res = await replay(source.url, push);
    assert.equal(res.status, 401, res.text);
    assert.match(res.text, /already used, or is older than the last one accepted/);
    // The CCN pushes it again (periodic refresh): a later iat, accepted.
    await eventually('a CCN push delivered after the restart', 60_000, async () => {
      const entry = (await allocations()).crns.find((c) => c.hash === source.hash);
      return entry?.push?.delivered === true && (entry.push.last_delivered_at ?? 0) > restartedAt && source.captured.some((p) => p.at / 1000 > restartedAt);
    });
    const row = (await allocations()).allocations.find((a) => a.item_hash === program);
    assert.equal(row?.push_status, 'ok');
    const host = crns.find((c) => c.hash === row?.crn) as CrnProc;
    assert.ok((await runningOn(host)).includes(program));
    const everywhere = await Promise.all(crns.map(runningOn));
    assert.equal(everywhere.filter((list) => list.includes(program)).length, 1, 'exactly one CRN runs the program');
  });
});
