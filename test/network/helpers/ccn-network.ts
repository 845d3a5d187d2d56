/**
 * Several CCN processes and their CRN processes (`process` executor) on loopback, for the
 * CCN network tests. Messages reach every CCN because the test publishes each one to
 * each CCN (the same signed bytes: a client may post to several CCNs; anti-entropy does it in
 * production). CCNs find each other over HTTP (`syncPeers`), so no gossip is needed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildInlineMessage, sha256Hex, type AlephMessage, type EthAccount } from '@aleph-nodes/protocol';
import { ProcessExecutor } from '@aleph-nodes/vmm';
import { publishMessage, uploadStoredFile, buildSampleZip } from '@aleph-nodes/cli';
import { rankByRendezvous } from '../../../packages/ccn/src/scheduler/rendezvous.ts';
import { startCcnProcess, type CcnProcess, type CcnSettings } from '../../ccn/helpers/ccn-process.ts';
import { getJson } from '../../helpers/eventually.ts';
import { freePort } from '../../helpers/net.ts';
import { startNodeProcess, type NodeProcess, type NodeSettings } from '../../kit/node-process.ts';

export const TAG = 'ccn-network-test';
export const CHANNEL = 'CCN-NETWORK-TEST';

/**
 * Liveness and monitor timings. Fast by default (a CCN is down 8 s after its last heartbeat);
 * `NETWORK_TEST_DEFAULT_LIVENESS=1` runs the shipped defaults (10 s heartbeats, down after 60 s,
 * CRN probes every 10 s with a 5 s timeout, 3 failures; 120 s adoption bound) to measure what an
 * operator gets.
 */
export const TIMINGS: CcnSettings & { adoptionTimeoutSeconds: number; ccnDownAfterSeconds: number; heartbeatIntervalSeconds: number } =
  process.env.NETWORK_TEST_DEFAULT_LIVENESS === '1'
    ? { heartbeatIntervalSeconds: 10, ccnDownAfterSeconds: 60, adoptionTimeoutSeconds: 120, monitorIntervalSeconds: 10, monitorProbeTimeoutSeconds: 5, monitorFailuresBeforeDown: 3, failoverBoundSeconds: 55, schedulerIntervalSeconds: 30 }
    : {
        heartbeatIntervalSeconds: 1,
        ccnDownAfterSeconds: 8,
        adoptionTimeoutSeconds: 30,
        heartbeatPullTimeoutSeconds: 2,
        heartbeatMaxClockSkewSeconds: 5,
        monitorIntervalSeconds: 1,
        monitorProbeTimeoutSeconds: 2,
        monitorFailuresBeforeDown: 3,
        failoverBoundSeconds: 30,
        schedulerIntervalSeconds: 2,
      };

export interface CcnNodeProc {
  name: string;
  key: EthAccount;
  keyFile: string;
  port: number;
  url: string;
  dataDir: string;
  settings: CcnSettings;
  hash: string;
  proc: CcnProcess | undefined;
}

export interface CrnNodeProc {
  name: string;
  url: string;
  dir: string;
  settings: NodeSettings;
  hash: string;
  proc: NodeProcess | undefined;
}

/** A CCN on a port chosen once (it keeps its URL across a restart), with its own data dir and key. */
export async function prepareCcn(root: string, name: string, key: EthAccount): Promise<CcnNodeProc> {
  const dataDir = join(root, name);
  mkdirSync(dataDir, { recursive: true });
  const keyFile = join(root, `${name}.key`);
  writeFileSync(keyFile, key.exportPrivateKey(), { mode: 0o600 });
  const port = await freePort('127.0.0.1');
  return { name, key, keyFile, port, url: `http://127.0.0.1:${port}`, dataDir, settings: {}, hash: '', proc: undefined };
}

export async function startCcnNode(ccn: CcnNodeProc, peers: string[]): Promise<void> {
  ccn.settings = {
    port: ccn.port,
    keyFile: ccn.keyFile,
    registryTag: TAG,
    ccnOwnerMinBalance: 0,
    stakerMinBalance: 0,
    ccnActivationStake: 0,
    scoringEnabled: false,
    allocationRetryBaseMs: 200,
    allocationRetryMaxMs: 2000,
    syncPeers: peers,
    ...TIMINGS,
  };
  ccn.proc = await startCcnProcess(ccn.settings, ccn.dataDir);
}

/** A CRN on its own loopback address (the registry gives one node per host). */
export async function prepareCrn(root: string, name: string, host: string, ccnUrls: string[]): Promise<CrnNodeProc> {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const port = await freePort(host);
  // No authorizedAllocationSigners: the registry says who may push (the linked CCN).
  const settings = { host, port, domain: host, executor: 'process', ccn: ccnUrls, restartBackoffMaxSeconds: 2, stopWorkloadsOnExit: true, ccnFailbackSeconds: 5, allocationSignersRefreshSeconds: 5 };
  return { name, url: `http://${host}:${port}`, dir, settings, hash: '', proc: undefined };
}

export async function startCrnNode(crn: CrnNodeProc): Promise<void> {
  crn.proc = await startNodeProcess('crn', crn.settings, { dataDir: crn.dir });
}

