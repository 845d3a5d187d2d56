/**
 * Pulling a peer's heartbeat table (`GET /api/v0/network/heartbeats`). The answer is a peer's:
 * its size is bounded while it is read, its shape is checked, and each heartbeat in it is
 * verified on its own afterwards (liveness.ts); `now` (the peer's clock) only feeds the clock
 * offset estimate.
 */
import { z } from 'zod';
import { MAX_HEARTBEAT_BYTES } from './liveness-heartbeat.ts';

export const HEARTBEATS_PATH = '/api/v0/network/heartbeats';
/** Heartbeats one answer may carry (one per registered CCN), and its size. */
export const MAX_PULLED_HEARTBEATS = 1000;
export const MAX_PULL_BYTES = 16 * 1024 * 1024;

const AnswerSchema = z.object({
  now: z.number(),
  heartbeats: z.array(z.unknown()).max(MAX_PULLED_HEARTBEATS),
});

export interface PulledHeartbeats {
  now: number;
  heartbeats: unknown[];
}

async function readBounded(res: Response, max: number): Promise<string | null> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > max) {
    await res.body?.cancel();
    return null;
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The peer's table, or null when it did not answer properly (the round goes on without it). */
export async function fetchHeartbeats(baseUrl: string, timeoutMs: number): Promise<PulledHeartbeats | null> {
  try {
    const res = await fetch(`${baseUrl.replace(/\/+$/, '')}${HEARTBEATS_PATH}`, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual', headers: { accept: 'application/json' } });
    if (res.status !== 200) {
      await res.body?.cancel();
      return null;
    }
    const text = await readBounded(res, Math.min(MAX_PULL_BYTES, (MAX_HEARTBEAT_BYTES + 1024) * MAX_PULLED_HEARTBEATS));
    if (text === null) return null;
    const parsed = AnswerSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
