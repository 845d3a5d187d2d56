/**
 * The Compute Resource Node: data dir, key, executor, cache, records, supervisor, HTTP API and
 * its background loops (status or payment monitor, CCN message watch), with an explicit
 * lifecycle like CcnNode's: created → starting → running → stopping → stopped (a failed start
 * ends as `failed`, everything it had opened closed again).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { createLogger, loadOrCreateKeyFile, ServiceLoop, type Logger } from '@aleph-nodes/service';
import { buildImages } from '@aleph-nodes/guest/build';
import { enableKsm, MicroVmExecutor, ProcessExecutor, type Executor, type MicroVmExecutorConfig } from '@aleph-nodes/vmm';
import type { FastifyInstance } from 'fastify';
import { buildServer } from './api/server.ts';
import { CcnClient } from './ccn/ccn-client.ts';
import type { MessageWatch } from './ccn/message-watch.ts';
import { ccnUrls, CrnConfigSchema, diagnosticProgramSet, type CrnConfig } from './config.ts';
import { PortForwardTable } from './db/port-forwards.ts';
import { ExecutionRecords } from './db/records.ts';
import { RetiredMessages } from './db/retired.ts';
import type { CapacitySettings } from './execution/admission.ts';
import { ownerQuota, type OnDemandPolicy } from './execution/owner-quota.ts';
import { Supervisor } from './execution/supervisor.ts';
import { StatusMonitor } from './execution/status-monitor.ts';
import { MessageTriggers } from './execution/triggers.ts';
import { createPaymentChecker, createPaymentMonitor, paymentGate } from './payments/node-payments.ts';
import { createMetrics } from './metrics.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { DownloadCache } from './storage/download-cache.ts';
import { messageWatch } from './watch.ts';

export interface RunningCrn {
  url: string;
  address: string;
  /**
   * Drains and stops the node. On-demand executions stop; persistent ones keep running for the
   * next start (re-adopted) unless `stopPersistent` is set (tests, decommissioning).
   */
  close(opts?: { stopPersistent?: boolean }): Promise<void>;
}

export interface StartCrnOptions {
  logger?: Logger;
}

export type CrnState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

/** The only state changes a node takes; anything else (a second start, a restart) throws. */
const CRN_TRANSITIONS: Readonly<Record<CrnState, readonly CrnState[]>> = {
  created: ['starting', 'stopped'],
  starting: ['running', 'failed'],
  running: ['stopping'],
  stopping: ['stopped'],
  stopped: [],
  failed: [],
};

/** What a started node holds, released in order by `#release`. */
interface Parts {
  supervisor: Supervisor;
  app: FastifyInstance;
  agent: Agent;
  records: ExecutionRecords;
  statusMonitor: { close(): Promise<void> };
  watch: MessageWatch | undefined;
  /** Refills the microVM executor's warm pools (absent without pools). */
  warmPool: ServiceLoop;
}

/** The warm pools the settings ask for, on the built runtimes (none when `warmPoolSize` is 0). */
function warmPools(config: CrnConfig, runtimes: Record<string, string | undefined>): MicroVmExecutorConfig['warmPools'] {
  if (config.warmPoolSize === 0) return [];
  // Each pool VM starts its runtime's usual language ahead: Node.js, or Python's ASGI server
  // (aleph's Python programs are ASGI apps); a program of another kind gets a fresh process.
  const prestart = { node: 'node', python: 'asgi' } as const;
  return [...new Set(config.warmPoolRuntimes)]
    .flatMap((name) => {
      const runtime = runtimes[name];
      return runtime === undefined ? [] : [{ runtime, size: config.warmPoolSize, vcpus: config.warmPoolVcpus, memoryMib: config.warmPoolMemoryMib, prestart: prestart[name] }];
    });
}

