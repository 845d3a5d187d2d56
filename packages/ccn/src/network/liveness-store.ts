/**
 * The latest heartbeat of every CCN, kept in a small file of the data dir across restarts: a CCN
 * that restarts still knows where a CCN that died meanwhile had placed its workloads. What is
 * read back is verified again like a peer's heartbeat (liveness.ts).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import type { HeartbeatEnvelope } from './liveness-heartbeat.ts';

const StateFileSchema = z.object({ heartbeats: z.array(z.unknown()).max(10_000) });

/** The stored heartbeats, unverified; none when the file is missing or unreadable. */
export function readHeartbeatsFile(path: string): unknown[] {
  try {
    return StateFileSchema.parse(JSON.parse(readFileSync(path, 'utf8'))).heartbeats;
  } catch {
    return [];
  }
}

/** Replaces the file atomically (a crash leaves the old one or the new one). */
export function writeHeartbeatsFile(path: string, heartbeats: readonly HeartbeatEnvelope[]): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify({ heartbeats }), { mode: 0o600 });
  renameSync(tmp, path);
}
