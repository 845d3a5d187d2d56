/**
 * `<node> start`: configuration from file, environment and flags, then the daemon in the
 * foreground. A bad configuration exits 2 before anything starts, with one line on stderr naming
 * the setting, file or path: an unusable data dir, a key file that is missing (keys are made by
 * `<node> init`, never here: a mistyped --key-file must not become a new node identity) or not a
 * key. `--print-config` prints the settings in effect and exits.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, createLogger, KeyFileError, loadConfig, readKeyFile, type Logger } from '@aleph-nodes/service';
import type { z } from 'zod';
import { maskSecrets } from './config-file.ts';
import { EXIT } from './exit-codes.ts';
import { printJson } from './output.ts';
import { runDaemon, type RunningNode } from './run-daemon.ts';

export interface StartCommandSpec<S extends z.ZodObject> {
  name: string;
  envPrefix: string;
  schema: S;
  start(config: z.infer<S>, logger: Logger): Promise<RunningNode>;
  /** Checks once the node is ready (warnings only). */
  afterStart?(config: z.infer<S>, logger: Logger): Promise<void>;
  /** How long a clean stop may take before the process exits anyway (default 30 s). */
  closeTimeoutMs?: number;
}

interface NodeFiles {
  dataDir: string;
  keyFile: string;
}

/** The data dir and key file a node needs before it starts, checked with a human message. */
export function checkNodeFiles(name: string, config: NodeFiles): void {
  if (existsSync(config.dataDir) && !statSync(config.dataDir).isDirectory()) {
    throw new ConfigError(`data dir ${config.dataDir} is not a directory`);
  }
  const keyFile = config.keyFile || join(config.dataDir, 'node.key');
  if (!existsSync(keyFile)) {
    throw new ConfigError(
      config.keyFile
        ? `key file ${keyFile} does not exist (check --key-file / keyFile; a new node key is made by \`${name} init\`)`
        : `no node key at ${keyFile}: create it with \`${name} init --data-dir ${config.dataDir}\` (or point --key-file at the node's key)`,
    );
  }
  readKeyFile(keyFile);
}

export async function runStartCommand<S extends z.ZodObject>(
  spec: StartCommandSpec<S>,
  configFile: string | undefined,
  flags: Record<string, unknown>,
  printConfig = false,
): Promise<number> {
  let config: z.infer<S>;
  try {
    config = loadConfig(spec.schema, { envPrefix: spec.envPrefix, file: configFile, flags });
    if (printConfig) {
      printJson(maskSecrets(config as Record<string, unknown>));
      return EXIT.OK;
    }
    checkNodeFiles(spec.name, config as unknown as NodeFiles);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof KeyFileError) {
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
    ...(spec.afterStart ? { afterStart: () => spec.afterStart?.(config, logger) ?? Promise.resolve() } : {}),
  });
}
