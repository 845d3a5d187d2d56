/**
 * `crn doctor [--json] [--strict]`: checks this host against the CRN operator requirements.
 * A table for people (at most 100 columns: it is read in terminals and pasted in tickets), JSON
 * for machines; with --strict a failed requirement exits 1. A --data-dir that does not exist is
 * refused (exit 2): checking another filesystem instead would report the wrong disk.
 */
import { existsSync, statSync } from 'node:fs';
import { EXIT } from '../../common/exit-codes.ts';
import { formatWrappedTable, printJson, wrapText } from '../../common/output.ts';
import { evaluate, type KvmProbeResult } from './checks.ts';
import { gatherFacts } from './facts.ts';

export const DOCTOR_WIDTH = 100;

export interface DoctorOptions {
  json: boolean;
  strict: boolean;
  dataDir: string;
  probeKvm(): Promise<KvmProbeResult>;
}

export async function runDoctor(opts: DoctorOptions): Promise<number> {
  if (!existsSync(opts.dataDir) || !statSync(opts.dataDir).isDirectory()) {
    process.stderr.write(`crn doctor: --data-dir ${opts.dataDir} ${existsSync(opts.dataDir) ? 'is not a directory' : 'does not exist'} (create it first: its filesystem is the one checked for storage)\n`);
    return EXIT.USAGE;
  }
  const facts = gatherFacts(opts.dataDir);
  const kvm = await opts.probeKvm();
  const checks = evaluate(facts, kvm);
  const ok = checks.every((c) => c.status === 'pass');
  if (opts.json) {
    printJson({ ok, host: facts, kvm, checks });
  } else {
    const rows = [['CHECK', 'RESULT', 'FOUND', 'REQUIRED'], ...checks.map((c) => [c.title, c.status === 'pass' ? 'pass' : 'FAIL', c.value, c.requirement])];
    process.stdout.write(`${formatWrappedTable(rows, DOCTOR_WIDTH)}\n`);
    for (const c of checks) {
      if (c.remedy) process.stdout.write(`\n${wrapText(`${c.title}: ${c.remedy}`, DOCTOR_WIDTH - 2).join('\n  ')}`);
    }
    process.stdout.write(`\n${ok ? 'All requirements are met.' : `${checks.filter((c) => c.status === 'fail').length} requirement(s) not met.`}\n`);
  }
  return opts.strict && !ok ? EXIT.FAILURE : EXIT.OK;
}
