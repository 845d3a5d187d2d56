/** Orchestration of the devnet: start, register, publish, check, wait, stop. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EthAccount } from '@aleph-nodes/protocol';
import { loadOrCreateKeyFile, type Logger } from '@aleph-nodes/service';
import { EXIT } from '../common/exit-codes.ts';
import { startChildNode, type ChildNode } from '../common/child-node.ts';
import { assertPortFree, pickFreePort } from './ports.ts';
import { microVmPreflight } from './microvm-preflight.ts';
import { firewallTableGuard } from '../common/firewall-table.ts';
import { createCoreNode, createResourceNode, linkResourceNode } from '../common/registry-operations.ts';
import { publishInstanceImage, publishRuntime } from './runtime.ts';
import { buildSampleZip, publishSampleProgram, storeFile } from './sample-program.ts';
import { removeStateFile, writeStateFile, type DevnetState } from './state-file.ts';

export interface DevnetOptions {
  stateFile: string;
  executor: string;
  crns: number;
  dataDir: string;
  ccnPort: number;
  crnPort: number;
  binDir: string;
  /** The devnet user: publishes the runtime and the sample program. */
  owner: EthAccount;
  logger: Logger;
}

const CHANNEL = 'DEVNET';
const REGISTRY_TAG = 'devnet';
const READY_TIMEOUT_MS = 60_000;
const CRN_STOP_GRACE_MS = 90_000;

function writeConfig(dir: string, config: Record<string, unknown>): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'config.json');
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
  return path;
}

function crnHost(index: number): string {
  return `127.0.0.${index + 2}`;
}

/** `accelerator`: decided once by the preflight for every microvm CRN (undefined for `process`). */
async function startNodes(opts: DevnetOptions, started: ChildNode[], accelerator: string | undefined): Promise<{ ccn: ChildNode; crns: ChildNode[] }> {
  const ccnDir = join(opts.dataDir, 'ccn');
  const ccnKey = join(opts.dataDir, 'keys', 'ccn.key');
  const ccnAddress = loadOrCreateKeyFile(ccnKey).account.address;
  const ccnConfig = writeConfig(ccnDir, {
    host: '127.0.0.1',
    port: opts.ccnPort,
    // One CCN has no peer: its P2P listener takes any free port rather than 4025 (and never
    // collides with a CCN already running on this machine).
    p2pPort: 0,
    dataDir: ccnDir,
    keyFile: ccnKey,
    registryTag: REGISTRY_TAG,
    // A development network has no token balances: anyone may run a node or stake.
    ccnOwnerMinBalance: 0,
    stakerMinBalance: 0,
    ccnActivationStake: 0,
    maxLinkedCrns: 3,
    // The Debian instance image is published as one file of a few hundred MiB.
    maxSignedUploadBytes: 2 * 1024 * 1024 * 1024,
    // The devnet's own key is the balance oracle (there is no chain indexer), and metrics and
    // scores come often enough that `ccn rewards` for the last hour has a dozen score periods.
    balanceIndexers: [ccnAddress],
    metricsPublishIntervalSeconds: 60,
    scorePeriodSeconds: 300,
  });
  opts.logger.info({ port: opts.ccnPort }, 'starting the CCN');
  const ccn = await startChildNode({ kind: 'ccn', label: 'ccn', args: ['--config', ccnConfig], logFile: join(ccnDir, 'node.log'), binDir: opts.binDir, readyTimeoutMs: READY_TIMEOUT_MS });
  started.push(ccn);

  const crns: ChildNode[] = [];
  for (let i = 0; i < opts.crns; i++) {
    const dir = join(opts.dataDir, `crn-${i + 1}`);
    const keyFile = join(opts.dataDir, 'keys', `crn-${i + 1}.key`);
    loadOrCreateKeyFile(keyFile);
    const port = opts.crnPort === 0 ? await pickFreePort(crnHost(i)) : opts.crnPort;
    const config = writeConfig(dir, {
      host: crnHost(i),
      port,
      dataDir: dir,
      keyFile,
      ccn: ccn.url,
      domain: crnHost(i),
      executor: opts.executor,
      ...(accelerator ? { accelerator } : {}),
      // Under software emulation a guest takes tens of seconds to boot (more on a loaded machine).
      ...(accelerator === 'tcg' ? { startTimeoutSeconds: 240 } : {}),
      // The CRNs share this host's ports: each forwards instance ports from its own range.
      portForwardStart: 24_000 + i * 1000,
      portForwardEnd: 24_999 + i * 1000,
      // Stopping the devnet must leave no VM behind; production nodes keep them across restarts.
      stopWorkloadsOnExit: true,
      authorizedAllocationSigners: [ccn.address],
    });
    opts.logger.info({ host: crnHost(i), port }, `starting CRN ${i + 1}`);
    const crn = await startChildNode({ kind: 'crn', label: `crn-${i + 1}`, args: ['--config', config], logFile: join(dir, 'node.log'), binDir: opts.binDir, readyTimeoutMs: READY_TIMEOUT_MS });
    started.push(crn);
    crns.push(crn);
  }
  return { ccn, crns };
}

