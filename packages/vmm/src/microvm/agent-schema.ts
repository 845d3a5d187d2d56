/**
 * The host's reading of what a guest sends on the control channel. Root in the guest can write
 * anything to the control port, so every guest→host line is hostile input:
 *
 * - framing (FrameDecoder): lines of at most MAX_GUEST_FRAME_BYTES; a longer one is dropped as it
 *   streams past (never buffered) and reported with its size. The 32 MiB limit of the shared
 *   LineDecoder only applies to host→guest `configure`, which carries a code zip;
 * - parsing (parseGuestFrame): JSON, then a strict zod schema, a discriminated union on `type`
 *   with every field typed and bounded (no unknown keys). Nothing over these bounds is delivered.
 *
 * This module is host-only: @aleph-nodes/guest's protocol.ts stays import-free for the agent
 * bundle that runs on the guest's Node.js 18.
 */
import { z } from 'zod';

/** Longest guest→host line. The agent's lines are far shorter except log lines (cut below). */
export const MAX_GUEST_FRAME_BYTES = 64 * 1024;

export const GUEST_FIELD_LIMITS = {
  version: 64,
  kernel: 256,
  /** Log text longer than this is cut, not refused: the agent in the image sends what the program printed, up to ~80 KiB per line. */
  logText: 16 * 1024,
  error: 4 * 1024,
  signal: 16,
} as const;

/** Cuts `text` to `max` UTF-16 units without splitting a surrogate pair. */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = /[\uD800-\uDBFF]/.test(text[max - 1] ?? '') ? max - 1 : max;
  return text.slice(0, end);
}

/** Says a line was cut; the marked line still fits in `max`. */
export const CUT_MARK = ' [line cut]';

/** `text` if it fits in `max`, else its beginning marked with CUT_MARK, `max` units in all. */
export function cutLine(text: string, max: number): string {
  return text.length <= max ? text : cutText(text, max - CUT_MARK.length) + CUT_MARK;
}

const int32 = z.number().int().min(-(2 ** 31)).max(2 ** 31 - 1);

/** A report of an outcome (`configured`, `refreshed`, `prestarted`): a failure carries its error. */
function outcome<T extends string>(type: T, what: string) {
  return z
    .strictObject({ type: z.literal(type), ok: z.boolean(), error: z.string().max(GUEST_FIELD_LIMITS.error).optional() })
    .refine((m) => m.ok || m.error !== undefined, { message: `a failed ${what} carries its error` });
}

export const GuestMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('hello'),
    version: z.string().max(GUEST_FIELD_LIMITS.version),
    kernel: z.string().max(GUEST_FIELD_LIMITS.kernel),
    uptimeMs: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  }),
  outcome('configured', 'configuration'),
  z.strictObject({ type: z.literal('ready') }),
  outcome('refreshed', 'refresh'),
  z.strictObject({
    type: z.literal('log'),
    stream: z.enum(['stdout', 'stderr']),
    // Bounded by the frame size first; what is delivered is cut to the log line limit.
    text: z.string().transform((text) => cutLine(text, GUEST_FIELD_LIMITS.logText)),
  }),
  z.strictObject({
    type: z.literal('exited'),
    code: int32.nullable(),
    signal: z.string().max(GUEST_FIELD_LIMITS.signal).regex(/^SIG[A-Z0-9+-]+$/).nullable(),
  }),
  z.strictObject({ type: z.literal('halting') }),
  outcome('prestarted', 'prestart'),
]);

/** A guest message as the host may act on it (every field checked and bounded). */
export type CheckedGuestMessage = z.output<typeof GuestMessageSchema>;

export type FrameResult =
  | { ok: true; message: CheckedGuestMessage }
  | { ok: false; reason: string };

/** A short, printable description of a rejected line (never its whole content). */
function sample(text: string): string {
  return JSON.stringify(cutText(text, 80));
}

/** Parses one line (without its newline); undefined for an empty line. Never throws. */
export function parseGuestFrame(line: Buffer | string): FrameResult | undefined {
  const text = (typeof line === 'string' ? line : line.toString('utf8')).trim();
  if (text === '') return undefined;
  if (Buffer.byteLength(text) > MAX_GUEST_FRAME_BYTES) return { ok: false, reason: `line over ${MAX_GUEST_FRAME_BYTES} bytes` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: `not JSON: ${sample(text)}` };
  }
  const parsed = GuestMessageSchema.safeParse(value);
  if (parsed.success) return { ok: true, message: parsed.data };
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? ` at ${cutText(issue.path.map(String).join('.'), 40)}` : '';
  return { ok: false, reason: `invalid message${where}: ${cutText(issue?.message ?? 'rejected', 120)} (${sample(text)})` };
}

/**
 * Splits a byte stream into lines of at most `maxLineBytes`. Memory held is bounded by that
 * limit whatever arrives: a longer line is discarded as it streams past and reported once with
 * its size when its newline comes.
 */
export class FrameDecoder {
  #chunks: Buffer[] = [];
  #length = 0;
  #discarding = false;
  #discarded = 0;

  constructor(
    private readonly onLine: (line: Buffer) => void,
    private readonly onOversized: (bytes: number) => void,
    private readonly maxLineBytes = MAX_GUEST_FRAME_BYTES,
  ) {}

  /** Bytes of the incomplete line held now (≤ maxLineBytes). */
  get bufferedBytes(): number {
    return this.#length;
  }

  push(chunk: Buffer): void {
    let start = 0;
    while (start <= chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline < 0 ? chunk.length : newline;
      const piece = chunk.subarray(start, end);
      if (this.#discarding) {
        this.#discarded += piece.length;
      } else if (this.#length + piece.length > this.maxLineBytes) {
        this.#discarding = true;
        this.#discarded = this.#length + piece.length;
        this.#chunks = [];
        this.#length = 0;
      } else if (piece.length > 0) {
        // A copy: a slice would keep the whole socket chunk alive.
        this.#chunks.push(Buffer.from(piece));
        this.#length += piece.length;
      }
      if (newline < 0) return;
      if (this.#discarding) {
        const bytes = this.#discarded;
        this.#discarding = false;
        this.#discarded = 0;
        this.onOversized(bytes);
      } else {
        const line = Buffer.concat(this.#chunks, this.#length);
        this.#chunks = [];
        this.#length = 0;
        this.onLine(line);
      }
      start = newline + 1;
    }
  }
}
