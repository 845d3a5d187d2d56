/**
 * `ccn init`: writes a configuration file and creates the node key (the only command besides
 * `crn init` that makes a key: `ccn start` refuses to run without one), so that `ccn start
 * --config FILE` and `ccn register --config FILE` work without further flags.
 *
 * `--network devnet` writes the settings of a development network: operations tagged `devnet`,
 * and no ALEPH balance needed to run a node or to stake (a development network has no token and
 * usually no balance oracle). `--network mainnet` keeps the real network's defaults: tag `mainnet`,
 * 199,999 ALEPH held by a CCN owner as the balance oracle (`balanceIndexers`) reports it.
 */
import { existsSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CcnConfigSchema } from '@aleph-nodes/ccn/config';
import { loadOrCreateKeyFile } from '@aleph-nodes/service';
import { EXIT } from '../common/exit-codes.ts';
import { printJson } from '../common/output.ts';

/** What a development network changes from the defaults (the defaults are the real network's). */
export const DEVNET_SETTINGS = {
  registryTag: 'devnet',
  ccnOwnerMinBalance: 0,
  stakerMinBalance: 0,
  ccnActivationStake: 0,
} as const;

export interface CcnInitOptions {
  dataDir: string;
  host: string;
  port: number;
  db: string;
  network: string;
  configFile?: string | undefined;
  force: boolean;
  json: boolean;
}

export function runCcnInit(opts: CcnInitOptions): number {
  const dataDir = resolve(opts.dataDir);
  const configFile = resolve(opts.configFile ?? join(dataDir, 'config.json'));
  const fail = (line: string): number => {
    process.stderr.write(`ccn init: ${line}\n`);
    return EXIT.USAGE;
  };
  if (opts.network !== 'devnet' && opts.network !== 'mainnet') return fail(`--network must be devnet or mainnet, got ${opts.network}`);
  if (existsSync(configFile) && !opts.force) return fail(`${configFile} exists; pass --force to overwrite it`);
  if (existsSync(dataDir) && !statSync(dataDir).isDirectory()) return fail(`data dir ${dataDir} is not a directory`);
  const config = {
    host: opts.host,
    port: opts.port,
    dataDir,
    db: opts.db,
    keyFile: join(dataDir, 'node.key'),
    ...(opts.network === 'devnet' ? DEVNET_SETTINGS : {}),
  };
  const checked = CcnConfigSchema.safeParse(config);
  if (!checked.success) return fail(checked.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`).join('; '));
  // Every argument is checked: from here on, anything written means success (exit 0).
  mkdirSync(dataDir, { recursive: true });
  const { account, created } = loadOrCreateKeyFile(config.keyFile);
  mkdirSync(dirname(configFile), { recursive: true });
  const tmp = `${configFile}.${process.pid}.tmp`;
  // The db URL may hold a password: readable by the node's user only.
  writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, configFile);
  if (opts.json) printJson({ configFile, keyFile: config.keyFile, address: account.address, keyCreated: created, network: opts.network });
  else {
    process.stdout.write(`configuration written to ${configFile} (${opts.network} network)\n`);
    process.stdout.write(`node key ${created ? 'created' : 'kept'} at ${config.keyFile} (address ${account.address}): back it up, it is the node's identity\n`);
    process.stdout.write(`next: ccn start --config ${configFile}, then ccn register --config ${configFile}\n`);
  }
  return EXIT.OK;
}
