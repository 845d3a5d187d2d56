/**
 * Arguments of `ccn oracle balance|credits|flow`, checked before anything is signed: a wrong
 * argument is a usage error (exit 2) with one line naming the argument and what is wrong.
 *
 * Amounts are decimal strings, never parsed through arithmetic: a token balance is written to the
 * post as a JSON number (pyaleph's indexer writes floats), so it may carry at most 15 significant
 * digits, the precision a double keeps exactly (the number the CCN reads is the one typed); a flow
 * rate is written as a decimal string (the flows contract), so only its size is bounded; credits
 * are integers (pyaleph's `aleph_credit_distribution` refuses anything else) and at least 1.
 */
import { isEthAddress, MAX_CREDIT_AMOUNT, MAX_FLOW_RATE_PER_HOUR as CCN_MAX_FLOW_RATE, MAX_TOKEN_AMOUNT as CCN_MAX_TOKEN_AMOUNT, toChecksumAddress } from '@aleph-nodes/protocol';

/** The CCN's bound on a token amount (oracle schemas): far above the ALEPH supply. */
export const MAX_TOKEN_AMOUNT = CCN_MAX_TOKEN_AMOUNT;
/** ALEPH has 18 decimals. */
export const MAX_DECIMALS = 18;
/** A double keeps any decimal of 15 significant digits exactly. */
export const MAX_SIGNIFICANT_DIGITS = 15;
/** The CCN's bound on one credit entry (integers, exact in a double). */
export const MAX_CREDITS = MAX_CREDIT_AMOUNT;
/** The CCN's bound on a flow rate, ALEPH per hour. */
export const MAX_FLOW_RATE_PER_HOUR = CCN_MAX_FLOW_RATE;

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

const DECIMAL_RE = /^(\d+)(?:\.(\d+))?$/;

/** An Ethereum address, returned in its EIP-55 form (the form the SDK signs with). */
export function checkAddress(what: string, raw: string): Checked<string> {
  if (!isEthAddress(raw)) return { ok: false, error: `${what} ${JSON.stringify(raw)} is not an Ethereum address (0x and 40 hex digits)` };
  const checksummed = toChecksumAddress(raw);
  // Mixed case is a checksum (EIP-55): a wrong one is a mistyped address.
  const mixed = raw.slice(2) !== raw.slice(2).toLowerCase() && raw.slice(2) !== raw.slice(2).toUpperCase();
  if (mixed && raw !== checksummed) return { ok: false, error: `${what} ${raw} has a wrong EIP-55 checksum (mistyped? expected ${checksummed})` };
  return { ok: true, value: checksummed };
}

/** The canonical form of a non-negative decimal: no leading zeros, no trailing fraction zeros. */
function canonicalDecimal(intPart: string, fracPart: string): string {
  const int = intPart.replace(/^0+(?=\d)/, '');
  const frac = fracPart.replace(/0+$/, '');
  return frac ? `${int}.${frac}` : int;
}

/**
 * The canonical string of a decimal amount as a route may report it (a decimal string, or a JSON
 * number in exponent form such as 1e-7): equal amounts give equal strings.
 */
export function canonicalAmount(raw: string): string {
  const m = DECIMAL_RE.exec(raw);
  if (m) return canonicalDecimal(m[1] ?? '', m[2] ?? '');
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) return raw;
  // JavaScript writes small and huge numbers with an exponent: move the point in the digits.
  const e = /^(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(String(n));
  if (!e) return String(n);
  const digits = `${e[1] ?? ''}${e[2] ?? ''}`;
  const point = (e[1] ?? '').length + Number(e[3]);
  if (point <= 0) return canonicalDecimal('0', `${'0'.repeat(-point)}${digits}`);
  if (point >= digits.length) return canonicalDecimal(`${digits}${'0'.repeat(point - digits.length)}`, '');
  return canonicalDecimal(digits.slice(0, point), digits.slice(point));
}

function significantDigits(canonical: string): number {
  return canonical.replace('.', '').replace(/^0+/, '').length;
}

/** A non-negative decimal amount of ALEPH (or ALEPH per hour), as its canonical string. */
export function checkTokenAmount(what: string, raw: string, opts: { exactAsNumber: boolean; max?: number }): Checked<string> {
  const max = opts.max ?? MAX_TOKEN_AMOUNT;
  const m = DECIMAL_RE.exec(raw);
  if (!m) return { ok: false, error: `${what} ${JSON.stringify(raw)} is not a non-negative decimal number (e.g. 1000 or 12.5)` };
  const [, intPart = '', fracPart = ''] = m;
  if (fracPart.length > MAX_DECIMALS) return { ok: false, error: `${what} ${raw} has more than ${MAX_DECIMALS} decimals (ALEPH has ${MAX_DECIMALS})` };
  const canonical = canonicalDecimal(intPart, fracPart);
  const whole = canonical.split('.')[0] as string;
  if (whole.length > String(max).length || Number(canonical) > max) {
    return { ok: false, error: `${what} ${raw} is above the bound of ${max}` };
  }
  if (opts.exactAsNumber && significantDigits(canonical) > MAX_SIGNIFICANT_DIGITS) {
    return { ok: false, error: `${what} ${raw} has more than ${MAX_SIGNIFICANT_DIGITS} significant digits, more than a balance post carries exactly` };
  }
  return { ok: true, value: canonical };
}

