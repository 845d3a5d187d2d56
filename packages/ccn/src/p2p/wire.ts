/**
 * The gossip wire format of a message: what pyaleph publishes on its message topic
 * (`web/controllers/utils.py#format_pending_message_dict`), so that a bridge to the real network
 * stays possible: the JSON of `sender, chain, signature, type, item_type, item_hash,
 * item_content` (inline only), `channel` (when set), `time` (float epoch seconds), plus the
 * parsed `content` of an inline message. Receivers never trust `content` (the envelope schema
 * drops it; the content is re-derived from `item_content` and its hash).
 *
 * Receiving follows pyaleph's `decode_pubsub_message` with one correction: pyaleph URL-decodes
 * every body before parsing it, which corrupts an `item_content` holding `%xx` sequences; here a
 * body is parsed as JSON first and URL-decoded only when that fails.
 */
import type { AlephMessage } from '@aleph-nodes/protocol';

export type WireRejection = 'too-large' | 'not-utf8' | 'not-json' | 'not-an-object';

export type WireDecoded = { ok: true; message: Record<string, unknown> } | { ok: false; reason: WireRejection };

const encoder = new TextEncoder();

/** The wire JSON of a message, in pyaleph's field order. */
export function wireObject(message: AlephMessage, withContent = true): Record<string, unknown> {
  const out: Record<string, unknown> = {
    sender: message.sender,
    chain: message.chain,
    signature: message.signature,
    type: message.type,
    item_type: message.item_type,
    item_hash: message.item_hash,
  };
  const inline = message.item_type === 'inline' && typeof message.item_content === 'string';
  if (inline) out.item_content = message.item_content;
  if (message.channel !== undefined && message.channel !== null) out.channel = message.channel;
  out.time = message.time;
  if (inline && withContent) {
    try {
      out.content = JSON.parse(message.item_content as string) as unknown;
    } catch {
      // A stored inline message always has JSON content; if not, receivers derive it anyway.
    }
  }
  return out;
}

/**
 * The bytes to publish, or undefined when the message does not fit in `maxBytes` even without
 * its redundant `content` (it then reaches peers by anti-entropy only).
 */
export function encodeWireMessage(message: AlephMessage, maxBytes: number): Uint8Array | undefined {
  const full = encoder.encode(JSON.stringify(wireObject(message, true)));
  if (full.length <= maxBytes) return full;
  // `content` repeats item_content: dropping it keeps mid-sized messages on gossip.
  const lean = encoder.encode(JSON.stringify(wireObject(message, false)));
  return lean.length <= maxBytes ? lean : undefined;
}

function parseObject(text: string): Record<string, unknown> | 'not-json' | 'not-an-object' {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not-json';
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : 'not-an-object';
}

/** Parses a received body (bounded by `maxBytes` before any decoding). */
export function decodeWireMessage(data: Uint8Array, maxBytes: number): WireDecoded {
  if (data.length > maxBytes) return { ok: false, reason: 'too-large' };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    return { ok: false, reason: 'not-utf8' };
  }
  const direct = parseObject(text);
  if (typeof direct === 'object') return { ok: true, message: direct };
  if (direct === 'not-an-object' || !text.includes('%')) return { ok: false, reason: direct };
  // pyaleph accepts URL-encoded bodies (older publishers quoted them).
  let unquoted: string;
  try {
    unquoted = decodeURIComponent(text);
  } catch {
    return { ok: false, reason: 'not-json' };
  }
  const decoded = parseObject(unquoted);
  return typeof decoded === 'object' ? { ok: true, message: decoded } : { ok: false, reason: decoded };
}

/** pyaleph's dedupe key: (sender, item_hash, signature); undefined when a field is not a string. */
export function dedupeKeyOf(message: Record<string, unknown>): string | undefined {
  const { sender, item_hash: itemHash, signature } = message;
  if (typeof sender !== 'string' || typeof itemHash !== 'string' || typeof signature !== 'string') return undefined;
  return `${sender}\n${itemHash}\n${signature}`;
}
