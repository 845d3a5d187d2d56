/** The `crn` command: run and operate a Compute Resource Node. */
import { join } from 'node:path';
// The config alone: `crn register`, `status`... do not load the whole node.
import { ccnUrls, CrnConfigSchema } from '@aleph-nodes/crn/config';
import { loadConfig } from '@aleph-nodes/service';
import { localHost } from '../common/local-url.ts';
import { newProgram, parsePort, runProgram } from '../common/commander.ts';
import { printSettings } from '../common/config-command.ts';
import { EXIT } from '../common/exit-codes.ts';
import { runStartCommand } from '../common/start-command.ts';
import { runDoctor } from './doctor/command.ts';
import { probeKvm } from './doctor/kvm.ts';
import { runInit } from './init.ts';
import { runRegister } from './register.ts';
import { runStatus } from './status.ts';
import { warnIfCcnUnreachable } from './ccn-reachable.ts';

const REGISTRY_TAG_HELP = "tag the registry honours (the network's is 'mainnet'; the devnet's 'devnet')";

export async function main(argv: readonly string[]): Promise<number> {
  const result: { code: number } = { code: EXIT.OK };
  const program = newProgram('crn', 'Compute Resource Node: runs programs and instances isolated from the host');

  program
    .command('start')
    .description('run the node in the foreground until SIGINT/SIGTERM (ready when GET /about/usage/system answers 200)')
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('--port <port>', 'TCP port, 0 for any free port (default 4020)', parsePort)
    .option('--data-dir <dir>', 'where records, the download cache, volumes and the key live (required)')
    .option('--ccn <url>', 'base URL of the Core Channel Node this node reads messages and files from (required)')
    .option('--executor <kind>', "workload isolation: 'microvm' (QEMU microVMs, the default) or 'process' (namespaces and a cgroup)")
    .option('--key-file <path>', 'node key (0x-hex secp256k1), made by `crn init` (default <data-dir>/node.key); never created here')
    .option('--config <file>', 'JSON configuration file (flags override it; it overrides CRN_* variables; see `crn config`)')
    .option('--log-level <level>', 'trace, debug, info, warn, error')
    .option('--print-config', 'print the settings in effect (defaults, file, environment, flags) as JSON and exit')
    .action(async (opts: { host?: string; port?: number; dataDir?: string; ccn?: string; executor?: string; keyFile?: string; config?: string; logLevel?: string; printConfig?: boolean }) => {
      result.code = await runStartCommand(
        {
          name: 'crn',
          envPrefix: 'CRN',
          schema: CrnConfigSchema,
          start: async (config, logger) => (await import('@aleph-nodes/crn')).startCrn(config, { logger }),
          afterStart: (config, logger) => warnIfCcnUnreachable(ccnUrls(config), logger),
          // Stopping VMs cleanly (ACPI power-down, then a grace period) is slow under software emulation.
          closeTimeoutMs: 80_000,
        },
        opts.config,
        { host: opts.host, port: opts.port, dataDir: opts.dataDir, ccn: opts.ccn, executor: opts.executor, keyFile: opts.keyFile, logLevel: opts.logLevel },
        opts.printConfig === true,
      );
    });

  program
    .command('config')
    .description('list the settings `crn start` reads, their CRN_* environment variables and defaults')
    .option('--json', 'machine-readable output')
    .action((opts: { json?: boolean }) => {
      printSettings(CrnConfigSchema, 'CRN', opts.json === true);
    });

  program
    .command('doctor')
    .description('check this host against the CRN requirements (bare metal, KVM, CPU, memory, NVMe, IPv4/IPv6, kernel features)')
    .option('--json', 'machine-readable output')
    .option('--strict', 'exit 1 when a requirement is not met')
    .option('--data-dir <dir>', 'the directory whose filesystem is checked for storage (it must exist)', '/')
    .action(async (opts: { json?: boolean; strict?: boolean; dataDir: string }) => {
      result.code = await runDoctor({ json: opts.json === true, strict: opts.strict === true, dataDir: opts.dataDir, probeKvm });
    });

  program
    .command('init')
    .description('write a configuration file and create the node key')
    .requiredOption('--data-dir <dir>', 'the node data directory')
    .requiredOption('--ccn <url>', 'base URL of the CCN the node reads from')
    .option('--domain <name>', "the node's public host name (DOMAIN_NAME)", '127.0.0.1')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'TCP port', parsePort, 4020)
    .option('--config-file <file>', 'where to write the configuration (default <data-dir>/config.json)')
    .option('--allocation-signer <address...>', 'address allowed to push allocations: the key of the CCN this node is linked to', [])
    .option('--force', 'overwrite an existing configuration file')
    .option('--json', 'machine-readable output')
    .action((opts: { dataDir: string; ccn: string; domain: string; host: string; port: number; configFile?: string; allocationSigner: string[]; force?: boolean; json?: boolean }) => {
      result.code = runInit({ ...opts, allocationSigners: opts.allocationSigner, force: opts.force === true, json: opts.json === true });
    });

  program
    .command('register')
    .description('publish this node as a resource node in the registry of its CCN, check the registry applied it, and write the node hash into the config file (a second run publishes nothing)')
    .requiredOption('--config <file>', 'the node configuration (from `crn init`)')
    .option('--name <name>', 'node name shown in the registry', 'crn')
    .option('--address <url>', 'public URL of the node (default https://<domain>)')
    .option('--owner-key <file>', 'sign with this operator key instead of the node key')
    .option('--tag <tag>', REGISTRY_TAG_HELP)
    .option('--json', 'machine-readable output')
    .action(async (opts: { config: string; name: string; address?: string; ownerKey?: string; tag?: string; json?: boolean }) => {
      const config = loadConfig(CrnConfigSchema, { envPrefix: 'CRN', file: opts.config });
      result.code = await runRegister({
        // The preferred CCN of the list (the registry is the same on every CCN).
        ccn: ccnUrls(config)[0] as string,
        keyFile: opts.ownerKey ?? (config.keyFile || join(config.dataDir, 'node.key')),
        name: opts.name,
        address: opts.address ?? `https://${config.domain}`,
        tag: opts.tag,
        json: opts.json === true,
        configFile: opts.config,
        nodeHash: config.nodeHash,
      });
    });

  program
    .command('status')
    .description('what a running CRN reports (version, capacity, executions) and, once it has a node hash, its registry entry: linked or not, and its health as its CCN sees it')
    .option('--url <url>', 'the node to ask (default: from --config, else http://127.0.0.1:4020)')
    .option('--config <file>', "the node's configuration: its URL, and its node hash when the running node does not know it yet")
    .option('--json', 'machine-readable output')
    .action(async (opts: { url?: string; config?: string; json?: boolean }) => {
      const config = opts.config ? loadConfig(CrnConfigSchema, { envPrefix: 'CRN', file: opts.config }) : undefined;
      const url = opts.url ?? (config ? `http://${localHost(config.host)}:${config.port}` : 'http://127.0.0.1:4020');
      result.code = await runStatus({ url, json: opts.json === true, nodeHash: config?.nodeHash || undefined, ccn: config ? ccnUrls(config)[0] : undefined });
    });

  return runProgram(program, argv, result);
}
