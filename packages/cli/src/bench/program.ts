/**
 * `npm run bench -- [--json OUT] [--executor process|microvm] [--quick]`: measures what the
 * nodes exist for, each figure against a baseline measured in the same run, prints a table and
 * writes the JSON report. Scenarios that cannot run on this host are listed as skipped, with
 * the reason, never silently dropped.
 */
import { fileURLToPath } from 'node:url';
import { createLogger } from '@aleph-nodes/service';
import { newProgram, runProgram } from '../common/commander.ts';
import { EXIT } from '../common/exit-codes.ts';
import { hostDescription, printReport, writeReport, type Report } from './report.ts';
import { runScenarios } from './scenarios/index.ts';

function count(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 64) throw new Error(`${flag} must be an integer from 0 to 64, not '${text}'`);
  return value;
}

export async function main(argv: readonly string[]): Promise<number> {
  const result: { code: number } = { code: EXIT.OK };
  const program = newProgram('bench', 'Benchmarks of the CCN and the CRN, as ratios against baselines measured in the same run')
    .option('--json <file>', 'write the report as JSON')
    .option('--executor <kind>', "CRN executor of the warm-path scenario: 'process' or 'microvm'", 'process')
    .option('--quick', 'fewer iterations and VMs (under 5 minutes here)')
    .option('--vms <n>', 'microVM scenarios: programs started through the CRN, at least 2, or 0 to skip them (default 3 with --quick, else 8)')
    .option('--bare-boots <n>', 'microVM scenarios: bare QEMU boots for the cold-start limit (default 2 with --quick, else 5)')
    .option('--only <groups>', 'comma-separated scenario groups to run: ccn-ingest, ccn-files, ccn-network, crn-warm-path, crn-payments, cache, microvm (default: all)')
    .action(async (opts: { json?: string; executor: string; quick?: boolean; vms?: string; bareBoots?: string; only?: string }) => {
      if (opts.executor !== 'process' && opts.executor !== 'microvm') throw new Error(`--executor must be 'process' or 'microvm', not '${opts.executor}'`);
      const quick = opts.quick === true;
      const programs = count('--vms', opts.vms, quick ? 3 : 8);
      if (programs === 1) throw new Error('--vms must be 0 (skip) or at least 2 (one first start, then cold starts)');
      const microVm = { programs, bareBoots: Math.max(1, count('--bare-boots', opts.bareBoots, quick ? 2 : 5)) };
      const logger = createLogger({ name: 'bench', level: process.env.LOG_LEVEL ?? 'warn' });
      const only = opts.only?.split(',').map((g) => g.trim()).filter(Boolean);
      const groups = ['ccn-ingest', 'ccn-files', 'ccn-network', 'crn-warm-path', 'crn-payments', 'cache', 'microvm', 'snapshot'];
      const unknown = only?.filter((g) => !groups.includes(g)) ?? [];
      if (unknown.length > 0) throw new Error(`unknown scenario group ${unknown.join(', ')} (known: ${groups.join(', ')})`);
      const ctx = { quick, executor: opts.executor, binDir: fileURLToPath(new URL('../../bin', import.meta.url)), logger, microVm, only };
      const startedAt = new Date().toISOString();
      const { figures, skipped, accelerator } = await runScenarios(ctx);
      const report: Report = { startedAt, quick: ctx.quick, executor: ctx.executor, host: hostDescription(accelerator), figures, skipped };
      printReport(report);
      if (opts.json) writeReport(opts.json, report);
      result.code = EXIT.OK;
    });
  return runProgram(program, argv, result);
}
