// A second test reporter for run-tests.mjs: at the end of a run it prints the slowest files by
// wall time, so the suite's budget (45 minutes in CI) can be kept by knowing where it goes.
// Files run one at a time, so a file's share is the time from the previous file's last event to
// its own last one (its process start and imports included).
export default async function* fileTimes(source) {
  const lastEventAt = new Map();
  let previousEnd = Date.now();
  let current;
  const spent = new Map();
  for await (const event of source) {
    const file = event.data?.file;
    if (!file) continue;
    const now = Date.now();
    if (file !== current) {
      if (current !== undefined) previousEnd = lastEventAt.get(current) ?? previousEnd;
      current = file;
    }
    lastEventAt.set(file, now);
    spent.set(file, Math.max(spent.get(file) ?? 0, now - previousEnd));
  }
  const rows = [...spent].sort((a, b) => b[1] - a[1]).slice(0, 25);
  const total = [...spent.values()].reduce((a, b) => a + b, 0);
  yield `\nslowest test files (of ${spent.size}, ${(total / 60_000).toFixed(1)} min in all):\n`;
  for (const [file, ms] of rows) yield `${(ms / 1000).toFixed(1).padStart(8)} s  ${file.replace(process.cwd() + '/', '')}\n`;
}
