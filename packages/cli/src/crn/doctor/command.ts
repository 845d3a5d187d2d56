/**
 * `crn doctor [--json] [--strict]`: checks this host against the CRN operator requirements.
 * A table for people, JSON for machines; with --strict a failed requirement exits 1.
 */
import { EXIT } from '../../common/exit-codes.ts';
import { printJson, printTable } from '../../common/output.ts';
import { evaluate, type KvmProbeResult } from './checks.ts';
import { gatherFacts } from './facts.ts';

export interface DoctorOptions {
  json: boolean;
  strict: boolean;
  dataDir: string;
  probeKvm(): Promise<KvmProbeResult>;
}

export async function runDoctor(opts: DoctorOptions): Promise<number> {
  const facts = gatherFacts(opts.dataDir);
  const kvm = await opts.probeKvm();
  const checks = evaluate(facts, kvm);
  const ok = checks.every((c) => c.status === 'pass');
  if (opts.json) {
    printJson({ ok, host: facts, kvm, checks });
  } else {
    printTable(['CHECK', 'RESULT', 'FOUND', 'REQUIRED'], checks.map((c) => [c.title, c.status === 'pass' ? 'pass' : 'FAIL', c.value, c.requirement]));
    for (const c of checks) if (c.remedy) process.stdout.write(`\n${c.title}: ${c.remedy}`);
    process.stdout.write(`\n${ok ? 'All requirements are met.' : `${checks.filter((c) => c.status === 'fail').length} requirement(s) not met.`}\n`);
  }
  return opts.strict && !ok ? EXIT.FAILURE : EXIT.OK;
}
