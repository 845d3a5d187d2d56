/**
 * One probe round of a core channel node's public API, as the network's monitors probe CCNs:
 * - `ccn_info`: `GET /api/v0/info/public.json` must answer 200 JSON (the base latency probe);
 * - `ccn_version`: `GET /api/v0/version` must answer `{"version": "<x.y.z>"}` (the version seen);
 * - `ccn_api`: `GET /api/v0/messages.json?pagination=1` must answer 200 JSON (what users and CRNs call).
 * The check names carry a `ccn_` prefix so that a probe row says by itself which kind of node
 * it measured (CRN rounds use version/login/status/usage/diagnostic).
 */
import type { CcnEntry } from '../registry/types.ts';

export type CcnCheckName = 'ccn_info' | 'ccn_version' | 'ccn_api';
export const CCN_CHECK_PREFIX = 'ccn_';

export interface CcnProbeResult {
  check: CcnCheckName;
  time: number;
  latency: number | null;
  ok: boolean;
  version: string | null;
  error: string | null;
}

async function timed(check: CcnCheckName, url: string, timeoutMs: number, judge: (status: number, body: string) => { ok: boolean; error?: string; version?: string | null }): Promise<CcnProbeResult> {
  const time = Date.now() / 1000;
  const started = performance.now();
  try {
    const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
    const body = await res.text();
    const latency = (performance.now() - started) / 1000;
    const v = judge(res.status, body);
    return { check, time, latency, ok: v.ok, version: v.version ?? null, error: v.ok ? null : (v.error ?? `HTTP ${res.status}`) };
  } catch (err) {
    const e = err as Error & { cause?: Error };
    return { check, time, latency: null, ok: false, version: null, error: e.name === 'TimeoutError' ? 'timed out' : (e.cause?.message ?? e.message) };
  }
}

function jsonOk(status: number, body: string): { ok: boolean; error?: string; json?: unknown } {
  if (status !== 200) return { ok: false, error: `HTTP ${status}` };
  try {
    return { ok: true, json: JSON.parse(body) as unknown };
  } catch {
    return { ok: false, error: 'the answer is not JSON' };
  }
}

export async function probeCcn(baseUrl: string, timeoutMs: number): Promise<CcnProbeResult[]> {
  const root = baseUrl.replace(/\/+$/, '');
  return Promise.all([
    timed('ccn_info', `${root}/api/v0/info/public.json`, timeoutMs, (s, b) => jsonOk(s, b)),
    timed('ccn_version', `${root}/api/v0/version`, timeoutMs, (s, b) => {
      const r = jsonOk(s, b);
      if (!r.ok) return r;
      const v = (r.json as { version?: unknown } | null)?.version;
      return typeof v === 'string' && v !== '' ? { ok: true, version: v } : { ok: false, error: 'no version in the answer' };
    }),
    timed('ccn_api', `${root}/api/v0/messages.json?pagination=1`, timeoutMs, (s, b) => jsonOk(s, b)),
  ]);
}

/**
 * The API URL of a registered CCN: its `address` when it is an http(s) URL, else from its
 * multiaddress: `/ip4|ip6|dns4|dns6/HOST/tcp/PORT/http(s)` gives that URL; a plain
 * `/ip4/<host>/tcp/<p2p port>/p2p/...` gives `http://<host>:4024` (the API's default port, as the
 * reference's P2P port 4025 carries no HTTP). Undefined when neither says where the API is.
 */
export function ccnApiUrl(entry: Pick<CcnEntry, 'address' | 'multiaddress'>): string | undefined {
  if (/^https?:\/\/[^/]+/.test(entry.address)) return entry.address.replace(/\/+$/, '');
  const m = /^\/(ip4|ip6|dns|dns4|dns6)\/([^/]+)\/tcp\/(\d+)(\/(https?))?/.exec(entry.multiaddress);
  if (!m) return undefined;
  const host = m[1] === 'ip6' ? `[${m[2]}]` : (m[2] as string);
  if (m[5]) return `${m[5]}://${host}:${m[3]}`;
  return `http://${host}:4024`;
}
