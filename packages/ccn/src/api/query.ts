/**
 * Query-string parsing shared by the list routes. Parameters are accepted by their camelCase
 * name and by their snake_case field name (`sortOrder` / `sort_order`), as the reference does;
 * unknown parameters are ignored (the SDK adds some). Invalid values are 422.
 */
import { CCN_ERRORS } from '../errors.ts';
import { MESSAGE_STATUSES, type MessageFilter, type MessageStatus } from '../db/messages-repo.ts';

export type RawQuery = Record<string, string | string[] | undefined>;

function snakeOf(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/** The raw string of a parameter (last occurrence wins when repeated). */
export function param(query: RawQuery, ...names: string[]): string | undefined {
  for (const name of names) {
    for (const key of [name, snakeOf(name)]) {
      const v = query[key];
      if (v === undefined) continue;
      const s = Array.isArray(v) ? v[v.length - 1] : v;
      if (s !== undefined) return s;
    }
  }
  return undefined;
}

/** A comma-separated list; empty items are dropped; repeated parameters are concatenated. */
export function listParam(query: RawQuery, ...names: string[]): string[] | undefined {
  for (const name of names) {
    for (const key of [name, snakeOf(name)]) {
      const v = query[key];
      if (v === undefined) continue;
      const items = (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
      return items;
    }
  }
  return undefined;
}

/** Decimal digits only: `Number()` would also read "0x1f", "1e3" or " 12 " as integers. */
const INTEGER_RE = /^-?\d{1,16}$/;

export function intParam(query: RawQuery, name: string, def: number, min: number, max: number): number {
  const raw = param(query, name);
  if (raw === undefined || raw === '') return def;
  const n = INTEGER_RE.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw CCN_ERRORS.error('INVALID_PARAMETER', `${name} must be an integer between ${min} and ${max}`);
  }
  return n;
}

/** Highest page number a list route takes (offsets stay far within SQL integers). */
export const MAX_PAGE = 1_000_000_000;

/** A page number from a path segment (`/messages/page/{n}.json`). */
export function pageFromPath(raw: string): number {
  const n = /^\d{1,10}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_PAGE) throw CCN_ERRORS.error('INVALID_PARAMETER', `page must be an integer between 1 and ${MAX_PAGE}`);
  return n;
}

/**
 * `pagination` of a list route in page mode. pyaleph reads 0 as "no limit" on messages, hashes
 * and posts (`web/controllers`, `schemas/messages_query_params.py`), which lets one request
 * read a whole table: here 0 and anything above `cap` are served `cap` items, and the answer's
 * `pagination_per_page` says so (clients page on it, as with any page size).
 */
export function pageSizeParam(query: RawQuery, def: number, cap: number): number {
  const n = intParam(query, 'pagination', def, 0, Number.MAX_SAFE_INTEGER);
  return n === 0 ? cap : Math.min(n, cap);
}

/** pyaleph's cap in cursor mode (`CURSOR_MAX_PAGINATION`): larger values are served this many. */
const CURSOR_MAX_PAGINATION = 200;

/** `pagination` in cursor mode: 0 is 422 there (pyaleph `validate_cursor_pagination`), more than 200 is 200. */
export function cursorPageSizeParam(query: RawQuery, def: number, cap: number): number {
  const n = intParam(query, 'pagination', def, 0, Number.MAX_SAFE_INTEGER);
  if (n === 0) throw CCN_ERRORS.error('INVALID_PARAMETER', 'pagination=0 is not allowed with cursor-based pagination');
  return Math.min(n, CURSOR_MAX_PAGINATION, cap);
}

export function numberParam(query: RawQuery, name: string): number | undefined {
  const raw = param(query, name);
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw CCN_ERRORS.error('INVALID_PARAMETER', `${name} must be a non-negative number`);
  return n === 0 ? undefined : n;
}

export function boolParam(query: RawQuery, name: string, def: boolean): boolean {
  const raw = param(query, name);
  if (raw === undefined || raw === '') return def;
  if (['true', '1', 'yes'].includes(raw.toLowerCase())) return true;
  if (['false', '0', 'no'].includes(raw.toLowerCase())) return false;
  throw CCN_ERRORS.error('INVALID_PARAMETER', `${name} must be true or false`);
}

export function sortOrderParam(query: RawQuery): 1 | -1 {
  const raw = param(query, 'sortOrder');
  if (raw === undefined || raw === '') return -1;
  if (raw === '1') return 1;
  if (raw === '-1') return -1;
  throw CCN_ERRORS.error('INVALID_PARAMETER', 'sortOrder must be 1 or -1');
}

const TYPES = new Set(['POST', 'AGGREGATE', 'STORE', 'PROGRAM', 'INSTANCE', 'FORGET']);

/** The message filters of aleph-protocol.md §7.2 (also used by the WebSocket). */
export function messageFilterOf(query: RawQuery, defaultStatuses: MessageStatus[] | undefined): MessageFilter {
  const types = listParam(query, 'msgTypes', 'msgType', 'messageTypes', 'type');
  for (const t of types ?? []) if (!TYPES.has(t)) throw CCN_ERRORS.error('INVALID_PARAMETER', `unknown message type ${t}`);
  const statuses = listParam(query, 'msgStatuses', 'messageStatuses');
  for (const s of statuses ?? []) {
    if (!(MESSAGE_STATUSES as readonly string[]).includes(s)) throw CCN_ERRORS.error('INVALID_PARAMETER', `unknown message status ${s}`);
  }
  const startDate = numberParam(query, 'startDate');
  const endDate = numberParam(query, 'endDate');
  const filter: MessageFilter = {};
  const set = <K extends keyof MessageFilter>(key: K, value: MessageFilter[K] | undefined): void => {
    if (value !== undefined && (!Array.isArray(value) || value.length > 0)) filter[key] = value;
  };
  set('types', types);
  set('statuses', (statuses as MessageStatus[] | undefined) ?? defaultStatuses);
  set('senders', listParam(query, 'addresses'));
  set('owners', listParam(query, 'owners'));
  set('refs', listParam(query, 'refs'));
  set('contentHashes', listParam(query, 'contentHashes'));
  set('contentKeys', listParam(query, 'contentKeys'));
  set('contentTypes', listParam(query, 'contentTypes'));
  set('chains', listParam(query, 'chains'));
  set('channels', listParam(query, 'channels'));
  set('hashes', listParam(query, 'hashes'));
  set('tags', listParam(query, 'tags'));
  set('paymentTypes', listParam(query, 'paymentTypes'));
  set('startDate', startDate);
  set('endDate', endDate);
  return filter;
}
