/**
 * `npm run bench -- [--json OUT] [--executor process|microvm] [--quick] [--check]`: measures what
 * the nodes exist for, each figure against a baseline measured in the same run, prints a table and
 * writes the JSON report. Scenarios that cannot run on this host are listed as skipped, with
 * the reason, never silently dropped. Targets come from docs/promises.json; `--check` turns a
 * missed or unmeasured promise into exit code 1.
 */
import { fileURLToPath } from 'node:url';
import { createLogger } from '@aleph-nodes/service';
import { newProgram, runProgram } from '../common/commander.ts';
import { EXIT } from '../common/exit-codes.ts';
import { UsageError } from '../common/fail.ts';
import { checkPromises } from './check.ts';
import { applyPromises, DEFAULT_PROMISES_PATH, GROUPS, loadPromises } from './promises.ts';
import { hostDescription, printReport, writeReport, type Report } from './report.ts';
import { runScenarios } from './scenarios/index.ts';

function count(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 64) throw new UsageError(`${flag} must be an integer from 0 to 64, not '${text}'`);
  return value;
}

export async function main(argv: readonly string[]): Promise<number> {
  const result: { code: number } = { code: EXIT.OK };
  const program = newProgram('bench', 'Benchmarks of the CCN and the CRN, as ratios against baselines measured in the same run')
    .option('--json <file>', 'write the report as JSON')
    .option('--executor <kind>', "CRN executor of the warm-path scenario: 'process' or 'microvm'", 'process')
    .option('--quick', 'fewer iterations and VMs, no Python warm pool run (under 5 minutes here)')
    .option('--vms <n>', 'microVM scenarios: programs started through the CRN, at least 2, or 0 to skip them (default 3 with --quick, else 8)')
    .option('--bare-boots <n>', 'microVM scenarios: bare QEMU boots for the cold-start limit (default 2 with --quick, else 5)')
    .option('--only <groups>', `comma-separated scenario groups to run: ${GROUPS.join(', ')} (default: all)`)
    .option('--check', 'exit 1 when a promise is missed or a promised figure of the selected groups (--only; --vms 0 deselects microvm) was not measured (one line each); 0 when all are kept')
    .option('--promises <file>', 'the promises the targets and --check use', DEFAULT_PROMISES_PATH)
    .addHelpText('after', '\nExit codes: 0 done (with --check: every promise of the selected groups kept), 1 a promise missed or not measured (--check), 2 bad arguments or promises file.')
    .action(async (opts: { json?: string; executor: string; quick?: boolean; vms?: string; bareBoots?: string; only?: string; check?: boolean; promises: string }) => {
      if (opts.executor !== 'process' && opts.executor !== 'microvm') throw new UsageError(`--executor must be 'process' or 'microvm', not '${opts.executor}'`);
      const quick = opts.quick === true;
      const programs = count('--vms', opts.vms, quick ? 3 : 8);
      if (programs === 1) throw new UsageError('--vms must be 0 (skip) or at least 2 (one first start, then cold starts)');
      // --quick (the test suite's smoke run) leaves out the Python pool run: a second runtime's boots.
      const microVm = { programs, bareBoots: Math.max(1, count('--bare-boots', opts.bareBoots, quick ? 2 : 5)), pythonPool: !quick };
      const logger = createLogger({ name: 'bench', level: process.env.LOG_LEVEL ?? 'warn' });
      const only = opts.only?.split(',').map((g) => g.trim()).filter(Boolean);
      const groups: readonly string[] = GROUPS;
      const unknown = only?.filter((g) => !groups.includes(g)) ?? [];
      if (unknown.length > 0) throw new UsageError(`unknown scenario group ${unknown.join(', ')} (known: ${groups.join(', ')})`);
      // Read before any scenario runs: a bad file is a usage error, not minutes of bench lost.
      const promises = loadPromises(opts.promises);
      const ctx = { quick, executor: opts.executor, binDir: fileURLToPath(new URL('../../bin', import.meta.url)), logger, microVm, only };
      const startedAt = new Date().toISOString();
      const { figures, skipped, accelerator } = await runScenarios(ctx);
      const host = hostDescription(accelerator);
      const report: Report = { startedAt, quick: ctx.quick, executor: ctx.executor, host, figures: applyPromises(figures, promises, host.accelerator), skipped };
      printReport(report);
      if (opts.json) writeReport(opts.json, report);
      result.code = EXIT.OK;
      if (opts.check) {
        // `--vms 0` deselects the microVM group as `--only` would.
        const selected = (only ?? groups).filter((g) => g !== 'microvm' || microVm.programs > 0);
        const { problems, kept } = checkPromises(report, promises, selected);
        for (const line of problems) process.stdout.write(`check: ${line}\n`);
        process.stdout.write(`check: ${kept} promise(s) kept, ${problems.length} missed or not measured\n`);
        if (problems.length > 0) result.code = EXIT.FAILURE;
      }
    });
  return runProgram(program, argv, result);
}
