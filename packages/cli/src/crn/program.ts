/** The `crn` command: run and operate a Compute Resource Node. */
import { join } from 'node:path';
import { ccnUrls, CrnConfigSchema, startCrn } from '@aleph-nodes/crn';
import { ConfigError, loadConfig } from '@aleph-nodes/service';
import { newProgram, parsePort, runProgram } from '../common/commander.ts';
import { printSettings } from '../common/config-command.ts';
import { EXIT } from '../common/exit-codes.ts';
import { runStartCommand } from '../common/start-command.ts';
import { runDoctor } from './doctor/command.ts';
import { probeKvm } from './doctor/kvm.ts';
import { runInit } from './init.ts';
import { runRegister } from './register.ts';
import { runStatus } from './status.ts';

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
    .option('--key-file <path>', 'node key (0x-hex secp256k1); created if missing (default <data-dir>/node.key)')
    .option('--config <file>', 'JSON configuration file (flags override it; it overrides CRN_* variables; see `crn config`)')
    .option('--log-level <level>', 'trace, debug, info, warn, error')
    .action(async (opts: { host?: string; port?: number; dataDir?: string; ccn?: string; executor?: string; keyFile?: string; config?: string; logLevel?: string }) => {
      result.code = await runStartCommand(
        // Stopping VMs cleanly (ACPI power-down, then a grace period) is slow under software emulation.
        { name: 'crn', envPrefix: 'CRN', schema: CrnConfigSchema, start: (config, logger) => startCrn(config, { logger }), closeTimeoutMs: 80_000 },
        opts.config,
        { host: opts.host, port: opts.port, dataDir: opts.dataDir, ccn: opts.ccn, executor: opts.executor, keyFile: opts.keyFile, logLevel: opts.logLevel },
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
    .option('--data-dir <dir>', 'the filesystem to check for storage', '/')
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
    .description('publish this node as a resource node in the registry of its CCN')
    .requiredOption('--config <file>', 'the node configuration (from `crn init`)')
    .option('--name <name>', 'node name shown in the registry', 'crn')
    .option('--address <url>', 'public URL of the node (default https://<domain>)')
    .option('--owner-key <file>', 'sign with this operator key instead of the node key')
    .option('--tag <tag>', REGISTRY_TAG_HELP, 'mainnet')
    .option('--json', 'machine-readable output')
    .action(async (opts: { config: string; name: string; address?: string; ownerKey?: string; tag: string; json?: boolean }) => {
      let config: { ccn: string | string[]; domain: string; keyFile?: string; dataDir: string };
      try {
        config = loadConfig(CrnConfigSchema, { envPrefix: 'CRN', file: opts.config }) as typeof config;
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        process.stderr.write(`crn register: ${err.message}\n`);
        result.code = EXIT.USAGE;
        return;
      }
      result.code = await runRegister({
        // The preferred CCN of the list (the registry is the same on every CCN).
        ccn: ccnUrls(config)[0] as string,
        keyFile: opts.ownerKey ?? (config.keyFile || join(config.dataDir, 'node.key')),
        name: opts.name,
        address: opts.address ?? `https://${config.domain}`,
        tag: opts.tag,
        json: opts.json === true,
      });
    });

  program
    .command('status')
    .description('what a running CRN reports: version, capacity, executions')
    .option('--url <url>', 'the node to ask', 'http://127.0.0.1:4020')
    .option('--json', 'machine-readable output')
    .action(async (opts: { url: string; json?: boolean }) => {
      result.code = await runStatus({ url: opts.url, json: opts.json === true });
    });

  return runProgram(program, argv, result);
}
