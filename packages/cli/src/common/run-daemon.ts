/**
 * Runs a node daemon in the foreground: start it, log where it listens, and on SIGINT/SIGTERM
 * close it cleanly. A second signal, or a close that hangs, exits at once.
 */
import { ConfigError, type Logger } from '@aleph-nodes/service';
import { EXIT } from './exit-codes.ts';

export interface RunningNode {
  url: string;
  address: string;
  close(): Promise<void>;
}

export interface DaemonOptions {
  name: string;
  logger: Logger;
  start(): Promise<RunningNode>;
  /** How long close() may take before the process exits anyway. */
  closeTimeoutMs?: number;
}

export async function runDaemon(opts: DaemonOptions): Promise<number> {
  let node: RunningNode;
  try {
    node = await opts.start();
  } catch (err) {
    opts.logger.fatal({ err }, `${opts.name} failed to start`);
    // A configuration the node cannot use (a corrupt key file...) is the operator's to fix: exit 2, said on stderr too.
    if (err instanceof ConfigError) {
      process.stderr.write(`${opts.name}: ${err.message}\n`);
      return EXIT.USAGE;
    }
    return EXIT.FAILURE;
  }
  opts.logger.info({ url: node.url, address: node.address }, `${opts.name} ready`);

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  opts.logger.info({ signal }, `${opts.name} stopping`);
  const force = (): never => {
    opts.logger.error(`${opts.name} did not stop in time; exiting`);
    process.exit(EXIT.FAILURE);
  };
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  const timer = setTimeout(force, opts.closeTimeoutMs ?? 30_000);
  timer.unref();
  try {
    await node.close();
  } catch (err) {
    opts.logger.error({ err }, `${opts.name} failed to stop cleanly`);
    return EXIT.FAILURE;
  } finally {
    clearTimeout(timer);
  }
  opts.logger.info(`${opts.name} stopped`);
  return EXIT.OK;
}
