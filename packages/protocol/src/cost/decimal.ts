/**
 * Decimal arithmetic as pyaleph does it. pyaleph computes every cost with Python's `Decimal` in
 * the default context (28 significant digits, ROUND_HALF_EVEN after every operation) and stores
 * `format_cost(v)` = v quantized to 18 decimal places with ROUND_FLOOR. Reproducing both, digit
 * for digit, is what makes our costs equal to a pyaleph node's, so sums and comparisons that decide
 * a rejection agree across nodes. Binary floats are never used for an amount.
 */
import { Decimal } from 'decimal.js';

/** The decimal type of every amount: Python's default context (28 digits, half-even). */
export const Dec = Decimal.clone({ precision: 28, rounding: Decimal.ROUND_HALF_EVEN, toExpNeg: -40, toExpPos: 40 });
export type Dec = InstanceType<typeof Dec>;

/** pyaleph's PRICE_PRECISION: amounts are kept to 18 decimal places. */
export const PRICE_PRECISION = 18;

/** Decimal places of a double's exact binary value (2^-1074 has 1074). */
const DOUBLE_VIEW_BYTES = 8;

/**
 * The exact decimal value of a double, as Python's `Decimal(float)` gives it (0.05 is
 * 0.05000000000000000277…): pyaleph reads JSON numbers of a pricing aggregate as floats and turns
 * them into Decimals this way, so the same aggregate must give the same digits here.
 */
export function exactDecimalOfNumber(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`not a finite number: ${x}`);
  if (Number.isInteger(x)) return BigInt(x).toString();
  const view = new DataView(new ArrayBuffer(DOUBLE_VIEW_BYTES));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const negative = bits >> 63n === 1n;
  const exponentBits = Number((bits >> 52n) & 0x7ffn);
  let mantissa = bits & ((1n << 52n) - 1n);
  let exponent: number;
  if (exponentBits === 0) exponent = -1074;
  else {
    mantissa |= 1n << 52n;
    exponent = exponentBits - 1075;
  }
  // A non-integer double has a negative binary exponent: m / 2^k = m * 5^k / 10^k.
  const k = -exponent;
  const digits = (mantissa * 5n ** BigInt(k)).toString().padStart(k + 1, '0');
  const fraction = digits.slice(-k).replace(/0+$/, '');
  const whole = digits.slice(0, -k);
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** A Decimal from a decimal string (exact, as Python's Decimal(str)) or a JSON number (exact binary value). */
export function toDec(v: string | number | Dec): Dec {
  if (typeof v === 'number') return new Dec(exactDecimalOfNumber(v));
  return new Dec(v);
}

/** pyaleph's `format_cost`: quantized to 18 decimal places, rounding toward negative infinity. */
export function formatCost(v: Dec): Dec {
  const r = v.toDecimalPlaces(PRICE_PRECISION, Decimal.ROUND_FLOOR);
  // Python never yields a negative zero here (-Decimal(0) is 0); decimal.js can.
  return r.isZero() ? new Dec(0) : r;
}

/** pyaleph's `format_cost_str`: the formatted cost with exactly 18 decimals ("1000.000000000000000000"). */
export function costString(v: Dec): string {
  return formatCost(v).toFixed(PRICE_PRECISION);
}

/** Sum of amounts, each step in the 28-digit context as Python's `reduce(+)`, then formatted. */
export function sumCosts(values: Iterable<Dec | string>): Dec {
  let total = new Dec(0);
  for (const v of values) total = total.plus(typeof v === 'string' ? new Dec(v) : v);
  return formatCost(total);
}
