/**
 * Property-based fuzzing of the parsers that take outside input. Every fuzz file is a test named
 * `*.fuzz.test.ts` whose properties run `fuzzRuns()` cases: 500 in the test suite, and as many as
 * `FUZZ_RUNS` says in the bench-style run (`npm run fuzz`, 10,000 by default). A failing case is
 * printed with its seed and path by fast-check, so it can be replayed.
 */
export const SUITE_FUZZ_RUNS = 500;

export function fuzzRuns(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.FUZZ_RUNS);
  return Number.isInteger(value) && value > 0 ? value : SUITE_FUZZ_RUNS;
}
