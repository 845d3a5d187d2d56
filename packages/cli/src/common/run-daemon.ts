/**
 * Runs a node daemon in the foreground: start it, log where it listens, and on SIGINT/SIGTERM
 * close it cleanly (a CRN stops its workloads there when configured to). Signals that come while
 * it stops are logged and ignored: a terminal's Ctrl-C followed by a supervisor's SIGTERM must not
 * abandon VMs half-stopped. Only a close that hangs past `closeTimeoutMs` exits anyway.
 * A signal that arrives while the node is still starting is honoured once the start completes.
 */
import { ConfigError, type Logger } from '@aleph-nodes/service';
import { EXIT } from './exit-codes.ts';
import { humanMessage } from './fail.ts';
import { listenForStop, STOP_WITH_PARENT_ENV } from './stop-requests.ts';

export interface RunningNode {
  url: string;
  address: string;
  close(): Promise<void>;
}

export interface DaemonOptions {
  name: string;
  logger: Logger;
  start(): Promise<RunningNode>;
  /** Checks once the node is ready; they may only warn. */
  afterStart?(): Promise<void>;
  /** How long close() may take before the process exits anyway. */
  closeTimeoutMs?: number;
}

export async function runDaemon(opts: DaemonOptions): Promise<number> {
  // Listening before start(): the default action of SIGTERM is to die at once, mid-start.
  const stop = listenForStop({
    signals: ['SIGINT', 'SIGTERM'],
    stopOnStdinEnd: process.env[STOP_WITH_PARENT_ENV] === '1',
    onRepeat: (reason) => opts.logger.warn({ signal: reason }, `${opts.name} is already stopping; ${reason} ignored (it finishes stopping cleanly)`),
  });
  let node: RunningNode;
  try {
    node = await opts.start();
  } catch (err) {
    opts.logger.fatal({ err }, `${opts.name} failed to start`);
    stop.dispose();
    // A configuration the node cannot use (a corrupt key file...) is the operator's to fix: exit 2, said on stderr too.
    if (err instanceof ConfigError) {
      process.stderr.write(`${opts.name}: ${err.message}\n`);
      return EXIT.USAGE;
    }
    // The JSON log above has the stack for the developers; the operator gets one line.
    process.stderr.write(`${opts.name}: failed to start: ${humanMessage(err)}\n`);
    return EXIT.FAILURE;
  }
  opts.logger.info({ url: node.url, address: node.address }, `${opts.name} ready`);
  await opts.afterStart?.().catch((err: unknown) => opts.logger.warn({ err }, 'start-up check failed'));

  const reason = await stop.first;
  opts.logger.info({ signal: reason }, `${opts.name} stopping`);
  const timer = setTimeout(() => {
    opts.logger.error(`${opts.name} did not stop within ${opts.closeTimeoutMs ?? 30_000} ms; exiting`);
    process.exit(EXIT.FAILURE);
  }, opts.closeTimeoutMs ?? 30_000);
  timer.unref();
  try {
    await node.close();
  } catch (err) {
    opts.logger.error({ err }, `${opts.name} failed to stop cleanly`);
    return EXIT.FAILURE;
  } finally {
    clearTimeout(timer);
    stop.dispose();
  }
  opts.logger.info(`${opts.name} stopped`);
  return EXIT.OK;
}
