/** Monotonic milliseconds (pass durations; never compared with wall-clock times). */
import { performance } from 'node:perf_hooks';

export function nowMs(): number {
  return performance.now();
}