async function register(opts: DevnetOptions, ccn: ChildNode, crns: ChildNode[]): Promise<string[]> {
  const ccnOwner = loadOrCreateKeyFile(join(opts.dataDir, 'keys', 'ccn.key')).account;
  const ccnHash = await createCoreNode(ccn.url, ccnOwner, REGISTRY_TAG, { name: 'devnet-ccn', multiaddress: '' });
  opts.logger.info({ hash: ccnHash }, 'CCN registered');
  const hashes: string[] = [];
  for (const [i, crn] of crns.entries()) {
    const crnOwner = loadOrCreateKeyFile(join(opts.dataDir, 'keys', `crn-${i + 1}.key`)).account;
    const hash = await createResourceNode(ccn.url, crnOwner, REGISTRY_TAG, { name: `devnet-crn-${i + 1}`, address: crn.url });
    await linkResourceNode(ccn.url, ccnOwner, REGISTRY_TAG, hash);
    opts.logger.info({ hash, url: crn.url }, `CRN ${i + 1} registered and linked`);
    hashes.push(hash);
  }
  return hashes;
}

async function callSample(url: string): Promise<unknown> {
  const res = await fetch(url);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`the sample program answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as unknown;
}

export async function startDevnet(opts: DevnetOptions): Promise<number> {
  const started: ChildNode[] = [];
  let stopping = false;
  const releaseFirewall = opts.executor === 'microvm' ? firewallTableGuard() : () => {};
  const stopAll = async (): Promise<void> => {
    stopping = true;
    // CRNs first, so they never lose their CCN while stopping workloads; a VM's clean shutdown
    // under software emulation takes a while, hence the long grace before SIGKILL.
    for (const node of [...started].reverse()) await node.stop(CRN_STOP_GRACE_MS);
    releaseFirewall();
  };
  try {
    await assertPortFree('127.0.0.1', opts.ccnPort);
    for (let i = 0; i < opts.crns; i++) await assertPortFree(crnHost(i), opts.crnPort);
    const accelerator = opts.executor === 'microvm' ? (await microVmPreflight('host', opts.logger)).accelerator : undefined;
    const { ccn, crns } = await startNodes(opts, started, accelerator);
    const crnHashes = await register(opts, ccn, crns);

    const runtime = await publishRuntime(ccn.url, opts.owner, opts.executor, CHANNEL, opts.logger);
    const debian = opts.executor === 'microvm' ? await publishInstanceImage(ccn.url, opts.owner, CHANNEL, opts.logger) : undefined;
    const code = await storeFile(ccn.url, opts.owner, await buildSampleZip(), CHANNEL);
    const program = await publishSampleProgram(ccn.url, opts.owner, { codeRef: code, runtimeRef: runtime }, CHANNEL);
    const first = crns[0] as ChildNode;
    const sampleUrl = `${first.url}/vm/${program}/`;
    opts.logger.info({ program, url: sampleUrl }, 'sample program published; calling it once');
    const answer = await callSample(sampleUrl);
    opts.logger.info({ answer }, 'the sample program answered');

    const state: DevnetState = {
      ccn: { url: ccn.url, address: ccn.address, pid: ccn.pid },
      crns: crns.map((c, i) => ({ url: c.url, hash: crnHashes[i] as string, address: c.address, pid: c.pid })),
      runtimes: { node: runtime },
      rootfs: debian ? { debian } : {},
      registry: { address: ccn.address },
      sample: { program, url: sampleUrl },
    };
    writeStateFile(opts.stateFile, state);
    process.stdout.write(
      [
        '',
        'devnet ready',
        `  CCN   ${ccn.url}`,
        ...crns.map((c, i) => `  CRN ${i + 1} ${c.url}`),
        `  state ${opts.stateFile}`,
        `  Node.js runtime ${runtime}`,
        ...(debian ? [`  Debian instance image ${debian} (rootfs.parent.ref of an INSTANCE)`] : []),
        '',
        'call the sample program:',
        `  curl ${sampleUrl}`,
        '',
        'Ctrl-C stops the network.',
        '',
      ].join('\n'),
    );
  } catch (err) {
    opts.logger.error({ err }, `devnet failed: ${(err as Error).message}`);
    await stopAll();
    return EXIT.FAILURE;
  }

  // Losing a CRN does not stop the network: the CCN marks it down and moves its workloads (that is
  // what the devnet demonstrates). Losing the CCN does: nothing works without it.
  for (const node of started.filter((n) => n.label !== 'ccn')) {
    void node.exited.then((code) => {
      if (!stopping) opts.logger.error({ node: node.label, code }, `${node.label} exited; the CCN will move its workloads to the other CRNs`);
    });
  }
  const ccnNode = started.find((n) => n.label === 'ccn') as ChildNode;
  const crashed = ccnNode.exited.then((code) => ({ node: ccnNode.label, code }));
  const outcome = await Promise.race([
    new Promise<'signal'>((resolve) => {
      process.once('SIGINT', () => resolve('signal'));
      process.once('SIGTERM', () => resolve('signal'));
    }),
    crashed,
  ]);
  stopping = true;
  if (outcome !== 'signal') opts.logger.error(outcome, 'the CCN exited; stopping the devnet');
  opts.logger.info('stopping the devnet');
  await stopAll();
  removeStateFile(opts.stateFile);
  return outcome === 'signal' ? EXIT.OK : EXIT.FAILURE;
}
