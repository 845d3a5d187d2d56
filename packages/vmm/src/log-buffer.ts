/**
 * The last lines of a workload's output, with live subscribers. Shared by every backend.
 * Bounded in lines AND bytes: a workload's output is hostile, and a thousand lines of a megabyte
 * each would otherwise sit in the supervisor's memory.
 */
import type { LogLine } from './executor.ts';

/** Longest line kept (UTF-16 units); longer ones are cut. */
export const MAX_LOG_LINE = 16384;

export class LogBuffer {
  readonly #lines: LogLine[] = [];
  #bytes = 0;
  readonly #listeners = new Set<(line: LogLine) => void>();
  /** Partial last line per stream, completed by the next chunk. */
  readonly #partial = { stdout: '', stderr: '' };

  constructor(
    private readonly capacity = 1000,
    /** Most bytes (UTF-16 units × 2, as held in memory) of kept line text. */
    private readonly maxBytes = 2 * 1024 * 1024,
  ) {}

  /** Bytes of line text held now (≤ maxBytes). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Splits a chunk of output into lines; an unterminated tail waits for the next chunk. */
  write(stream: LogLine['stream'], chunk: string, time = Date.now()): void {
    const text = this.#partial[stream] + chunk;
    const parts = text.split('\n');
    this.#partial[stream] = parts.pop() ?? '';
    // A line longer than 16 KiB is cut rather than buffered forever.
    if (this.#partial[stream].length > MAX_LOG_LINE) {
      parts.push(this.#partial[stream]);
      this.#partial[stream] = '';
    }
    for (const part of parts) this.push({ stream, time, text: part.replace(/\r$/, '') });
  }

  /** Emits what is left of unterminated lines (at exit). */
  flush(time = Date.now()): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.#partial[stream]) this.push({ stream, time, text: this.#partial[stream] });
      this.#partial[stream] = '';
    }
  }

  push(input: LogLine): void {
    const line = input.text.length > MAX_LOG_LINE ? { ...input, text: input.text.slice(0, MAX_LOG_LINE) } : input;
    this.#lines.push(line);
    this.#bytes += line.text.length * 2;
    while (this.#lines.length > this.capacity || (this.#bytes > this.maxBytes && this.#lines.length > 1)) {
      const old = this.#lines.shift() as LogLine;
      this.#bytes -= old.text.length * 2;
    }
    for (const listener of this.#listeners) {
      try {
        listener(line);
      } catch {
        // A faulty subscriber must not break logging for the others.
      }
    }
  }

  recent(limit = this.capacity): LogLine[] {
    return this.#lines.slice(Math.max(0, this.#lines.length - limit));
  }

  subscribe(listener: (line: LogLine) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