/** A whole number of credits, at least 1. */
export function checkCredits(what: string, raw: string): Checked<number> {
  if (!/^\d+$/.test(raw)) return { ok: false, error: `${what} ${JSON.stringify(raw)} is not a whole number of credits (e.g. 1000000)` };
  const canonical = raw.replace(/^0+(?=\d)/, '');
  if (canonical.length > String(MAX_CREDITS).length || Number(canonical) > MAX_CREDITS) return { ok: false, error: `${what} ${raw} is above the bound of ${MAX_CREDITS}` };
  const n = Number(canonical);
  if (n < 1) return { ok: false, error: `${what} must be at least 1: a distribution gives credits (they are consumed, never set)` };
  return { ok: true, value: n };
}

export type OracleRequest =
  | { kind: 'balance'; address: string; amount: string }
  | { kind: 'credits'; address: string; amount: number; /** Unix ms after which the lot no longer counts (pyaleph's `expiration`). */ expirationMs?: number }
  | { kind: 'flow'; sender: string; receiver: string; ratePerHour: string };

function all<T>(checks: Checked<unknown>[], build: () => T): Checked<T> {
  const bad = checks.find((c): c is { ok: false; error: string } => !c.ok);
  return bad ? bad : { ok: true, value: build() };
}

export function checkBalanceArgs(address: string, amount: string): Checked<OracleRequest> {
  const a = checkAddress('ADDRESS', address);
  const n = checkTokenAmount('AMOUNT', amount, { exactAsNumber: true });
  return all([a, n], () => ({ kind: 'balance' as const, address: (a as { value: string }).value, amount: (n as { value: string }).value }));
}

/** `--expires`: ISO 8601 or unix seconds, in the future (a lot that is already expired gives nothing). */
export function checkExpiry(raw: string, nowMs: number): Checked<number> {
  let ms: number | undefined;
  if (/^\d{1,11}(\.\d+)?$/.test(raw)) ms = Math.round(Number(raw) * 1000);
  else if (/^\d{4}-\d{2}-\d{2}/.test(raw) && Number.isFinite(Date.parse(raw))) ms = Date.parse(raw);
  if (ms === undefined) return { ok: false, error: `--expires ${JSON.stringify(raw)} is neither an ISO 8601 date nor unix seconds` };
  if (ms <= nowMs) return { ok: false, error: `--expires ${raw} is in the past: the credits would never count` };
  return { ok: true, value: ms };
}

export function checkCreditsArgs(address: string, amount: string, expires?: string, nowMs: number = Date.now()): Checked<OracleRequest> {
  const a = checkAddress('ADDRESS', address);
  const n = checkCredits('AMOUNT', amount);
  const e = expires === undefined ? undefined : checkExpiry(expires, nowMs);
  return all([a, n, ...(e ? [e] : [])], () => ({
    kind: 'credits' as const,
    address: (a as { value: string }).value,
    amount: (n as { value: number }).value,
    ...(e ? { expirationMs: (e as { value: number }).value } : {}),
  }));
}

export function checkFlowArgs(sender: string, receiver: string, rate: string): Checked<OracleRequest> {
  const s = checkAddress('SENDER', sender);
  const r = checkAddress('RECEIVER', receiver);
  const n = checkTokenAmount('ALEPH_PER_HOUR', rate, { exactAsNumber: false, max: MAX_FLOW_RATE_PER_HOUR });
  const checked = all([s, r, n], () => ({ kind: 'flow' as const, sender: (s as { value: string }).value, receiver: (r as { value: string }).value, ratePerHour: (n as { value: string }).value }));
  if (checked.ok && checked.value.kind === 'flow' && checked.value.sender.toLowerCase() === checked.value.receiver.toLowerCase()) {
    return { ok: false, error: `SENDER and RECEIVER are the same address (${checked.value.sender}): a flow goes from a user to a CRN's reward address` };
  }
  return checked;
}

/** `--timeout` in seconds: a positive number up to an hour. */
export function checkTimeout(raw: string): Checked<number> {
  const n = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || !(n > 0) || n > 3600) return { ok: false, error: `--timeout ${JSON.stringify(raw)} must be a number of seconds from 0 (exclusive) to 3600` };
  return { ok: true, value: n };
}