async function createExecutor(config: CrnConfig, dataDir: string, logger: Logger, onPoolTaken: () => void): Promise<Executor> {
  if (config.executor === 'microvm') {
    // The guest images are built by setup; here they are found in their cache (a few seconds),
    // or built with progress in the log when missing.
    const images = await buildImages({ ...(config.imagesDir ? { dir: config.imagesDir } : {}), progress: (line) => logger.info({ component: 'images' }, line) });
    const executor = await MicroVmExecutor.create({
      kernel: images.kernel,
      initramfs: images.initramfs,
      defaultRuntime: images.runtimes.node,
      stateDir: join(dataDir, 'vm'),
      accelerator: config.accelerator,
      kvmCpu: config.kvmCpu,
      tcgTbMib: config.tcgTbMib,
      dnsServers: config.dnsServers,
      ...(config.ipv6Range ? { network: { ipv6Range: config.ipv6Range } } : {}),
      codeCache: config.codeCacheMib > 0 ? { maxBytes: config.codeCacheMib * 1024 * 1024 } : false,
      warmPools: warmPools(config, images.runtimes),
      onPoolTaken,
    });
    logger.info({ accelerator: executor.accelerator.accelerator, reason: executor.accelerator.reason }, 'microvm executor ready');
    // Host policy, so only on the operator's word (packages/vmm/src/host/ksm.ts says why).
    if (config.enableKsm) {
      await enableKsm().then(
        (ksm) => logger.info({ component: 'ksm', ...ksm }, 'kernel samepage merging on'),
        (err: Error) => logger.warn({ component: 'ksm', err: err.message }, 'kernel samepage merging not turned on'),
      );
    }
    return executor;
  }
  return new ProcessExecutor({ stateDir: join(dataDir, 'executions'), poolBase: config.workloadPoolBase, dnsServers: config.dnsServers });
}

export class CrnNode implements RunningCrn {
  readonly config: CrnConfig;
  readonly #log: Logger;
  #state: CrnState = 'created';
  #url = '';
  #address = '';
  #draining = false;
  #unlock: (() => void) | undefined;
  #parts: Partial<Parts> = {};
  #closing: Promise<void> | undefined;

  constructor(input: CrnConfig, opts: StartCrnOptions = {}) {
    this.config = CrnConfigSchema.parse(input);
    this.#log = opts.logger ?? createLogger({ name: 'crn', level: this.config.logLevel });
  }

  get state(): CrnState {
    return this.#state;
  }

  /** Base URL of the API, e.g. http://127.0.0.1:4020 (empty until started). */
  get url(): string {
    return this.#url;
  }

  /** The node key's Ethereum address (empty until started). */
  get address(): string {
    return this.#address;
  }

