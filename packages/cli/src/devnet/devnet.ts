/**
 * The devnet's lifecycle: set up (setup.ts), print where everything is, stay in the foreground,
 * stop everything on Ctrl-C.
 *
 * Stopping: the nodes run in process groups of their own, so the terminal's Ctrl-C reaches only
 * the devnet, which sends each node exactly one SIGTERM (CRNs first, so that they stop their VMs
 * while their CCN still answers) and waits until every node has exited. More signals while it
 * stops are reported and ignored; a stop request during set-up stops the nodes started so far.
 * Should the devnet itself be killed, each node sees its stdin close and stops cleanly on its own.
 */
import { join } from 'node:path';
import { CRN_LIST_PATH } from '@aleph-nodes/protocol';
import { EXIT } from '../common/exit-codes.ts';
import { firewallTableGuard } from '../common/firewall-table.ts';
import { listenForStop } from '../common/stop-requests.ts';
import { NodeGroup } from './node-group.ts';
import { setUpDevnet, type DevnetOptions } from './setup.ts';
import { removeStateFile, writeStateFile, type DevnetState } from './state-file.ts';

export type { DevnetOptions } from './setup.ts';

/** A VM's clean shutdown under software emulation takes a while, hence the long grace before SIGKILL. */
const STOP_GRACE_MS = { crn: 90_000, ccn: 30_000 };

function banner(state: DevnetState, stateFile: string, dataDir: string): string {
  const ccnIndex = (url: string): number => state.ccns.findIndex((c) => c.url === url) + 1;
  return [
    '',
    'devnet ready',
    ...state.ccns.map((c, i) => `  CCN ${i + 1} ${c.url}${c.peer_id ? `  peer ${c.peer_id}` : ''}`),
    ...state.crns.map((c, i) => `  CRN ${i + 1} ${c.url}  (linked to CCN ${ccnIndex(c.ccn)})`),
    'consoles (web, in a browser):',
    ...state.ccns.map((c, i) => `  CCN ${i + 1} ${c.url}/console/`),
    ...state.crns.map((c, i) => `  CRN ${i + 1} ${c.url}/console/  (operator login token: ${join(dataDir, `crn-${i + 1}`, 'login.token')})`),
    `  API documents: <node URL>/openapi.json, rendered at <node URL>/console/docs; metrics: <node URL>/metrics`,
    `  state ${stateFile}`,
    `  oracle ${state.oracle.address}: npx ccn oracle balance|credits|flow ... --key-file ${state.oracle.key_file} --ccn ${state.ccn.url}`,
    `  Node.js runtime ${state.runtimes.node}`,
    ...(state.runtimes.python ? [`  Python runtime ${state.runtimes.python}`] : []),
    ...(state.diagnostic ? [`  aleph's diagnostic program ${state.diagnostic.url}  (checked by ${state.diagnostic.check})`] : []),
    ...(state.rootfs.debian ? [`  Debian instance image ${state.rootfs.debian} (rootfs.parent.ref of an INSTANCE)`] : []),
    `  Python clients (aleph-client, aleph-sdk-python): export ALEPH_API_HOST=${state.ccn.url} ALEPH_ALEPH_AGGREGATE_ADDRESS=${state.aggregates.address} ALEPH_CRN_LIST_URL=${state.ccn.url}${CRN_LIST_PATH}`,
    '',
    'call the sample program:',
    `  curl ${state.sample.url}`,
    '',
    'Ctrl-C stops the network.',
    '',
  ].join('\n');
}

export async function startDevnet(opts: DevnetOptions): Promise<number> {
  const group = new NodeGroup();
  const stop = listenForStop({
    signals: ['SIGINT', 'SIGTERM', 'SIGHUP'],
    onRepeat: (signal) => opts.logger.warn({ signal, running: group.running() }, 'the devnet is already stopping: waiting for its nodes to stop their workloads and exit'),
  });
  const releaseFirewall = opts.executor === 'microvm' ? firewallTableGuard() : () => {};
  const shutdown = async (): Promise<void> => {
    opts.logger.info({ running: group.running() }, 'stopping the devnet');
    await group.stopAll(STOP_GRACE_MS);
    releaseFirewall();
    removeStateFile(opts.stateFile);
    stop.dispose();
    opts.logger.info('the devnet stopped');
  };

  let state: DevnetState;
  try {
    const setup = setUpDevnet(opts, group);
    // If a stop request wins, the set-up carries on until its next node start, which is refused.
    setup.catch(() => undefined);
    const first = await Promise.race([setup.then((s) => ({ state: s })), stop.first.then((signal) => ({ signal }))]);
    if ('signal' in first) {
      opts.logger.warn({ signal: first.signal }, 'stop requested before the network was ready');
      await shutdown();
      return EXIT.FAILURE;
    }
    state = first.state;
    writeStateFile(opts.stateFile, state);
  } catch (err) {
    opts.logger.error({ err }, `devnet failed: ${(err as Error).message}`);
    await shutdown();
    return EXIT.FAILURE;
  }
  process.stdout.write(banner(state, opts.stateFile, opts.dataDir));

  // Losing a CRN or a CCN does not stop the network (its CCN moves a lost CRN's workloads; the
  // other CCNs carry on without a lost CCN): the devnet says so and stays up. With every CCN
  // gone nothing works any more, and the devnet stops.
  const nodes = new Map<string, Promise<number | null>>(group.exits());
  for (const [label, exited] of nodes) {
    void exited.then((code) => {
      if (!group.stopping) opts.logger.error({ node: label, code }, `${label} exited; the network carries on without it`);
    });
  }
  const ccnsGone = Promise.all([...nodes].filter(([label]) => label.startsWith('ccn')).map(([, exited]) => exited));
  const outcome = await Promise.race([stop.first.then((signal) => ({ signal })), ccnsGone.then(() => ({ signal: undefined }))]);
  if (outcome.signal === undefined) opts.logger.error('every CCN exited; stopping the devnet');
  await shutdown();
  return outcome.signal !== undefined ? EXIT.OK : EXIT.FAILURE;
}
