/**
 * At start, a CRN checks that it can reach its CCNs: without one it cannot read a message or a
 * file, so every workload would fail later with a less telling error. An unreachable CCN is not
 * fatal (it may come up after the CRN) but is said at once, on stderr and in the log.
 */
import type { Logger } from '@aleph-nodes/service';
import { getJson } from '../common/http.ts';

export async function warnIfCcnUnreachable(ccnUrls: readonly string[], logger: Logger): Promise<void> {
  const failures: string[] = [];
  for (const url of ccnUrls) {
    try {
      await getJson(`${url}/api/v0/version`, 5_000);
      return;
    } catch (err) {
      failures.push((err as Error).message);
    }
  }
  const line = `no CCN can be reached (${failures.join('; ')}): workloads cannot start until one answers`;
  logger.warn({ ccn: ccnUrls }, line);
  process.stderr.write(`crn: warning: ${line}\n`);
}
