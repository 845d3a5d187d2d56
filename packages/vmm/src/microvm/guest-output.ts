/**
 * Bounds on what a guest makes the host keep. A hostile guest (root inside) may write without
 * end to its serial console and to its program's stdout; none of it may grow host memory or
 * disk without limit:
 *
 * - the console file (and QEMU's own stderr log) is rotated by copy-truncate once over
 *   `consoleMaxBytes`: at most the file, one `.1` copy, and what arrives between two checks;
 * - log lines (agent `log` messages, an instance's console lines) are cut at `lineMaxChars` and
 *   limited to `logBytesPerSecond` per VM (a token bucket holding one second): what is over is
 *   dropped and counted, and one `[N bytes of output dropped]` line says so when output fits
 *   again (or at the next check);
 * - the log buffer itself is bounded in lines and bytes (LogBuffer).
 */
import { copyFileSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import type { LogLine } from '../executor.ts';
import { LogBuffer } from '../log-buffer.ts';
import { cutLine } from './agent-schema.ts';
import { ConsoleFollower } from './console-log.ts';

export interface GuestOutputLimits {
  /** Console file size that triggers a rotation (copy to `.1`, truncate). */
  consoleMaxBytes: number;
  /** Longest log or console line kept (longer ones are cut). */
  lineMaxChars: number;
  /** Log bytes accepted per VM per second (one second of burst). */
  logBytesPerSecond: number;
  /** Bytes of log lines the VM's buffer keeps (oldest evicted first). */
  logBufferBytes: number;
  /** Malformed control messages in a row that end the VM. */
  maxInvalidFrames: number;
}

export const DEFAULT_GUEST_OUTPUT_LIMITS: GuestOutputLimits = {
  consoleMaxBytes: 8 * 1024 * 1024,
  lineMaxChars: 16 * 1024,
  logBytesPerSecond: 256 * 1024,
  logBufferBytes: 2 * 1024 * 1024,
  maxInvalidFrames: 100,
};

/**
 * Copy-truncate rotation: `path` → `path.1` (replacing it), then `path` emptied. The writer must
 * append (QEMU's chardev has append=on), so its next write lands at the new end instead of
 * leaving a hole the size of the old file. Lines written between copy and truncate are lost.
 * Returns true when it rotated.
 */
export function rotateIfOver(path: string, maxBytes: number): boolean {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return false;
  }
  if (size <= maxBytes) return false;
  try {
    copyFileSync(path, `${path}.1`);
    truncateSync(path, 0);
    return true;
  } catch {
    return false;
  }
}

/** Per-VM rate limit and line cap for log lines (see the file comment). */
export class LogLimiter {
  #tokens: number;
  #last: number;
  #dropped = 0;

  constructor(
    private readonly limits: Pick<GuestOutputLimits, 'lineMaxChars' | 'logBytesPerSecond'>,
    private readonly emit: (line: LogLine) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.#tokens = limits.logBytesPerSecond;
    this.#last = now();
  }

  /** Bytes dropped since the last `[… dropped]` line. */
  get dropped(): number {
    return this.#dropped;
  }

  #refill(): void {
    const now = this.now();
    const elapsed = Math.max(0, now - this.#last);
    this.#last = now;
    this.#tokens = Math.min(this.limits.logBytesPerSecond, this.#tokens + (elapsed * this.limits.logBytesPerSecond) / 1000);
  }

  /** Emits the line (cut) when it fits in this second's budget, else counts it as dropped. */
  push(line: LogLine): void {
    this.#refill();
    const text = cutLine(line.text, this.limits.lineMaxChars);
    const cost = Buffer.byteLength(text) + 1;
    if (cost > this.#tokens) {
      this.#dropped += cost;
      return;
    }
    this.#report();
    this.#tokens -= cost;
    this.emit(text === line.text ? line : { ...line, text });
  }

  /** Counts output dropped before it could be read (an oversized control line). */
  countDropped(bytes: number): void {
    this.#dropped += bytes;
  }

  /** Reports dropped output once the budget has room again (called periodically and at the end). */
  flush(force = false): void {
    this.#refill();
    if (this.#dropped > 0 && (force || this.#tokens >= 64)) this.#report();
  }

  #report(): void {
    if (this.#dropped === 0) return;
    const bytes = this.#dropped;
    this.#dropped = 0;
    this.emit({ stream: 'stderr', time: this.now(), text: `[${bytes} bytes of output dropped]` });
  }
}

/**
 * Everything a VM keeps of its guest's output: the bounded log buffer behind the rate limiter,
 * an instance's console follower, and the periodic rotation of the console and QEMU's log.
 */
export class VmOutput {
  readonly logs: LogBuffer;
  readonly #limiter: LogLimiter;
  #follower: ConsoleFollower | undefined;
  #timer: NodeJS.Timeout | undefined;
  #dir: string | undefined;

  constructor(
    readonly limits: GuestOutputLimits,
    private readonly intervalMs = 1000,
  ) {
    this.logs = new LogBuffer(1000, limits.logBufferBytes);
    this.#limiter = new LogLimiter(limits, (line) => this.logs.push(line));
  }

  /** A log line from the guest: cut, rate limited, then kept. */
  push(line: LogLine): void {
    this.#limiter.push(line);
  }

  /** Output dropped unread elsewhere (an oversized control line). */
  dropped(bytes: number): void {
    this.#limiter.countDropped(bytes);
  }

  /** A line from the host itself (never rate limited: the owner must see why the VM ended). */
  note(text: string): void {
    this.logs.push({ stream: 'stderr', time: Date.now(), text: `[aleph] ${text}` });
  }

  /** Starts rotating `dir`'s console and QEMU log, and following the console when `follow`. */
  start(dir: string, follow: boolean): void {
    this.#dir = dir;
    if (follow && !this.#follower) {
      this.#follower = new ConsoleFollower(join(dir, 'console.log'), (text) => this.push({ stream: 'stdout', time: Date.now(), text }), 250, this.limits.lineMaxChars);
      this.#follower.start();
    }
    if (!this.#timer) {
      this.#timer = setInterval(() => this.maintain(), this.intervalMs);
      this.#timer.unref();
    }
  }

  /** One round: read the console up to now, rotate what is over its size, report drops. */
  maintain(): void {
    const dir = this.#dir;
    if (!dir) return;
    this.#follower?.poll();
    rotateIfOver(join(dir, 'console.log'), this.limits.consoleMaxBytes);
    rotateIfOver(join(dir, 'qemu.log'), this.limits.consoleMaxBytes);
    this.#limiter.flush();
  }

  /** Memory held for this VM's output besides the log buffer (the follower's partial line). */
  get partialBytes(): number {
    return (this.#follower?.partialLength ?? 0) * 2;
  }

  /** Stops the timer and the follower (reading what is left), reports what was dropped. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#follower?.stop();
    this.#follower = undefined;
    this.#limiter.flush(true);
  }
}
