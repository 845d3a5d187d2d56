/**
 * A small network for integration tests, registered and linked as the devnet does it: a CCN in
 * this process (its key in a key file, its registry tag, no stakes required, no payments) and
 * CRN daemons as child processes (the kit's node spawner), each on its own loopback address
 * (the registry gives one node per host) and on a port chosen once, so that a CRN keeps its
 * registered URL across a restart.
 *
 *   const net = await startNetwork({ ccns: 1, crns: 3, tag: 'my-test' });
 *   ... net.crns[0].kill(); await net.crns[0].start(); ...
 *   await net.close();
 *
 * `close()` leaves nothing running: every CRN is started again if it was down, told (with a push
 * signed as the CCN) to run nothing, stopped, and whatever still runs under its data dir is swept.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ccnConfig, startCcn, type CcnConfig, type CcnNode } from '@aleph-nodes/ccn';
// Not a public export of the CCN (the scheduler's own push): the kit signs the clean-up push as the CCN would.
import { pushAllocations } from '../../packages/ccn/src/scheduler/crn-client.ts';
import { createCoreNode, createResourceNode, linkResourceNode } from '@aleph-nodes/cli';
import { EthAccount } from '@aleph-nodes/protocol';
import { loadOrCreateKeyFile, silentLogger, type Logger } from '@aleph-nodes/service';
import { ProcessExecutor } from '@aleph-nodes/vmm';
import { eventually, getJson } from '../helpers/eventually.ts';
import { freePort } from '../helpers/net.ts';
import { startNodeProcess, type NodeProcess, type NodeSettings } from './node-process.ts';

export interface NetworkSpec {
  /** CCNs in this process; one for now (several CCNs with P2P: test/network/helpers/ccn-network.ts). */
  ccns: 1;
  crns: number;
  /** The registry tag every node is created with. */
  tag: string;
  /** CCN settings over the kit's (a function of the CCN's key for settings that name it, e.g. as the oracle). */
  ccn?: Partial<CcnConfig> | ((ccnAccount: EthAccount) => Partial<CcnConfig>);
  ccnLogger?: Logger;
  /** CRN settings over the kit's (process executor, the CCN as allocation signer). */
  crn?: NodeSettings;
}

export interface NetworkCrn {
  index: number;
  host: string;
  port: number;
  url: string;
  dir: string;
  /** The node's owner in the registry. */
  owner: EthAccount;
  /** Its resource node hash in the registry. */
  hash: string;
  proc: NodeProcess | undefined;
  readonly running: boolean;
  /** Starts the daemon (again) on the same address, port and data dir. */
  start(): Promise<void>;
  /** SIGTERM: persistent workloads keep running for the next start. */
  stop(): Promise<void>;
  /** SIGKILL, no clean-up (the workloads survive). */
  kill(): Promise<void>;
}

export interface TestNetwork {
  root: string;
  ccn: CcnNode;
  ccnAccount: EthAccount;
  ccnKeyFile: string;
  crns: NetworkCrn[];
  close(): Promise<void>;
}

function networkCrn(index: number, host: string, port: number, dir: string, settings: NodeSettings): NetworkCrn {
  const crn: NetworkCrn = {
    index,
    host,
    port,
    url: `http://${host}:${port}`,
    dir,
    owner: EthAccount.generate(),
    hash: '',
    proc: undefined,
    get running() {
      return crn.proc?.running ?? false;
    },
    async start() {
      crn.proc = await startNodeProcess('crn', { host, port, domain: host, executor: 'process', ...settings }, { dataDir: dir });
    },
    async stop() {
      await crn.proc?.stop();
    },
    async kill() {
      await crn.proc?.kill();
    },
  };
  return crn;
}

/** Brings `crn` up, tells it to run nothing, stops it and sweeps what still runs under its data dir. */
async function emptyAndStop(crn: NetworkCrn, ccnAccount: EthAccount): Promise<void> {
  try {
    if (!crn.running) await crn.start();
    // Signed as the CCN would, a second past its last push (the CRN refuses older or repeated iats).
    await pushAllocations(ccnAccount, crn.url, { persistent_vms: [], instances: [] }, 60_000, { crnHash: crn.hash, iat: Math.floor(Date.now() / 1000) + 1 }).catch(() => undefined);
    await eventually('the CRN to stop its workloads', 30_000, async () => Object.keys(await getJson<Record<string, unknown>>(`${crn.url}/about/executions/list`)).length === 0).catch(() => undefined);
  } finally {
    await crn.stop();
    // A CRN killed with -9 may have left workloads its restart did not re-adopt.
    const executor = new ProcessExecutor({ stateDir: join(crn.dir, 'executions') });
    await executor.cleanupOrphans(new Set());
    await executor.close();
  }
}

export async function startNetwork(spec: NetworkSpec): Promise<TestNetwork> {
  const root = mkdtempSync(join(tmpdir(), `${spec.tag}-`));
  const ccnKeyFile = join(root, 'ccn.key');
  const ccnAccount = loadOrCreateKeyFile(ccnKeyFile).account;
  const crns: NetworkCrn[] = [];
  let ccn: CcnNode | undefined;
  const close = async (): Promise<void> => {
    try {
      await ccn?.close();
      for (const crn of crns) await emptyAndStop(crn, ccnAccount);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };
  try {
    ccn = await startCcn(
      ccnConfig({
        dataDir: join(root, 'ccn'),
        paymentChecks: false, // the tests' users hold no tokens; payments are tested in test/payments
        keyFile: ccnKeyFile,
        port: 0,
        p2pPort: 0,
        logLevel: 'silent',
        registryTag: spec.tag,
        ccnOwnerMinBalance: 0,
        stakerMinBalance: 0,
        ccnActivationStake: 0,
        ...(typeof spec.ccn === 'function' ? spec.ccn(ccnAccount) : spec.ccn),
      }),
      { logger: spec.ccnLogger ?? silentLogger() },
    );
    for (let i = 0; i < spec.crns; i++) {
      const dir = join(root, `crn-${i + 1}`);
      mkdirSync(dir, { recursive: true });
      const host = `127.0.0.${i + 2}`;
      const crn = networkCrn(i, host, await freePort(host), dir, { ccn: ccn.url, authorizedAllocationSigners: [ccn.address], ...spec.crn });
      crns.push(crn);
      await crn.start();
    }
    // Registration as the devnet does it: the CCN key creates the CCN, each CRN owner its node, the CCN links them.
    await createCoreNode(ccn.url, ccnAccount, spec.tag, { name: `${spec.tag}-ccn`, multiaddress: '' });
    for (const crn of crns) {
      crn.hash = await createResourceNode(ccn.url, crn.owner, spec.tag, { name: `${spec.tag}-crn-${crn.index + 1}`, address: crn.url });
      await linkResourceNode(ccn.url, ccnAccount, spec.tag, crn.hash);
    }
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
  return { root, ccn, ccnAccount, ccnKeyFile, crns, close };
}
