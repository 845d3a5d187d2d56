/**
 * Bringing the devnet up: M CCNs (each knowing the others as P2P bootstrap and sync peers when
 * they have those settings), their registrations, N CRNs linked to CCN i mod M, the runtimes and
 * the sample program, called once. Returns the state file's content. Every node is started
 * through the NodeGroup, so that a stop request at any point reaches it.
 */
import { join } from 'node:path';
import { buildInlineMessage, type EthAccount } from '@aleph-nodes/protocol';
import type { Logger } from '@aleph-nodes/service';
import type { ChildNode } from '../common/child-node.ts';
import { publishMessage } from '../common/ccn-client.ts';
import { oraclePost } from '../ccn/oracle-posts.ts';
import { devnetCrnOwners, devnetOracle, planLayout, type CcnLayout, type CrnLayout } from './layout.ts';
import { microVmPreflight } from './microvm-preflight.ts';
import { ccnKnows, multiaddressOf, writeCcnConfig, writeCrnConfig } from './node-configs.ts';
import type { NodeGroup } from './node-group.ts';
import { readPeerId } from './peer-id.ts';
import { waitForMesh } from './mesh.ts';
import { registerNetwork } from './registration.ts';
import { publishInstanceImage, publishPythonRuntime, publishRuntime } from './runtime.ts';
import { publishDiagnosticProgram } from './diagnostic-program.ts';
import { publishPricingAggregates } from './pricing.ts';
import { buildSampleZip, publishSampleProgram, storeFile } from './sample-program.ts';
import type { DevnetState } from './state-file.ts';

export interface DevnetOptions {
  stateFile: string;
  executor: string;
  ccns: number;
  crns: number;
  /** CCN i on its own loopback address 127.0.1.(i+1) instead of 127.0.0.1. */
  distinctHosts: boolean;
  dataDir: string;
  ccnPort: number;
  crnPort: number;
  binDir: string;
  /** The devnet user: publishes the runtime and the sample program. */
  owner: EthAccount;
  logger: Logger;
}

const CHANNEL = 'DEVNET';
const READY_TIMEOUT_MS = 60_000;
/** How long a started CCN may take to publish its P2P address (its listener may come up last). */
const PEER_ID_WAIT_MS = 5_000;
/** How long the CCNs may take to find each other on the message topic. */
const MESH_WAIT_MS = 30_000;

interface StartedCcn {
  layout: CcnLayout;
  node: ChildNode;
  peerId: string | null;
}

/**
 * One CCN after the other. Each is given every other CCN as a sync peer (HTTP URL) and as a P2P
 * bootstrap peer (multiaddress): ports are fixed in advance, so addresses are known before the
 * nodes run; the peer id is added for the CCNs already running (a multiaddress without one is
 * dialled all the same, the peer id being learned on connection, where the CCN accepts that).
 */
async function startCcns(opts: DevnetOptions, layouts: CcnLayout[], group: NodeGroup, oracle: string): Promise<StartedCcn[]> {
  const started: StartedCcn[] = [];
  for (const layout of layouts) {
    const peerIdOf = (c: CcnLayout): string | null => started.find((s) => s.layout === c)?.peerId ?? null;
    const bootstrap = layouts.filter((c) => c !== layout).map((c) => multiaddressOf(c, peerIdOf(c))).filter((m) => m !== '');
    writeCcnConfig(layout, { all: layouts, registryAddress: (layouts[0] as CcnLayout).owner.address, oracleAddress: oracle, bootstrap });
    opts.logger.info({ url: layout.url, p2pPort: ccnKnows('p2pPort') ? layout.p2pPort : undefined }, `starting ${layout.label}`);
    const node = await group.start({ kind: 'ccn', label: layout.label, args: ['--config', layout.configFile], logFile: join(layout.dir, 'node.log'), binDir: opts.binDir, readyTimeoutMs: READY_TIMEOUT_MS });
    const peerId = ccnKnows('p2pPort') ? await readPeerId(node.url, PEER_ID_WAIT_MS) : null;
    if (ccnKnows('p2pPort') && peerId === null) opts.logger.warn({ url: node.url }, `${layout.label} reports no peer id (GET /api/v0/p2p/peers, /api/v0/info/public.json)`);
    started.push({ layout, node, peerId });
  }
  return started;
}

async function startCrns(opts: DevnetOptions, layouts: CrnLayout[], ccns: StartedCcn[], hashes: string[], group: NodeGroup, accelerator: string | undefined, diagnostic: string | undefined): Promise<ChildNode[]> {
  const nodes: ChildNode[] = [];
  for (const layout of layouts) {
    const own = ccns[layout.ccn] as StartedCcn;
    writeCrnConfig(layout, {
      executor: opts.executor,
      accelerator,
      nodeHash: hashes[layout.index] as string,
      ccnUrls: [own, ...ccns.filter((c) => c !== own)].map((c) => c.node.url),
      ccnAddress: own.node.address,
      checkFastapiVmId: diagnostic,
    });
    opts.logger.info({ url: layout.url, ccn: own.node.url }, `starting ${layout.label}`);
    nodes.push(await group.start({ kind: 'crn', label: layout.label, args: ['--config', layout.configFile], logFile: join(layout.dir, 'node.log'), binDir: opts.binDir, readyTimeoutMs: READY_TIMEOUT_MS }));
  }
  return nodes;
}

