/**
 * Process entry for tests and supervisors: `node --import tsx packages/ccn/src/main.ts <config.json>`.
 * Settings come from the JSON file, then `CCN_*` environment variables override it. Logs JSON
 * lines (pino), the last start-up line being `ccn listening` with the url and key address, and
 * stops cleanly on SIGINT/SIGTERM. Operators use `ccn start` of @aleph-nodes/cli instead.
 */
import { ConfigError, createLogger, KeyFileError } from '@aleph-nodes/service';
import { loadCcnConfig } from './config.ts';
import { startCcn } from './node.ts';

async function main(argv: readonly string[]): Promise<number> {
  const file = argv[2];
  let config;
  try {
    config = loadCcnConfig(file ? { file } : {});
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`ccn: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const logger = createLogger({ name: 'ccn', level: config.logLevel });
  let node;
  try {
    node = await startCcn(config, { logger });
  } catch (err) {
    logger.fatal({ err }, 'ccn failed to start');
    // An unusable key file (node.key, p2p.key) is a configuration error, as for `ccn start`.
    if (err instanceof KeyFileError) {
      process.stderr.write(`ccn: ${err.message}\n`);
      return 2;
    }
    return 1;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  logger.info({ signal }, 'ccn stopping');
  await node.close();
  logger.info('ccn stopped');
  return 0;
}

main(process.argv).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`ccn: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
