/** The `ccn` command: run and operate a Core Channel Node. */
import { join } from 'node:path';
// The config alone: `ccn register`, `init`, `link`... do not load the whole node (seconds per command).
import { CcnConfigSchema } from '@aleph-nodes/ccn/config';
import { loadConfig } from '@aleph-nodes/service';
import { localUrl } from '../common/local-url.ts';
import { runCcnInit } from './init.ts';
import { runCcnRegister } from './register.ts';
import { warnAboutRegistry } from './start-checks.ts';
import { newProgram, parsePort, runProgram } from '../common/commander.ts';
import { printSettings } from '../common/config-command.ts';
import { EXIT } from '../common/exit-codes.ts';
import { runStartCommand } from '../common/start-command.ts';
import { runLink } from './link.ts';
import { addOracleCommands } from './oracle-command.ts';
import { runRewards } from './rewards.ts';

export async function main(argv: readonly string[]): Promise<number> {
  const result: { code: number } = { code: EXIT.OK };
  const program = newProgram('ccn', 'Core Channel Node: holds the network\'s signed messages and files, and the node registry');

  program
    .command('start')
    .description('run the node in the foreground until SIGINT/SIGTERM (ready when GET /api/v0/messages.json answers 200)')
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('--port <port>', 'TCP port, 0 for any free port (default 4024)', parsePort)
    .option('--p2p-port <port>', 'P2P (libp2p) TCP port, 0 for any free port (default 4025)', parsePort)
    .option('--data-dir <dir>', 'where the database, files and key live (required)')
    .option('--db <engine>', "'sqlite' (default, a file in the data dir) or a postgres:// URL")
    .option('--key-file <path>', 'node key (0x-hex secp256k1), made by `ccn init` (default <data-dir>/node.key); never created here')
    .option('--config <file>', 'JSON configuration file (flags override it, it overrides CCN_* variables... see `ccn config`)')
    .option('--log-level <level>', 'trace, debug, info, warn, error')
    .option('--print-config', 'print the settings in effect (defaults, file, environment, flags) as JSON and exit')
    .action(async (opts: { host?: string; port?: number; p2pPort?: number; dataDir?: string; db?: string; keyFile?: string; config?: string; logLevel?: string; printConfig?: boolean }) => {
      result.code = await runStartCommand(
        { name: 'ccn', envPrefix: 'CCN', schema: CcnConfigSchema, start: async (config, logger) => (await import('@aleph-nodes/ccn')).startCcn(config, { logger }), afterStart: warnAboutRegistry },
        opts.config,
        { host: opts.host, port: opts.port, p2pPort: opts.p2pPort, dataDir: opts.dataDir, db: opts.db, keyFile: opts.keyFile, logLevel: opts.logLevel },
        opts.printConfig === true,
      );
    });

  program
    .command('init')
    .description('write a configuration file and create the node key (`ccn start` never creates one)')
    .requiredOption('--data-dir <dir>', 'the node data directory')
    .option('--network <name>', "'mainnet' (the real network's registry rules) or 'devnet' (tag devnet, no ALEPH balance required)", 'mainnet')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'TCP port', parsePort, 4024)
    .option('--db <engine>', "'sqlite' or a postgres:// URL", 'sqlite')
    .option('--config-file <file>', 'where to write the configuration (default <data-dir>/config.json)')
    .option('--force', 'overwrite an existing configuration file')
    .option('--json', 'machine-readable output')
    .action((opts: { dataDir: string; network: string; host: string; port: number; db: string; configFile?: string; force?: boolean; json?: boolean }) => {
      result.code = runCcnInit({ ...opts, force: opts.force === true, json: opts.json === true });
    });

  program
    .command('register')
    .description("publish this CCN's create-node operation, check the registry applied it, and write the node hash into the config file (a second run publishes nothing)")
    .requiredOption('--config <file>', 'the node configuration (from `ccn init`)')
    .option('--ccn <url>', 'the CCN to publish to (default: this node, from its host and port)')
    .option('--name <name>', 'node name shown in the registry', 'ccn')
    .option('--multiaddress <addr>', 'public libp2p multiaddress of the node (default: its multiaddress setting)')
    .option('--owner-key <file>', "sign with the owner's key instead of the node key (then nodeHash tells the node which CCN it is)")
    .option('--tag <tag>', "tag the registry honours (default: the CCN's registryTag)")
    .option('--json', 'machine-readable output')
    .action(async (opts: { config: string; ccn?: string; name: string; multiaddress?: string; ownerKey?: string; tag?: string; json?: boolean }) => {
      const config = loadConfig(CcnConfigSchema, { envPrefix: 'CCN', file: opts.config });
      result.code = await runCcnRegister({
        ccn: (opts.ccn ?? localUrl(config.host, config.port)).replace(/\/+$/, ''),
        keyFile: opts.ownerKey ?? (config.keyFile || join(config.dataDir, 'node.key')),
        name: opts.name,
        multiaddress: opts.multiaddress ?? config.multiaddress,
        tag: opts.tag,
        json: opts.json === true,
        configFile: opts.config,
        nodeHash: config.nodeHash,
      });
    });

  program
    .command('config')
    .description('list the settings `ccn start` reads, their CCN_* environment variables and defaults')
    .option('--json', 'machine-readable output')
    .action((opts: { json?: boolean }) => {
      printSettings(CcnConfigSchema, 'CCN', opts.json === true);
    });

  program
    .command('link')
    .description("link a registered resource node (CRN) to this CCN; signed with the CCN owner's key")
    .argument('<crn-hash>', 'the CRN node hash (item hash of its create-resource-node message)')
    .requiredOption('--key-file <file>', "the CCN owner's key")
    .option('--ccn <url>', 'the CCN to publish to', 'http://127.0.0.1:4024')
    .option('--tag <tag>', "tag the registry honours (default: the CCN's registryTag; the network's is 'mainnet')")
    .option('--json', 'machine-readable output')
    .action(async (crnHash: string, opts: { keyFile: string; ccn: string; tag?: string; json?: boolean }) => {
      result.code = await runLink({ crnHash, ccn: opts.ccn, keyFile: opts.keyFile, tag: opts.tag, json: opts.json === true });
    });

  program
    .command('rewards')
    .description('compute the ALEPH reward distribution of a period from the published scores and the registry; --publish signs and publishes it')
    .requiredOption('--from <date>', 'start of the period: ISO 8601 or unix seconds')
    .requiredOption('--to <date>', 'end of the period (exclusive): ISO 8601 or unix seconds')
    .option('--ccn <url>', 'the CCN to read from (and publish to)', 'http://127.0.0.1:4024')
    .option('--key <file>', 'key that signs the distribution (needed with --publish)')
    .option('--publish', 'publish the distribution as a signed staking-rewards-distribution POST (refused when the period overlaps one already published)')
    .option('--tag <tag>', "tag of the distribution post (the network's is 'mainnet'; the devnet's 'devnet')", 'mainnet')
    .option('--scores-sender <address>', 'address whose score posts count (repeatable; default: the registry address the CCN serves)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--json', 'canonical JSON output (sorted keys): the same period gives the same bytes')
    .action(async (opts: { from: string; to: string; ccn: string; key?: string; publish?: boolean; tag: string; scoresSender: string[]; json?: boolean }) => {
      result.code = await runRewards({
        from: opts.from,
        to: opts.to,
        ccn: opts.ccn,
        json: opts.json === true,
        publish: opts.publish === true,
        tag: opts.tag,
        scoresSenders: opts.scoresSender,
        ...(opts.key ? { key: opts.key } : {}),
      });
    });

  addOracleCommands(program, result);

  return runProgram(program, argv, result);
}
