/**
 * Full validation of an untrusted message: envelope, item_type and item_hash rules, content
 * schema and signature. Every failure is a ProtocolError; nothing else escapes.
 */
import { parseContent, zodIssues, type ContentOf } from './content/index.ts';
import type { MessageType } from './content/common.ts';
import { verifyMessageSignature } from './crypto/verify.ts';
import { sha256Hex } from './crypto/sha256.ts';
import { EnvelopeSchema, type AlephMessage } from './envelope.ts';
import { ProtocolError } from './errors.ts';
import { isSha256Hex, itemTypeOfHash, type ItemType } from './item-hash.ts';
import { LIMITS } from './limits.ts';
import { CONTENT_SCHEMAS } from './content/index.ts';

export interface ValidateOptions {
  /** Current time in Unix seconds; defaults to the clock. Injected by tests. */
  now?: number;
  /** How far ahead of `now` a message time may be; default one hour. */
  maxFutureSeconds?: number;
  /** Skip the signature check (only for already-verified messages read back from storage). */
  skipSignature?: boolean;
}

export interface ValidatedMessage<T extends MessageType = MessageType> {
  message: AlephMessage;
  /** Parsed content with defaults filled; undefined for storage/ipfs messages until fetched. */
  content: ContentOf<T> | undefined;
}

const MESSAGE_TYPES: ReadonlySet<string> = new Set(Object.keys(CONTENT_SCHEMAS));

function parseJsonText(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ProtocolError('INVALID_JSON', `${what} is not valid JSON`);
  }
}

/**
 * Parses a content document, refusing nesting deeper than LIMITS.contentJsonDepth. JSON.parse
 * copes with any depth, but JSON.stringify and other recursive consumers (storage, API output)
 * overflow the stack on a few thousand levels; the reference (Python's json) refuses ~1000.
 */
function parseContentText(text: string, what: string): unknown {
  const max = LIMITS.contentJsonDepth;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) throw new ProtocolError('INVALID_CONTENT', `${what} is nested deeper than ${max} levels`);
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return parseJsonText(text, what);
}

function countCodePoints(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // A high surrogate followed by a low one is one character.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Resolves item_type: explicit, else `inline` when item_content is present, else from the hash shape. */
function resolveItemType(declared: ItemType | undefined, hasContent: boolean, itemHash: string): ItemType {
  const inferred = itemTypeOfHash(itemHash);
  const itemType = declared ?? (hasContent ? 'inline' : inferred);
  if (!itemType) throw new ProtocolError('INVALID_ITEM_HASH', 'item_hash is neither a SHA-256 hex digest nor an IPFS CID');
  if (itemType === 'inline') {
    if (!hasContent) throw new ProtocolError('INVALID_ENVELOPE', 'an inline message needs item_content');
    return itemType;
  }
  if (hasContent) throw new ProtocolError('INVALID_ENVELOPE', `item_content is forbidden for item_type ${itemType}`);
  // A hash of no valid shape at all (uppercase hex, garbage) is a bad hash, not a type mismatch.
  if (!inferred) throw new ProtocolError('INVALID_ITEM_HASH', 'item_hash is neither a lowercase SHA-256 hex digest nor an IPFS CID');
  if (inferred !== itemType) throw new ProtocolError('INVALID_ITEM_TYPE', `item_type ${itemType} does not match the shape of item_hash`);
  return itemType;
}

function checkTime(time: number, what: string, opts: ValidateOptions): void {
  const now = opts.now ?? Date.now() / 1000;
  const maxAhead = opts.maxFutureSeconds ?? 3600;
  if (time > now + maxAhead) {
    throw new ProtocolError('TIME_IN_FUTURE', `${what} is ${Math.round(time - now)} s in the future (at most ${maxAhead} s allowed)`);
  }
}

/** Validates an untrusted message (object or JSON text). */
export function validateMessage(input: unknown, opts: ValidateOptions = {}): ValidatedMessage {
  const raw = typeof input === 'string' ? parseJsonText(input, 'message') : input;
  if (!isPlainObject(raw)) throw new ProtocolError('INVALID_ENVELOPE', 'message must be a JSON object');
  if (typeof raw.type === 'string' && !MESSAGE_TYPES.has(raw.type)) {
    throw new ProtocolError('UNKNOWN_MESSAGE_TYPE', `unknown message type ${JSON.stringify(raw.type.slice(0, 64))}`);
  }
  const parsed = EnvelopeSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = zodIssues(parsed.error);
    const chainIssue = issues.find((i) => i.path === 'chain');
    if (chainIssue && typeof raw.chain === 'string') throw new ProtocolError('UNSUPPORTED_CHAIN', `unknown chain ${JSON.stringify(raw.chain.slice(0, 32))}`);
    const first = issues[0];
    throw new ProtocolError('INVALID_ENVELOPE', `invalid message: ${first ? `${first.path}: ${first.message}` : 'schema mismatch'}`, issues);
  }
  const env = parsed.data;
  const hasContent = typeof env.item_content === 'string';
  const itemType = resolveItemType(env.item_type, hasContent, env.item_hash);
  const message: AlephMessage = {
    chain: env.chain,
    sender: env.sender,
    type: env.type,
    ...(env.channel != null ? { channel: env.channel } : {}),
    time: env.time,
    item_type: itemType,
    ...(hasContent ? { item_content: env.item_content } : {}),
    item_hash: env.item_hash,
    signature: env.signature,
  };
  checkTime(message.time, 'message time', opts);

  let content: ValidatedMessage['content'];
  if (itemType === 'inline') {
    const text = env.item_content as string;
    // The reference counts characters (code points, Python `len`), not UTF-16 units: a text
    // with emoji may have a `length` over the limit and still be within it.
    if (text.length > LIMITS.inlineContentChars) {
      const chars = countCodePoints(text);
      if (chars > LIMITS.inlineContentChars) {
        throw new ProtocolError('CONTENT_TOO_LONG', `item_content has ${chars} characters, at most ${LIMITS.inlineContentChars} are allowed`);
      }
    }
    if (!isSha256Hex(env.item_hash)) throw new ProtocolError('INVALID_ITEM_HASH', 'an inline item_hash must be a lowercase SHA-256 hex digest');
    // Hash the exact text received: never re-serialize before hashing.
    if (sha256Hex(text) !== env.item_hash) throw new ProtocolError('ITEM_HASH_MISMATCH', 'item_hash is not the SHA-256 of item_content');
    content = parseContent(message.type, parseContentText(text, 'item_content'));
    checkTime(content.time, 'content time', opts);
  }
  if (!opts.skipSignature) verifyMessageSignature(message);
  return { message, content };
}

/**
 * Validates the content of a storage/ipfs message once its bytes are fetched. For `storage`
 * the bytes must hash to item_hash; IPFS CIDs are verified by the fetcher.
 */
export function validateStoredContent<T extends MessageType>(message: AlephMessage & { type: T }, bytes: Uint8Array, opts: ValidateOptions = {}): ContentOf<T> {
  if (message.item_type === 'storage' && sha256Hex(bytes) !== message.item_hash) {
    throw new ProtocolError('ITEM_HASH_MISMATCH', 'stored content does not hash to item_hash');
  }
  const content = parseContent(message.type, parseContentText(Buffer.from(bytes).toString('utf8'), 'stored content'));
  checkTime(content.time, 'content time', opts);
  return content;
}
