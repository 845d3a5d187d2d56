/**
 * One probe round of a CRN, as the network's monitors make it (crn-api.md §5):
 * - `version`: the `Server` header of `GET /` must be `<product>/<semver>` (aleph-vm/1.14.0);
 * - `login`: `GET /about/login` without a token must answer 401 (the base latency probe);
 * - `status`: `GET /status/check/version?reference=<v>` (200 = up to date) when a reference
 *   version is configured, else `GET /status/config` (200 JSON);
 * - `diagnostic`: `GET /vm/<diagnostic program>/` must answer 200 (only when configured);
 * - `usage`: `GET /about/usage/system` (the capacity the scheduler places by).
 * The round also keeps what the CRN says of itself, for the CRN list clients choose from
 * (protocol crn-list.ts): its `/status/config` (read once more when `status` checks the version
 * instead) and its usage report when it has aleph-vm's full shape.
 * Every probe gives one record: check, latency in seconds, pass/fail, the version seen, the error.
 */
import { CrnStatusConfigSchema, selfReportOf, SystemUsageAnswerSchema, type CrnSelfReport, type SystemUsageAnswer } from '@aleph-nodes/protocol';
import { parseUsage } from '../scheduler/crn-client.ts';
import type { CrnCapacity } from '../scheduler/placement.ts';

export type CheckName = 'version' | 'login' | 'status' | 'diagnostic' | 'usage';

export interface ProbeResult {
  check: CheckName;
  /** Unix seconds at the start of the probe. */
  time: number;
  /** Seconds; null when no answer came. */
  latency: number | null;
  ok: boolean;
  version: string | null;
  error: string | null;
}

export interface ProbeSettings {
  timeoutMs: number;
  /** Empty: probe /status/config instead of /status/check/version. */
  referenceVersion: string;
  /** Empty: no diagnostic probe. */
  diagnosticProgram: string;
}

export interface RoundResult {
  probes: ProbeResult[];
  capacity: CrnCapacity | undefined;
  version: string | null;
  /** The CRN's `/status/config`, as the CRN list carries it; undefined when unreadable. */
  report?: CrnSelfReport | undefined;
  /** Its `/about/usage/system` when complete (aleph-vm's `MachineUsage`); undefined otherwise. */
  systemUsage?: SystemUsageAnswer | undefined;
}

/** The checks whose failure counts against a CRN's health (see HealthMonitor). */
export const HEALTH_CHECKS: ReadonlySet<CheckName> = new Set(['version', 'login', 'status', 'usage']);

const SERVER_HEADER = /^([^/\s]+)\/(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?)$/;

/** A CRN's `/status/config` is a few KiB; anything much larger is not one. */
const MAX_CONFIG_BYTES = 64 * 1024;

function readReport(body: string): CrnSelfReport | undefined {
  if (body.length > MAX_CONFIG_BYTES) return undefined;
  try {
    const parsed = CrnStatusConfigSchema.safeParse(JSON.parse(body));
    return parsed.success ? selfReportOf(parsed.data) : undefined;
  } catch {
    return undefined;
  }
}

function base(url: string): string {
  return url.replace(/\/+$/, '');
}

function describe(err: unknown): string {
  const e = err as Error & { cause?: Error };
  if (e.name === 'TimeoutError') return 'timed out';
  return e.cause?.message ? `${e.message} (${e.cause.message})` : e.message;
}

async function timed(
  check: CheckName,
  url: string,
  timeoutMs: number,
  judge: (res: Response, body: string) => { ok: boolean; error?: string; version?: string | null },
): Promise<ProbeResult & { body?: string }> {
  const time = Date.now() / 1000;
  const started = performance.now();
  try {
    const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json, text/plain, */*' } });
    const body = await res.text();
    const latency = (performance.now() - started) / 1000;
    const verdict = judge(res, body);
    return { check, time, latency, ok: verdict.ok, version: verdict.version ?? null, error: verdict.ok ? null : (verdict.error ?? `HTTP ${res.status}`), body };
  } catch (err) {
    return { check, time, latency: null, ok: false, version: null, error: describe(err) };
  }
}

export async function probeRound(crnUrl: string, settings: ProbeSettings): Promise<RoundResult> {
  const root = base(crnUrl);
  const t = settings.timeoutMs;
  let capacity: CrnCapacity | undefined;
  let systemUsage: SystemUsageAnswer | undefined;
  let report: CrnSelfReport | undefined;
  const jobs: Promise<ProbeResult & { body?: string }>[] = [
    timed('version', `${root}/`, t, (res) => {
      const server = res.headers.get('server') ?? '';
      const m = SERVER_HEADER.exec(server);
      return m ? { ok: true, version: m[2] ?? null } : { ok: false, version: null, error: `Server header ${JSON.stringify(server)} is not <name>/<semver>` };
    }),
    timed('login', `${root}/about/login`, t, (res) => (res.status === 401 ? { ok: true } : { ok: false, error: `expected 401, got ${res.status}` })),
    settings.referenceVersion
      ? timed('status', `${root}/status/check/version?reference=${encodeURIComponent(settings.referenceVersion)}`, t, (res, body) =>
          res.status === 200 ? { ok: true } : { ok: false, error: `HTTP ${res.status}: ${body.slice(0, 200)}` },
        )
      : timed('status', `${root}/status/config`, t, (res, body) => {
          if (res.status !== 200) return { ok: false, error: `HTTP ${res.status}` };
          try {
            JSON.parse(body);
            report = readReport(body);
            return { ok: true };
          } catch {
            return { ok: false, error: '/status/config is not JSON' };
          }
        }),
    timed('usage', `${root}/about/usage/system`, t, (res, body) => {
      if (res.status !== 200) return { ok: false, error: `HTTP ${res.status}` };
      try {
        const json: unknown = JSON.parse(body);
        capacity = parseUsage(json);
        const full = SystemUsageAnswerSchema.safeParse(json);
        if (full.success) systemUsage = full.data;
        return { ok: true };
      } catch (err) {
        return { ok: false, error: `unreadable usage report: ${(err as Error).message.slice(0, 200)}` };
      }
    }),
  ];
  if (settings.diagnosticProgram) {
    jobs.push(timed('diagnostic', `${root}/vm/${settings.diagnosticProgram}/`, t, (res) => (res.status === 200 ? { ok: true } : { ok: false, error: `HTTP ${res.status}` })));
  }
  const [results] = await Promise.all([Promise.all(jobs), settings.referenceVersion ? fetchReport(root, t).then((r) => (report = r)) : undefined]);
  const probes = results.map(({ body: _body, ...p }) => p);
  return { probes, capacity, version: probes.find((p) => p.check === 'version')?.version ?? null, report, systemUsage };
}

/** `/status/config` for the self report alone (no probe record: `status` checked the version). */
async function fetchReport(root: string, timeoutMs: number): Promise<CrnSelfReport | undefined> {
  try {
    const res = await fetch(`${root}/status/config`, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
    if (res.status !== 200) {
      await res.body?.cancel();
      return undefined;
    }
    return readReport(await res.text());
  } catch {
    return undefined;
  }
}
