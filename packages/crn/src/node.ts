/** Wiring of one CRN: data dir, key, executor, cache, records, supervisor, HTTP API. */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { createLogger, loadOrCreateKeyFile, type Logger } from '@aleph-nodes/service';
import { buildImages } from '@aleph-nodes/guest/build';
import { MicroVmExecutor, ProcessExecutor, type Executor } from '@aleph-nodes/vmm';
import type { ProgramContent } from '@aleph-nodes/protocol';
import { buildServer } from './api/server.ts';
import { CcnClient } from './ccn/ccn-client.ts';
import { MessageWatch } from './ccn/message-watch.ts';
import { ccnUrls, CrnConfigSchema, diagnosticProgramSet, type CrnConfig } from './config.ts';
import { PortForwardTable } from './db/port-forwards.ts';
import { ExecutionRecords } from './db/records.ts';
import { RetiredMessages } from './db/retired.ts';
import type { CapacitySettings } from './execution/admission.ts';
import { HeardMessages } from './execution/heard-messages.ts';
import { ownerQuota, type OnDemandPolicy } from './execution/owner-quota.ts';
import { Supervisor } from './execution/supervisor.ts';
import { StatusMonitor } from './execution/status-monitor.ts';
import { MessageTriggers } from './execution/triggers.ts';
import { createPaymentChecker, createPaymentMonitor, paymentGate } from './payments/node-payments.ts';
import { createMetrics } from './metrics.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { DownloadCache } from './storage/download-cache.ts';

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

async function createExecutor(config: CrnConfig, dataDir: string, logger: Logger): Promise<Executor> {
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
      dnsServers: config.dnsServers,
      ...(config.ipv6Range ? { network: { ipv6Range: config.ipv6Range } } : {}),
      codeCache: config.codeCacheMib > 0 ? { maxBytes: config.codeCacheMib * 1024 * 1024 } : false,
    });
    logger.info({ accelerator: executor.accelerator.accelerator, reason: executor.accelerator.reason }, 'microvm executor ready');
    return executor;
  }
  return new ProcessExecutor({ stateDir: join(dataDir, 'executions'), poolBase: config.workloadPoolBase, dnsServers: config.dnsServers });
}

export async function startCrn(input: CrnConfig, opts: StartCrnOptions = {}): Promise<RunningCrn> {
  const config = CrnConfigSchema.parse(input);
  const logger = opts.logger ?? createLogger({ name: 'crn', level: config.logLevel });
  // Workloads run as an unprivileged user: the data dir (key, database) must stay closed to them.
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  chmodSync(config.dataDir, 0o700);
  const unlock = lockDataDir(config.dataDir);
  try {
    return await startLocked(config, logger, unlock);
  } catch (err) {
    unlock();
    throw err;
  }
}

async function startLocked(config: CrnConfig, logger: Logger, unlock: () => void): Promise<RunningCrn> {
  const { account } = loadOrCreateKeyFile(config.keyFile || join(config.dataDir, 'node.key'));

  const executor = await createExecutor(config, config.dataDir, logger);
  const host = executor.capacity();
  const capacity: CapacitySettings = {
    vcpus: Math.max(0, (config.capacityVcpus || host.vcpus || cpus().length) * config.vcpuOvercommit - config.reservedVcpus),
    memoryMib: Math.max(0, (config.capacityMemoryMib || host.memoryMib || Math.floor(totalmem() / 1048576)) - config.reservedMemoryMib),
    reservedDiskMib: config.reservedDiskMib,
    dataDir: config.dataDir,
  };
  const records = new ExecutionRecords(join(config.dataDir, 'crn.sqlite'));
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
  const triggers = config.messageWatch ? new MessageTriggers(supervisor, logger.child({ component: 'triggers' })) : undefined;
  metrics.bind(supervisor, cache);

  // Operator login token (crn-api.md §2.3): new at each start, readable only by root.
  const loginToken = randomBytes(24).toString('hex');
  const tokenPath = join(config.dataDir, 'login.token');
  rmSync(tokenPath, { force: true });
  writeFileSync(tokenPath, loginToken, { mode: 0o400 });
  logger.info({ tokenFile: tokenPath, login: '/about/login?token=<contents of tokenFile>' }, 'operator login token written (mode 0400)');

  let draining = false;
  const agent = new Agent({ keepAliveTimeout: 10_000, connections: 256 });
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
      isDraining: () => draining,
    },
    agent,
  );

  let watch: MessageWatch | undefined;
  // With payments enforced, the payment monitor reads each message's state and does the status poll's work too.
  const statusMonitor = config.enforcePayments
    ? createPaymentMonitor(config, payments, supervisor, logger.child({ component: 'payment-monitor' }))
    : new StatusMonitor(supervisor, ccn, logger.child({ component: 'status-monitor' }));
  try {
    await supervisor.restore();
    statusMonitor.start(config.enforcePayments ? config.paymentMonitorIntervalSeconds : config.statusPollSeconds);
    if (config.messageWatch) {
      const heard = new HeardMessages({
        ccn,
        ownerOf: (ref) => {
          const known = supervisor.find(ref)?.owner ?? records.get(ref)?.owner;
          if (known !== undefined) return known;
          // A program only in the message cache would start from it on the next request.
          const cached = ccn.peekMessage(ref);
          return cached && (cached.message.type === 'PROGRAM' || cached.message.type === 'INSTANCE') ? String(cached.content.address ?? cached.message.sender) : undefined;
        },
        live: () =>
          supervisor.liveExecutions().map((e) => ({ ref: e.ref, owner: e.owner, codeRef: (e.message.content as unknown as Partial<ProgramContent>).code?.ref })),
        retire: (ref, why) => supervisor.messageRetired(ref, why),
        forgotten: (ref) => triggers?.forget(ref),
        logger: logger.child({ component: 'heard-messages' }),
      });
      watch = new MessageWatch(
        ccns,
        {
          message: (msg) => {
            // Subscriptions come from the CCN's processed messages; they are verified before use.
            if (msg.type === 'PROGRAM') {
              ccn.verify(msg).then(
                (v) => triggers?.register(v.message.item_hash, (v.content.on as { message?: unknown } | undefined)?.message),
                () => undefined,
              );
            }
            triggers?.dispatch(msg, (m) => ccn.verify(m));
            void heard.handle(msg);
          },
        },
        logger.child({ component: 'message-watch' }),
        { failbackMs: config.ccnFailbackSeconds * 1000 },
      );
      watch.start();
    }
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    watch?.close();
    statusMonitor.close();
    await supervisor.close().catch(() => undefined);
    await app.close().catch(() => undefined);
    await agent.close().catch(() => undefined);
    records.close();
    throw err;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  logger.info({ port, executor: executor.name, address: account.address }, 'CRN listening');

  let closing: Promise<void> | undefined;
  return {
    url: `http://${hostForUrl}:${port}`,
    address: account.address,
    close(opts = {}) {
      closing ??= (async () => {
        draining = true;
        watch?.close();
        statusMonitor.close();
        await supervisor.close({ stopPersistent: opts.stopPersistent ?? config.stopWorkloadsOnExit });
        await app.close();
        await agent.close().catch(() => undefined);
        records.close();
        unlock();
      })();
      return closing;
    },
  };
}
