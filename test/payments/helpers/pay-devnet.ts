/**
 * The payments end-to-end tests run on the devnet itself (`npm run devnet -- --executor process
 * --ccns 1 --crns 1`): real CCN and CRN processes, the devnet's oracle key honoured for balances,
 * credits and flows, short payment periods (check every 5 s, 20 s grace; CRN monitor every 5 s,
 * two confirmations) and the hold/stream cutoffs moved away. Users are SDK accounts; the oracle is
 * driven with the `ccn oracle` command, as a developer would.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthenticatedAlephHttpClient } from '@aleph-sdk/client';
import { importAccountFromPrivateKey } from '@aleph-sdk/ethereum';
import { broadcast, buildMessage, ItemType, MessageType, prepareAlephMessage, type ProgramContent } from '@aleph-sdk/message';
import { EthAccount } from '@aleph-nodes/protocol';
import { buildZip } from '@aleph-nodes/cli';
import { getJson } from '../../helpers/eventually.ts';
import { run, RunningProcess, type Finished } from '../../helpers/process.ts';

export interface DevnetState {
  ccn: { url: string; address: string; hash: string };
  crns: { url: string; hash: string; address: string; ccn: string }[];
  runtimes: { node: string };
  oracle: { address: string; key_file: string };
  aggregates: { address: string };
}

export interface User {
  client: AuthenticatedAlephHttpClient;
  address: string;
  key: EthAccount;
}

export interface MessageStatus {
  status: string;
  error_code?: number | null;
  details?: unknown;
  reason?: string;
  removing_at?: number | string;
}

/**
 * The test's pace, not the payments': the CCN places persistent work and probes its CRN every 2 s;
 * the CRN hands out more vCPUs than this 2-core machine has (the programs are idle), so that the
 * test's half-dozen programs fit beside the devnet's sample program.
 */
const NODE_ENV = { CCN_SCHEDULER_INTERVAL_SECONDS: '2', CCN_MONITOR_INTERVAL_SECONDS: '2', CRN_CAPACITY_VCPUS: '16' };

export class PayDevnet {
  readonly dir = mkdtempSync(join(tmpdir(), 'pay-e2e-'));
  readonly dataDir = join(this.dir, 'data');
  readonly stateFile = join(this.dir, 'state.json');
  devnet: RunningProcess | undefined;
  state!: DevnetState;

  /** `env`: more node settings from the environment (e.g. CCN_DB and CCN_PG_SCHEMA for PostgreSQL). */
  private readonly env: Record<string, string>;

  constructor(env: Record<string, string> = {}) {
    this.env = env;
  }

  async start(): Promise<void> {
    this.devnet = new RunningProcess(
      process.execPath,
      ['packages/cli/bin/devnet.js', '--state-file', this.stateFile, '--data-dir', this.dataDir, '--executor', 'process', '--ccns', '1', '--crns', '1', '--ccn-port', '0', '--crn-port', '0'],
      { env: { ...NODE_ENV, ...this.env } },
    );
    await this.devnet.waitForLine((l) => l.includes('devnet ready'));
    this.state = JSON.parse(readFileSync(this.stateFile, 'utf8')) as DevnetState;
  }

  get ccn(): string {
    return this.state.ccn.url;
  }

  get crn(): DevnetState['crns'][number] {
    return this.state.crns[0] as DevnetState['crns'][number];
  }

  /** Stops the devnet (Ctrl-C's path) and removes its directory (kept with PAY_E2E_KEEP=1, to read the nodes' logs). */
  async stop(): Promise<void> {
    await this.devnet?.stop('SIGINT');
    if (process.env.PAY_E2E_KEEP === '1') process.stderr.write(`pay-e2e: devnet kept in ${this.dir}\n`);
    else rmSync(this.dir, { recursive: true, force: true });
  }

