/**
 * A closed-loop HTTP load generator on undici: `concurrency` workers each send their next
 * request as soon as the previous answer is fully read, for `requests` requests in total. The
 * same client drives the baseline and the system under test, so their ratio is meaningful.
 */
import { Pool } from 'undici';
import { nowMs, summarize, type LatencySummary } from './stats.ts';

export interface LoadSpec {
  url: string;
  method?: 'GET' | 'POST';
  body?: Uint8Array;
  requests: number;
  concurrency: number;
  /** Longest wait for a response's headers, then between body chunks (default 60 s): a stuck request counts as an error. */
  timeoutMs?: number;
}

export interface LoadResult extends LatencySummary {
  requestsPerSecond: number;
  errors: number;
  bytesReceived: number;
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const url = new URL(spec.url);
  const pool = new Pool(url.origin, { connections: spec.concurrency, pipelining: 1, headersTimeout: spec.timeoutMs ?? 60_000, bodyTimeout: spec.timeoutMs ?? 60_000 });
  const samples: number[] = [];
  let errors = 0;
  let bytesReceived = 0;
  let next = 0;
  const path = `${url.pathname}${url.search}`;
  const worker = async (): Promise<void> => {
    while (next < spec.requests) {
      next++;
      const start = nowMs();
      try {
        const res = await pool.request({ path, method: spec.method ?? 'GET', ...(spec.body ? { body: spec.body, headers: { 'content-type': 'application/octet-stream' } } : {}) });
        for await (const chunk of res.body) bytesReceived += (chunk as Buffer).length;
        if (res.statusCode >= 400) errors++;
        else samples.push(nowMs() - start);
      } catch {
        errors++;
      }
    }
  };
  const started = nowMs();
  await Promise.all(Array.from({ length: spec.concurrency }, worker));
  const elapsedS = (nowMs() - started) / 1000;
  await pool.close();
  return { ...summarize(samples), requestsPerSecond: samples.length / elapsedS, errors, bytesReceived };
}