/** ALEPH the devnet's oracle gives the devnet user, who publishes the runtime and the sample program. */
export const OWNER_BALANCE = '1000000';

/**
 * The devnet user pays for what it publishes like anyone (hold): the oracle gives it a balance
 * first, on the CCN it publishes to (the post replicates to the others like any message).
 */
async function fundOwner(ccnUrl: string, oracle: EthAccount, owner: EthAccount, logger: Logger): Promise<void> {
  const nowMs = Date.now();
  const post = oraclePost({ kind: 'balance', address: owner.address, amount: OWNER_BALANCE }, { nowMs });
  await publishMessage(ccnUrl, buildInlineMessage(oracle, 'POST', post.content, { channel: post.channel, time: nowMs / 1000 }));
  logger.info({ owner: owner.address, balance: OWNER_BALANCE }, 'the oracle funded the devnet user');
}

async function callSample(url: string): Promise<unknown> {
  const res = await fetch(url);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`the sample program answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as unknown;
}

export async function setUpDevnet(opts: DevnetOptions, group: NodeGroup): Promise<DevnetState> {
  // Ports first: a busy one is reported before the slow checks.
  const layout = await planLayout(opts);
  const accelerator = opts.executor === 'microvm' ? (await microVmPreflight('host', opts.logger)).accelerator : undefined;
  const { account: oracleAccount, keyFile: oracleKeyFile } = devnetOracle(opts.dataDir);
  const oracle = oracleAccount.address;

  const ccns = await startCcns(opts, layout.ccns, group, oracle);
  await waitForMesh(ccns.map((c) => ({ url: c.node.url, peerId: c.peerId })), MESH_WAIT_MS, opts.logger);
  const regs = await registerNetwork(
    layout.ccns,
    ccns.map((c) => multiaddressOf(c.layout, c.peerId)),
    layout.crns,
    devnetCrnOwners(opts.dataDir),
    opts.logger,
  );
  // Published on the first CCN; CRN 1 is linked to it and reads from it first. Before the CRNs
  // start: their /status/check/fastapi names the diagnostic program published here.
  const first = ccns[0] as StartedCcn;
  await fundOwner(first.node.url, oracleAccount, opts.owner, opts.logger);
  await publishPricingAggregates(first.node.url, oracleAccount, opts.logger);
  const runtime = await publishRuntime(first.node.url, opts.owner, opts.executor, CHANNEL, opts.logger);
  const microvm = opts.executor === 'microvm';
  const debian = microvm ? await publishInstanceImage(first.node.url, opts.owner, CHANNEL, opts.logger) : undefined;
  const python = microvm ? await publishPythonRuntime(first.node.url, opts.owner, CHANNEL, opts.logger) : undefined;
  const diagnostic = python ? await publishDiagnosticProgram(first.node.url, opts.owner, { pythonRuntimeRef: python, internet: true, channel: CHANNEL }) : undefined;
  if (diagnostic) opts.logger.info({ program: diagnostic }, "aleph's diagnostic program published (the CRNs' checkFastapiVmId)");
  const crns = await startCrns(opts, layout.crns, ccns, regs.crns, group, accelerator, diagnostic);

  const code = await storeFile(first.node.url, opts.owner, await buildSampleZip(), CHANNEL);
  const program = await publishSampleProgram(first.node.url, opts.owner, { codeRef: code, runtimeRef: runtime }, CHANNEL);
  const sampleUrl = `${(crns[0] as ChildNode).url}/vm/${program}/`;
  opts.logger.info({ program, url: sampleUrl }, 'sample program published; calling it once');
  const answer = await callSample(sampleUrl);
  opts.logger.info({ answer }, 'the sample program answered');

  const ccnEntries = ccns.map((c, i) => ({
    url: c.node.url,
    address: c.node.address,
    pid: c.node.pid,
    key_file: c.layout.keyFile,
    hash: regs.ccns[i] as string,
    peer_id: c.peerId,
    crns: layout.crns.filter((l) => l.ccn === i).map((l) => regs.crns[l.index] as string),
  }));
  const head = ccnEntries[0] as (typeof ccnEntries)[number];
  return {
    ccn: { url: head.url, address: head.address, pid: head.pid, key_file: head.key_file, hash: head.hash },
    ccns: ccnEntries,
    crns: crns.map((c, i) => ({ url: c.url, hash: regs.crns[i] as string, address: c.address, pid: c.pid, ccn: (ccns[(layout.crns[i] as CrnLayout).ccn] as StartedCcn).node.url })),
    runtimes: { node: runtime, ...(python ? { python } : {}) },
    rootfs: debian ? { debian } : {},
    registry: { address: (layout.ccns[0] as CcnLayout).owner.address },
    oracle: { address: oracle, key_file: oracleKeyFile },
    aggregates: { address: oracle },
    sample: { program, url: sampleUrl },
    ...(diagnostic ? { diagnostic: { program: diagnostic, url: `${(crns[0] as ChildNode).url}/vm/${diagnostic}/`, check: `${(crns[0] as ChildNode).url}/status/check/fastapi` } } : {}),
  };
}
