/**
 * `npm run bench -- --check`: the run fails (exit 1) when a promise is missed or when a promised
 * figure of a selected scenario group was not measured (a scenario skipped or failed, a figure
 * left out): an unmeasured promise is not a kept one. One line per problem.
 */
import { boundFor, boundText, keeps, type BenchPromise } from './promises.ts';
import type { Report } from './report.ts';
import { round } from './stats.ts';

/** The `--only` group of a skipped scenario's name (as the runner and the warm path name them). */
function groupOf(scenario: string): string {
  const first = scenario.split(' ')[0] ?? scenario;
  if (['cold-start', 'density', 'cache-microvm'].includes(first)) return 'microvm';
  return first.replace(/-(sqlite|postgres|process)$/, '');
}

export interface CheckResult {
  /** One line per missed or unmeasured promise. */
  problems: string[];
  kept: number;
}

/** Judges `report` against the promises whose group was selected. */
export function checkPromises(report: Report, promises: readonly BenchPromise[], selectedGroups: readonly string[]): CheckResult {
  const figures = new Map(report.figures.map((f) => [f.id, f]));
  const problems: string[] = [];
  let kept = 0;
  for (const p of promises) {
    if (!selectedGroups.includes(p.group)) continue;
    const f = figures.get(p.id);
    if (!f) {
      const why = report.skipped.filter((s) => groupOf(s.scenario) === p.group);
      problems.push(`NOT MEASURED ${p.id} (${p.group})${why.length > 0 ? `: skipped ${why.map((s) => `${s.scenario}: ${s.reason}`).join('; ')}` : ': the scenario did not emit it'}`);
      continue;
    }
    const { bound: b, accelerator } = boundFor(p, report.host.accelerator);
    if (keeps(f, b)) {
      kept++;
      continue;
    }
    const measured = b.on === 'ratio' ? f.ratio : f.value;
    problems.push(`MISSED ${p.id}: ${b.on} ${measured === undefined ? 'absent' : round(measured)}, promise ${boundText(b)}${accelerator ? ` (${accelerator.toUpperCase()})` : ''}`);
  }
  return { problems, kept };
}
