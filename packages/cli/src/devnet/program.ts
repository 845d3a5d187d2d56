/**
 * `npm run devnet`: a local network on loopback. M CCNs and N CRNs (each its own process, data
 * dir and key; CRN i listens on 127.0.0.(i+2) so that every node has its own host, as the
 * registry requires, and is linked to CCN i mod M), registered and linked, with a runtime and a
 * sample program published. Running it again on the same data dir gives the same network.
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

/** A CCN links at most three CRNs (the devnet's registry setting). */
const CRNS_PER_CCN = 3;

function parseCount(max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`must be an integer from 1 to ${max}`);
    return n;
  };
}

interface Flags {
  stateFile: string;
  executor: string;
  ccns: number;
  crns: number;
  ccnDistinctHosts: boolean;
  dataDir: string;
  ccnPort: number;
  crnPort: number;
}

export async function main(argv: readonly string[]): Promise<number> {
  const result: { code: number } = { code: EXIT.OK };
  const program = newProgram('devnet', 'Run a local network: CCNs, their linked CRNs and a sample program, until Ctrl-C')
    .requiredOption('--state-file <file>', 'where to write the network description (JSON) once it is ready')
    .option('--executor <kind>', "workload isolation of the CRNs: 'process' (namespaces and a cgroup) or 'microvm' (QEMU microVMs)", 'microvm')
    .option('--ccns <m>', 'how many CCNs to start (each knows the others as peers)', parseCount(8), 2)
    .option('--crns <n>', `how many CRNs to start; CRN i is linked to CCN i mod M (at most ${CRNS_PER_CCN} per CCN)`, parseCount(8), 3)
    .option('--ccn-distinct-hosts', 'CCN i listens on its own loopback address 127.0.1.(i+1) (same ports for all) instead of 127.0.0.1', false)
    .option('--data-dir <dir>', 'where the nodes keep their data and keys', '.devnet')
    .option('--ccn-port <port>', 'HTTP port of the first CCN; CCN i uses port+2i (HTTP) and port+2i+1 (P2P), or port and port+1 with --ccn-distinct-hosts (0 = any free ports)', parsePort, 4024)
    .option('--crn-port <port>', 'CRN port, each CRN on its own loopback address (0 = any free port)', parsePort, 4020)
    .action(async (opts: Flags) => {
      if (opts.executor !== 'process' && opts.executor !== 'microvm') {
        process.stderr.write(`devnet: unknown executor '${opts.executor}'; use microvm or process\n`);
        result.code = EXIT.USAGE;
        return;
      }
      if (opts.crns > opts.ccns * CRNS_PER_CCN) {
        process.stderr.write(`devnet: ${opts.crns} CRNs need at least ${Math.ceil(opts.crns / CRNS_PER_CCN)} CCNs (a CCN links at most ${CRNS_PER_CCN})\n`);
        result.code = EXIT.USAGE;
        return;
      }
      const logger = createLogger({ name: 'devnet' });
      const dataDir = resolve(opts.dataDir);
      mkdirSync(join(dataDir, 'keys'), { recursive: true });
      const options: DevnetOptions = {
        stateFile: resolve(opts.stateFile),
        executor: opts.executor,
        ccns: opts.ccns,
        crns: opts.crns,
        distinctHosts: opts.ccnDistinctHosts,
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