/** Publishes the same signed message to every CCN given. */
export async function publishTo(urls: readonly string[], message: AlephMessage): Promise<void> {
  for (const url of urls) await publishMessage(url, message);
}

/** A file and its STORE message, uploaded to every CCN given; returns the STORE's hash. */
export async function storeTo(urls: readonly string[], account: EthAccount, bytes: Uint8Array): Promise<string> {
  const store = buildInlineMessage(account, 'STORE', { item_type: 'storage', item_hash: sha256Hex(bytes) }, { channel: CHANNEL });
  for (const url of urls) await uploadStoredFile(url, bytes, store);
  return store.item_hash;
}

/** A corechannel operation, as the CLI signs it, published to every CCN; returns its hash. */
export async function registryOperation(urls: readonly string[], account: EthAccount, action: string, extra: { ref?: string; details?: Record<string, unknown> }): Promise<string> {
  const content: Record<string, unknown> = { action, tags: [action, TAG], ...(extra.details ? { details: extra.details } : {}) };
  const message = buildInlineMessage(account, 'POST', { type: 'corechan-operation', content, ...(extra.ref ? { ref: extra.ref } : {}) }, { channel: 'FOUNDATION' });
  await publishTo(urls, message);
  return message.item_hash;
}

/** The runtime descriptor the process executor takes, and the sample program's code, on every CCN. */
export async function publishCode(urls: readonly string[], user: EthAccount): Promise<{ runtime: string; code: string }> {
  const descriptor = JSON.stringify({ kind: 'aleph-nodes-runtime', executor: 'process', interpreter: 'node', version: process.versions.node.split('.')[0] });
  const runtime = await storeTo(urls, user, new TextEncoder().encode(descriptor));
  const code = await storeTo(urls, user, await buildSampleZip());
  return { runtime, code };
}

/**
 * A PROGRAM message (persistent or on demand) running the sample code. With `firstIn`, one whose
 * item hash ranks `firstIn[0]` first by rendezvous hashing among `firstIn` (the test decides who
 * places a new workload without waiting for chance).
 */
export function programMessage(user: EthAccount, refs: { runtime: string; code: string }, opts: { name: string; persistent: boolean; greeting: string; firstIn?: string[] }): AlephMessage {
  for (let nonce = 0; ; nonce++) {
    const message = buildInlineMessage(
      user,
      'PROGRAM',
      {
        type: 'vm-function',
        allow_amend: false,
        metadata: { name: opts.name, nonce },
        on: { http: true, persistent: opts.persistent },
        environment: { reproducible: false, internet: false, aleph_api: false, shared_cache: false },
        resources: { vcpus: 1, memory: 128, seconds: 30 },
        runtime: { ref: refs.runtime, use_latest: true, comment: 'host Node.js (process executor)' },
        volumes: [],
        variables: { GREETING: opts.greeting },
        code: { encoding: 'zip', entrypoint: 'main.mjs', ref: refs.code, use_latest: false },
      },
      { channel: CHANNEL },
    );
    if (!opts.firstIn || rankByRendezvous(message.item_hash, opts.firstIn)[0] === opts.firstIn[0]) return message;
  }
}

export interface NetworkView {
  node_hash: string | null;
  ccns: { node_hash: string; status: string; crns: { hash: string; health: string; workloads: string[] }[] }[];
  workloads: { item_hash: string; manager: string | null; rule: string; reason: string; crn: string | null; losers: string[] }[];
}

export interface AllocationsView {
  allocations: { item_hash: string; crn: string | null; reason: string; push_status: string | null; decided_at: number }[];
}

export const networkView = (ccn: CcnNodeProc): Promise<NetworkView> => getJson<NetworkView>(`${ccn.url}/api/v0/network/ccns`, 5000);
export const allocationsOf = (ccn: CcnNodeProc): Promise<AllocationsView> => getJson<AllocationsView>(`${ccn.url}/api/v0/allocations`, 5000);

/** The item hashes a CRN runs now ([] when it does not answer). */
export async function runningOn(crn: CrnNodeProc): Promise<string[]> {
  try {
    return Object.keys(await getJson<Record<string, unknown>>(`${crn.url}/about/executions/list`, 5000));
  } catch {
    return [];
  }
}

/** True when `GET /vm/{hash}/` on the CRN answers 200 with the greeting. */
export async function answers(crn: CrnNodeProc, hash: string, greeting: string): Promise<boolean> {
  try {
    const res = await fetch(`${crn.url}/vm/${hash}/`, { signal: AbortSignal.timeout(20_000) });
    if (res.status !== 200) return false;
    return ((await res.json()) as { greeting?: string }).greeting === greeting;
  } catch {
    return false;
  }
}

/** Stops a CRN process (SIGTERM; with stopWorkloadsOnExit its workloads stop too). */
export async function stopCrn(crn: CrnNodeProc): Promise<void> {
  await crn.proc?.stop();
  // A CRN killed with -9 earlier may have left workloads its restart did not re-adopt (the
  // scheduler had moved them): whatever still runs under its data dir goes too, as the CRN's own
  // start-up would do (cleanupOrphans), so that no sandbox, netns or veth outlives the test.
  const executor = new ProcessExecutor({ stateDir: join(crn.dir, 'executions') });
  await executor.cleanupOrphans(new Set());
  await executor.close();
}
