/** The serial console file of a VM: its growth is boot progress, its tail explains failures. */
import { openSync, readSync, closeSync, statSync } from 'node:fs';
import { INITRAMFS_LOG_PREFIX } from '@aleph-nodes/guest/protocol';
import { cutLine } from './agent-schema.ts';

export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** The last `maxLines` lines of the file (reads at most the last 64 KiB). */
export function tailLines(path: string, maxLines = 40): string[] {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return [];
  }
  try {
    const size = statSync(path).size;
    const length = Math.min(size, 65536);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').replace(/\r/g, '').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return lines.slice(-maxLines);
  } finally {
    closeSync(fd);
  }
}

/** The initramfs's fatal lines (assets/initramfs-init.sh `fatal`). */
const INITRAMFS_FATAL = `${INITRAMFS_LOG_PREFIX} FATAL: `;

/** Recognisable guest failures in the console, as a short reason for the owner. */
export function diagnoseConsole(lines: readonly string[]): string | undefined {
  for (const line of lines) {
    const at = line.indexOf(INITRAMFS_FATAL);
    if (at >= 0) return line.slice(at + INITRAMFS_FATAL.length);
  }
  for (const line of lines) {
    if (/Kernel panic/.test(line)) return line.replace(/^\[[^\]]*\]\s*/, '');
    if (/Out of memory/.test(line)) return 'the guest ran out of memory';
  }
  return undefined;
}

/** Terminal escapes systemd writes to the serial console (colours, cursor moves). */
const ANSI_RE = /\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]/g;

/** A console line as the owner's log shows it (pure). */
export function cleanConsoleLine(line: string): string {
  return line.replace(ANSI_RE, '').replace(/\r/g, '');
}

/** Longest console line handed over; the rest of a longer line is skipped up to its newline. */
export const MAX_CONSOLE_LINE = 16 * 1024;

/**
 * Follows the console file and hands each new complete line to `onLine` (an instance's log: it
 * has no agent, the serial console is what the owner gets). Polls the file; starts over when the
 * file shrinks (the boot watchdog truncates it before a retry, rotation empties it).
 *
 * The guest writes this file: a line without a newline may never end. The partial line held
 * here never exceeds `maxLine` characters: a longer line is handed over cut to `maxLine` (marked
 * ` [line cut]`) and the rest of it is skipped.
 */
export class ConsoleFollower {
  #offset = 0;
  #partial = '';
  /** Inside a line that was cut: skip up to its newline. */
  #skipping = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly path: string,
    private readonly onLine: (line: string) => void,
    private readonly intervalMs = 250,
    private readonly maxLine = MAX_CONSOLE_LINE,
  ) {}

  /** Characters of the incomplete line held now (≤ maxLine). */
  get partialLength(): number {
    return this.#partial.length;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.poll(), this.intervalMs);
    this.#timer.unref();
  }

  /** Reads what was added since the last call (at most 1 MiB per call). */
  poll(): void {
    const size = fileSize(this.path);
    if (size < this.#offset) {
      this.#offset = 0;
      this.#partial = '';
      this.#skipping = false;
    }
    if (size === this.#offset) return;
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch {
      return;
    }
    try {
      const length = Math.min(size - this.#offset, 1 << 20);
      const buffer = Buffer.alloc(length);
      const read = readSync(fd, buffer, 0, length, this.#offset);
      this.#offset += read;
      this.#take(buffer.subarray(0, read).toString('utf8'));
    } finally {
      closeSync(fd);
    }
  }

  #take(text: string): void {
    const pieces = text.split('\n');
    const last = pieces.length - 1;
    pieces.forEach((piece, i) => {
      const complete = i < last;
      if (this.#skipping) {
        if (complete) this.#skipping = false;
        return;
      }
      const line = this.#partial + piece;
      if (!complete && line.length <= this.maxLine) {
        this.#partial = line;
        return;
      }
      this.#partial = '';
      if (line.length > this.maxLine) {
        this.#emit(cutLine(line, this.maxLine));
        this.#skipping = !complete;
        return;
      }
      this.#emit(line);
    });
  }

  #emit(line: string): void {
    const text = cleanConsoleLine(line);
    if (text.trim()) this.onLine(text);
  }

  /** Reads the rest and stops. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.poll();
  }
}
