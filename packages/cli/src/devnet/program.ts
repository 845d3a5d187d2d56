/**
 * `npm run devnet`: a local network on loopback. One CCN and N CRNs (each its own process, data
 * dir and key; CRN i listens on 127.0.0.(i+2) so that every node has its own host, as the
 * registry requires), registered and linked, with a runtime and a sample program published.
 * Stays in the foreground until SIGINT/SIGTERM, then stops everything it started.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from 'commander';
import { createLogger, loadOrCreateKeyFile } from '@aleph-nodes/service';
import { newProgram, parsePort, runProgram } from '../common/commander.ts';
import { EXIT } from '../common/exit-codes.ts';
import { startDevnet, type DevnetOptions } from './devnet.ts';

function parseCrnCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 8) throw new InvalidArgumentError('must be an integer from 1 to 8');
  return n;
}

export async function main(argv: readonly string[]): Promise<number> {
  const result: { code: number } = { code: EXIT.OK };
  const program = newProgram('devnet', 'Run a local network: one CCN, its linked CRNs and a sample program, until Ctrl-C')
    .requiredOption('--state-file <file>', 'where to write the network description (JSON) once it is ready')
    .option('--executor <kind>', "workload isolation of the CRNs: 'process' (namespaces and a cgroup) or 'microvm' (QEMU microVMs)", 'microvm')
    .option('--crns <n>', 'how many CRNs to start and link', parseCrnCount, 3)
    .option('--data-dir <dir>', 'where the nodes keep their data and keys', '.devnet')
    .option('--ccn-port <port>', 'CCN port on 127.0.0.1 (0 = any free port)', parsePort, 4024)
    .option('--crn-port <port>', 'CRN port, each CRN on its own loopback address (0 = any free port)', parsePort, 4020)
    .action(async (opts: { stateFile: string; executor: string; crns: number; dataDir: string; ccnPort: number; crnPort: number }) => {
      if (opts.executor !== 'process' && opts.executor !== 'microvm') {
        process.stderr.write(`devnet: unknown executor '${opts.executor}'; use microvm or process\n`);
        result.code = EXIT.USAGE;
        return;
      }
      const logger = createLogger({ name: 'devnet' });
      const dataDir = resolve(opts.dataDir);
      mkdirSync(join(dataDir, 'keys'), { recursive: true });
      const options: DevnetOptions = {
        stateFile: resolve(opts.stateFile),
        executor: opts.executor,
        crns: opts.crns,
        dataDir,
        ccnPort: opts.ccnPort,
        crnPort: opts.crnPort,
        binDir: fileURLToPath(new URL('../../bin', import.meta.url)),
        owner: loadOrCreateKeyFile(join(dataDir, 'keys', 'owner.key')).account,
        logger,
      };
      result.code = await startDevnet(options);
    });
  return runProgram(program, argv, result);
}
