/**
 * The CRN's warm path against nginx `proxy_pass` to the same program (same client, same run):
 * 64 B bodies, sequential for the added p50, 32 in flight for throughput. Direct, CRN and nginx
 * runs are interleaved in rounds, each round in a rotated order, so that a change of load on a
 * shared host (other processes' bursts) falls on all three paths alike; p50s are the median of
 * the rounds' p50s, throughputs the requests of all rounds over their time.
 */
import { runLoad, type LoadResult } from '../load.ts';
import type { RunningNginx } from '../nginx.ts';
import type { Figure } from '../report.ts';

const ROUNDS = 3;

interface Merged {
  p50Ms: number;
  requestsPerSecond: number;
  count: number;
}

function merge(runs: readonly LoadResult[]): Merged {
  const p50s = runs.map((r) => r.p50Ms).sort((a, b) => a - b);
  const count = runs.reduce((s, r) => s + r.count, 0);
  const seconds = runs.reduce((s, r) => s + (r.requestsPerSecond > 0 ? r.count / r.requestsPerSecond : 0), 0);
  return { p50Ms: p50s[Math.floor(p50s.length / 2)] ?? Number.NaN, requestsPerSecond: seconds > 0 ? count / seconds : 0, count };
}

async function interleaved(urls: readonly string[], requests: number, concurrency: number): Promise<Merged[]> {
  const runs: LoadResult[][] = urls.map(() => []);
  const body = new Uint8Array(64).fill(97);
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < urls.length; k++) {
      const i = (k + round) % urls.length;
      runs[i]?.push(await runLoad({ url: urls[i] as string, method: 'POST', body, requests, concurrency }));
    }
  }
  return runs.map(merge);
}

/** `scale`: the warm-path scenario's request scale (quick run, TCG). */
export async function benchVsNginx(direct: string, viaCrn: string, nginx: RunningNginx, scale: number): Promise<{ figures: Figure[]; failed?: string }> {
  const viaNginx = `${nginx.url}${new URL(direct).pathname}`;
  const urls = [direct, viaCrn, viaNginx];
  const c1 = await interleaved(urls, Math.max(50, Math.round((scale * 1000) / ROUNDS)), 1);
  const c32 = await interleaved(urls, Math.max(64, Math.round((scale * 4000) / ROUNDS)), 32);
  const [base1, crn1, nginx1] = c1 as [Merged, Merged, Merged];
  const [, crn32, nginx32] = c32 as [Merged, Merged, Merged];
  if ([...c1, ...c32].some((m) => m.count === 0)) return { figures: [], failed: 'a path answered no request (direct, CRN, nginx)' };
  const crnAdded = crn1.p50Ms - base1.p50Ms;
  const nginxAdded = nginx1.p50Ms - base1.p50Ms;
  return {
    figures: [
      // nginx's added p50 at or under 0 (under the noise here) is no baseline: the figure then
      // has no ratio, and its promise counts as missed rather than kept by a meaningless ratio.
      nginxAdded > 0
        ? { id: 'crn.warm.vs_nginx.added_p50', title: `warm 64B c=1 added p50 over direct (${base1.p50Ms.toFixed(3)} ms): CRN vs nginx proxy_pass`, unit: 'ms', value: crnAdded, baseline: nginxAdded, ratio: crnAdded / nginxAdded }
        : { id: 'crn.warm.vs_nginx.added_p50', title: `warm 64B c=1 added p50 over direct (${base1.p50Ms.toFixed(3)} ms): CRN (nginx added ${nginxAdded.toFixed(3)} ms: no ratio)`, unit: 'ms', value: crnAdded },
      { id: 'crn.warm.vs_nginx.throughput', title: 'warm 64B c=32 throughput: CRN vs nginx proxy_pass', unit: 'req/s', value: crn32.requestsPerSecond, baseline: nginx32.requestsPerSecond, ratio: crn32.requestsPerSecond / nginx32.requestsPerSecond },
    ],
  };
}