  #go(to: CrnState): void {
    if (!CRN_TRANSITIONS[this.#state].includes(to)) throw new Error(`cannot go from ${this.#state} to ${to}: a CRN node starts once`);
    this.#state = to;
  }

  async start(): Promise<void> {
    this.#go('starting');
    const config = this.config;
    try {
      // Workloads run as an unprivileged user: the data dir (key, database) must stay closed to them.
      mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
      chmodSync(config.dataDir, 0o700);
      this.#unlock = lockDataDir(config.dataDir);
      await this.#startLocked();
      this.#go('running');
    } catch (err) {
      this.#go('failed');
      await this.#release({ stopPersistent: false, failed: true });
      throw err;
    }
  }

  /** See RunningCrn.close. Idempotent; a node that never started just ends as stopped. */
  close(opts: { stopPersistent?: boolean } = {}): Promise<void> {
    if (this.#closing) return this.#closing;
    if (this.#state === 'created') {
      this.#go('stopped');
      return (this.#closing = Promise.resolve());
    }
    if (this.#state !== 'running') return Promise.resolve();
    this.#go('stopping');
    this.#closing = (async () => {
      try {
        await this.#release({ stopPersistent: opts.stopPersistent ?? this.config.stopWorkloadsOnExit, failed: false });
      } finally {
        this.#go('stopped');
      }
    })();
    return this.#closing;
  }

  /** Stops the loops first (nothing new starts), then the workloads, the API, the records, the lock. */
  async #release(opts: { stopPersistent: boolean; failed: boolean }): Promise<void> {
    const p = this.#parts;
    this.#parts = {};
    this.#draining = true;
    await p.watch?.close();
    await p.statusMonitor?.close();
    // Not awaited yet: a pool VM booting ends the round only after its boot; the executor's
    // close (through the supervisor) marks the pools closed, and that VM is destroyed then.
    const poolStopped = p.warmPool?.stop();
    if (p.supervisor) {
      const closing = p.supervisor.close({ stopPersistent: opts.stopPersistent });
      await (opts.failed ? closing.catch(() => undefined) : closing);
    }
    await poolStopped;
    if (p.app) await (opts.failed ? p.app.close().catch(() => undefined) : p.app.close());
    await p.agent?.close().catch(() => undefined);
    p.records?.close();
    this.#unlock?.();
    this.#unlock = undefined;
  }

  async #startLocked(): Promise<void> {
    const config = this.config;
    const logger = this.#log;
    const { account } = loadOrCreateKeyFile(config.keyFile || join(config.dataDir, 'node.key'));
    this.#address = account.address;

    let poolLoop: ServiceLoop | undefined;
    const executor = await createExecutor(config, config.dataDir, logger, () => poolLoop?.trigger());
    const host = executor.capacity();
    // Pool VMs hold their memory whether or not a program took them yet: not for admission.
    const poolMib = executor instanceof MicroVmExecutor ? (executor.pools?.reservedMemoryMib() ?? 0) : 0;
    const capacity: CapacitySettings = {
      vcpus: Math.max(0, (config.capacityVcpus || host.vcpus || cpus().length) * config.vcpuOvercommit - config.reservedVcpus),
      memoryMib: Math.max(0, (config.capacityMemoryMib || host.memoryMib || Math.floor(totalmem() / 1048576)) - config.reservedMemoryMib - poolMib),
      reservedDiskMib: config.reservedDiskMib,
      dataDir: config.dataDir,
    };
    const records = new ExecutionRecords(join(config.dataDir, 'crn.sqlite'));
    this.#parts.records = records;
    const portForwards = new PortForwardTable(records.database, { start: config.portForwardStart, end: config.portForwardEnd });
    const cache = new DownloadCache(join(config.dataDir, 'cache'), config.cacheMaxMib * 1024 * 1024);
    const retired = new RetiredMessages(records.database);
    const ccns = ccnUrls(config);
    const ccn = new CcnClient(ccns, {
      messageCacheBytes: config.messageCacheMib * 1024 * 1024,
      statusCacheMs: config.messageStatusCacheSeconds * 1000,
      failbackMs: config.ccnFailbackSeconds * 1000,
      onSwitch: (from, to, why) => logger.warn({ from, to, why }, 'CCN unreachable: reading from the next CCN of the list'),
    });
    const payments = createPaymentChecker(config, ccn, account.address, logger.child({ component: 'payments' }));
    const onDemand: OnDemandPolicy = {
      quota: ownerQuota(capacity, { vcpusShare: config.ownerOnDemandVcpusShare, memoryShare: config.ownerOnDemandMemoryShare, maxExecutions: config.ownerOnDemandMaxExecutions }),
      idleTimeoutSeconds: config.idleTimeoutSeconds,
      unpaidIdleTimeoutSeconds: config.unpaidIdleTimeoutSeconds,
      exempt: diagnosticProgramSet(config),
      // Paid = the last payment check of the message passed (the gate before its start, then the monitor).
      isPaid: (m) => payments.isPaid(m.message.item_hash),
    };
    const metrics = createMetrics();
    const supervisor = new Supervisor({
      executor,
      ccn,
      cache,
      records,
      retired,
      portForwards,
      logger: logger.child({ component: 'supervisor' }),
      settings: {
        idleTimeoutSeconds: config.idleTimeoutSeconds,
        startTimeoutSeconds: config.startTimeoutSeconds,
        stopTimeoutSeconds: config.stopTimeoutSeconds,
        restartBackoffMaxSeconds: config.restartBackoffMaxSeconds,
        capacity,
        volumesDir: join(config.dataDir, 'volumes'),
        instancesDir: join(config.dataDir, 'instances'),
        maxDownloadBytes: config.maxDownloadMib * 1024 * 1024,
        maxImageBytes: config.maxImageMib * 1024 * 1024,
        instanceStartTimeoutSeconds: config.instanceStartTimeoutSeconds,
        instanceStopTimeoutSeconds: config.instanceStopTimeoutSeconds,
        unzip: { maxEntries: config.zipMaxEntries, maxTotalBytes: config.zipMaxMib * 1024 * 1024 },
        // What programs get as ALEPH_API_HOST: the preferred CCN.
        ccnUrl: ccns[0] as string,
        onDemand,
      },
      onStateChange: (exec) => metrics.executionTransitions.inc({ state: exec.state }),
      ...(config.enforcePayments ? { beforeStart: paymentGate(payments) } : {}),
      onExecutableMessage: (v) => triggers?.register(v.message.item_hash, (v.content.on as { message?: unknown } | undefined)?.message),
    });
    this.#parts.supervisor = supervisor;
    if (executor instanceof MicroVmExecutor && executor.pools) {
      const pools = executor.pools;
      const poolLog = logger.child({ component: 'warm-pool' });
      // A pool that fails to boot: the loop logs it and backs off (1 s doubling up to 5 min).
      poolLoop = new ServiceLoop({
        name: 'warm-pool',
        log: poolLog,
        intervalMs: 60_000,
        backoff: { baseMs: 1000, maxMs: 300_000 },
        round: async () => {
          const before = pools.idle().length;
          await executor.refillPools();
          const idle = pools.idle().length;
          // Said when VMs were booted (after each take, at start), quiet on a full pool's rounds.
          if (idle !== before) poolLog.info({ idle, taken: pools.taken }, 'warm pools refilled');
        },
      });
      this.#parts.warmPool = poolLoop;
    }
    const triggers = config.messageWatch ? new MessageTriggers(supervisor, logger.child({ component: 'triggers' })) : undefined;
    metrics.bind(supervisor, cache);

    // Operator login token (crn-api.md §2.3): new at each start, readable only by root.
    const loginToken = randomBytes(24).toString('hex');
    const tokenPath = join(config.dataDir, 'login.token');
    rmSync(tokenPath, { force: true });
    writeFileSync(tokenPath, loginToken, { mode: 0o400 });
    logger.info({ tokenFile: tokenPath, login: '/about/login?token=<contents of tokenFile>' }, 'operator login token written (mode 0400)');

    const agent = new Agent({ keepAliveTimeout: 10_000, connections: 256 });
    this.#parts.agent = agent;
    const app = await buildServer(
      {
        config,
        address: account.address,
        supervisor,
        executor,
        ccn,
        cache,
        records,
        metrics,
        payments,
        capacity,
        logger,
        serverHeader: `${config.serverName}/${config.serverVersion}`,
        loginToken,
        isDraining: () => this.#draining,
      },
      agent,
    );
    this.#parts.app = app;

    // With payments enforced, the payment monitor reads each message's state and does the status poll's work too.
    const statusMonitor = config.enforcePayments
      ? createPaymentMonitor(config, payments, supervisor, logger.child({ component: 'payment-monitor' }))
      : new StatusMonitor(supervisor, ccn, logger.child({ component: 'status-monitor' }));
    this.#parts.statusMonitor = statusMonitor;
    await supervisor.restore();
    // After the restore's orphan cleanup, which must not meet a pool VM half booted.
    poolLoop?.start();
    statusMonitor.start(config.enforcePayments ? config.paymentMonitorIntervalSeconds : config.statusPollSeconds);
    if (config.messageWatch) {
      this.#parts.watch = messageWatch({ config, ccn, ccns, supervisor, records, triggers, logger });
      this.#parts.watch.start();
    }
    await app.listen({ host: config.host, port: config.port });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.port;
    const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
    this.#url = `http://${hostForUrl}:${port}`;
    logger.info({ port, executor: executor.name, address: account.address }, 'CRN listening');
  }
}

/** Starts a node; resolves once its API listens. */
export async function startCrn(input: CrnConfig, opts: StartCrnOptions = {}): Promise<CrnNode> {
  const node = new CrnNode(input, opts);
  await node.start();
  return node;
}
