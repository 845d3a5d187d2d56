/**
 * `<node> start`: configuration from file, environment and flags, then the daemon in the
 * foreground. A bad configuration exits 2 before anything starts.
 */
import { ConfigError, createLogger, KeyFileError, loadConfig, type Logger } from '@aleph-nodes/service';
import type { z } from 'zod';
import { EXIT } from './exit-codes.ts';
import { runDaemon, type RunningNode } from './run-daemon.ts';

export interface StartCommandSpec<S extends z.ZodObject> {
  name: string;
  envPrefix: string;
  schema: S;
  start(config: z.infer<S>, logger: Logger): Promise<RunningNode>;
  /** How long a clean stop may take before the process exits anyway (default 30 s). */
  closeTimeoutMs?: number;
}

export async function runStartCommand<S extends z.ZodObject>(
  spec: StartCommandSpec<S>,
  configFile: string | undefined,
  flags: Record<string, unknown>,
): Promise<number> {
  let config: z.infer<S>;
  try {
    config = loadConfig(spec.schema, { envPrefix: spec.envPrefix, file: configFile, flags });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${spec.name}: ${err.message}\n`);
      return EXIT.USAGE;
    }
    throw err;
  }
  const level = typeof (config as { logLevel?: unknown }).logLevel === 'string' ? (config as { logLevel: string }).logLevel : undefined;
  const logger = createLogger({ name: spec.name, ...(level ? { level } : {}) });
  return runDaemon({
    name: spec.name,
    logger,
    ...(spec.closeTimeoutMs ? { closeTimeoutMs: spec.closeTimeoutMs } : {}),
    start: async () => {
      try {
        return await spec.start(config, logger);
      } catch (err) {
        // A key file (node.key, p2p.key) that cannot be used is a configuration error (exit 2).
        if (err instanceof KeyFileError) throw new ConfigError(err.message);
        throw err;
      }
    },
  });
}