  /** Processes of this devnet still alive (nodes and workloads carry its data dir in their command lines). */
  leftovers(): string[] {
    try {
      return execFileSync('pgrep', ['-f', this.dataDir], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
    } catch {
      return [];
    }
  }

  user(): User {
    const key = `0x${randomBytes(32).toString('hex')}`;
    const account = importAccountFromPrivateKey(key);
    return { client: new AuthenticatedAlephHttpClient(account, this.ccn), address: account.address, key: EthAccount.fromPrivateKey(key) };
  }

  /** `ccn oracle KIND ARGS... --key-file <devnet oracle> --ccn <devnet CCN> --json`. */
  oracle(kind: 'balance' | 'credits' | 'flow', ...args: string[]): Promise<Finished> {
    return run(process.execPath, ['packages/cli/bin/ccn.js', 'oracle', kind, ...args, '--key-file', this.state.oracle.key_file, '--ccn', this.ccn, '--json']);
  }

  async status(hash: string): Promise<MessageStatus> {
    return getJson<MessageStatus>(`${this.ccn}/api/v0/messages/${hash}`);
  }

  async balance(address: string): Promise<{ balance: number; locked_amount: number; credit_balance: number }> {
    return getJson(`${this.ccn}/api/v0/addresses/${address}/balance`);
  }

  /** The item hashes the CRN runs now (v2 list: `running`). */
  async running(): Promise<string[]> {
    const list = await getJson<Record<string, { running?: boolean }>>(`${this.crn.url}/v2/about/executions/list`);
    return Object.entries(list)
      .filter(([, e]) => e.running !== false)
      .map(([hash]) => hash);
  }

  /** The v2 execution entry of a workload (stop reasons live there). */
  async execution(hash: string): Promise<Record<string, unknown> | undefined> {
    const list = await getJson<Record<string, Record<string, unknown>>>(`${this.crn.url}/v2/about/executions/list`);
    return list[hash];
  }

  /** A persistent PROGRAM (answers `{owner}` on /) published with the SDK, paid as asked. */
  async persistentProgram(user: User, payment: { type: 'hold' | 'superfluid' | 'credit'; receiver?: string }, sync = true): Promise<string> {
    const message = await user.client.createProgram({
      file: new Blob([await this.#ownerZip(user)]),
      entrypoint: 'main.mjs',
      runtime: this.state.runtimes.node,
      isPersistent: true,
      memory: 128,
      storageEngine: ItemType.storage,
      channel: 'PAYMENTS-E2E',
      payment: { chain: 'ETH' as never, type: payment.type as never, ...(payment.receiver ? { receiver: payment.receiver } : {}) },
      sync,
    });
    return message.item_hash;
  }

  /**
   * A persistent pay-as-you-go PROGRAM for this devnet's CRN: `payment.receiver` its reward address
   * and `requirements.node` its hash, as aleph-vm wants of a stream-paid workload. The SDK's
   * createProgram sets no requirements, so the content is written here and the SDK signs and
   * broadcasts it (buildMessage, prepareAlephMessage, broadcast), with its code uploaded by the SDK.
   */
  async paygProgram(user: User): Promise<string> {
    const code = await user.client.createStore({ fileObject: new Blob([await this.#ownerZip(user)]), storageEngine: ItemType.storage, channel: 'PAYMENTS-E2E', sync: true });
    const content = {
      address: user.address,
      time: Date.now() / 1000,
      type: 'vm-function',
      allow_amend: false,
      metadata: { name: 'payments-e2e-payg' },
      on: { http: true, persistent: true },
      environment: { reproducible: false, internet: false, aleph_api: false, shared_cache: false },
      resources: { vcpus: 1, memory: 128, seconds: 30 },
      runtime: { ref: this.state.runtimes.node, use_latest: true, comment: 'host Node.js (process executor)' },
      volumes: [],
      variables: {},
      code: { encoding: 'zip', entrypoint: 'main.mjs', ref: code.item_hash, use_latest: false },
      payment: { chain: 'ETH', type: 'superfluid', receiver: this.crn.address },
      requirements: { node: { node_hash: this.crn.hash } },
    } as unknown as ProgramContent;
    const built = buildMessage({ storageEngine: ItemType.inline, account: user.client.account, channel: 'PAYMENTS-E2E', timestamp: content.time, content }, MessageType.program);
    const hashed = await prepareAlephMessage({ message: built, apiServer: this.ccn });
    const { message } = await broadcast({ message: hashed, account: user.client.account, apiServer: this.ccn, sync: true });
    return message.item_hash;
  }

  async #ownerZip(user: User): Promise<Uint8Array> {
    return buildZip({
      'main.mjs': `import http from 'node:http';\nhttp.createServer((q, s) => { s.setHeader('content-type', 'application/json'); s.end(JSON.stringify({ owner: ${JSON.stringify(user.address)} })); }).listen(8080, '0.0.0.0');\n`,
    });
  }

  /** An on-demand PROGRAM (hold), published without waiting: its fate is read from the status route. */
  async onDemandProgram(user: User): Promise<string> {
    const zip = await buildZip({ 'main.mjs': "import http from 'node:http';\nhttp.createServer((q, s) => s.end('{}')).listen(8080, '0.0.0.0');\n" });
    const message = await user.client.createProgram({
      file: new Blob([zip]),
      entrypoint: 'main.mjs',
      runtime: this.state.runtimes.node,
      memory: 128,
      storageEngine: ItemType.storage,
      channel: 'PAYMENTS-E2E',
      sync: false,
    });
    return message.item_hash;
  }

  /** An INSTANCE paid by hold, published without waiting (the process executor runs none: only the CCN's verdict matters). */
  async holdInstance(user: User): Promise<string> {
    const message = await user.client.createInstance({
      channel: 'PAYMENTS-E2E',
      resources: { vcpus: 1, memory: 2048 },
      rootfs: { parent: { ref: this.state.runtimes.node }, size_mib: 20_480 },
      payment: { chain: 'ETH' as never, type: 'hold' as never },
      storageEngine: ItemType.storage,
      sync: false,
    });
    return message.item_hash;
  }

  /** GET /vm/{hash}/ on the CRN answers the owner's program. */
  async answers(hash: string, owner: string): Promise<boolean> {
    try {
      const res = await fetch(`${this.crn.url}/vm/${hash}/`, { signal: AbortSignal.timeout(20_000) });
      return res.status === 200 && ((await res.json()) as { owner?: string }).owner === owner;
    } catch {
      return false;
    }
  }
}
