/**
 * Exact decimal arithmetic over Rego numbers (number | bigint | BigDecimal) for the builtins that
 * compute (sum, product, abs, round, numbers.range...). Integers stay exact at any size; decimals
 * are added and multiplied exactly, so 0.1 + 0.2 is 0.3 as OPA's decimal numbers print it.
 */
import { limitError } from '../builtinContract.ts';
import { fromDecimal, normalizeBigInt, toDecimal, type BigDecimal } from '../value.ts';

type Num = number | bigint | BigDecimal;

/** Refuses decimal work on absurd exponents (hostile 1e-9999 × 1e9999 chains). */
const MAX_EXPONENT_GAP = 20_000;
/** Largest integer magnitude kept exact (about 30,000 decimal digits). */
const MAX_BITS = 100_000;

function bitLength(x: bigint): number {
  const magnitude = x < 0n ? -x : x;
  return magnitude === 0n ? 0 : magnitude.toString(16).length * 4;
}

function align(a: Num, b: Num): [bigint, bigint, number] {
  const [ca, ea] = toDecimal(a);
  const [cb, eb] = toDecimal(b);
  const e = Math.min(ea, eb);
  if (Math.abs(ea - eb) > MAX_EXPONENT_GAP) throw limitError('arithmetic', 'number out of range');
  return [ca * 10n ** BigInt(ea - e), cb * 10n ** BigInt(eb - e), e];
}

export function add(a: Num, b: Num): Num {
  if (typeof a === 'number' && typeof b === 'number' && Number.isInteger(a) && Number.isInteger(b)) {
    const r = a + b;
    if (Number.isSafeInteger(r)) return r === 0 ? 0 : r;
    return normalizeBigInt(BigInt(a) + BigInt(b));
  }
  if (typeof a === 'bigint' && typeof b === 'bigint') return normalizeBigInt(a + b);
  const [x, y, e] = align(a, b);
  return fromDecimal(x + y, e);
}

export function negate(a: Num): Num {
  const [c, e] = toDecimal(a);
  return fromDecimal(-c, e);
}

export function subtract(a: Num, b: Num): Num {
  return add(a, negate(b));
}

export function multiply(a: Num, b: Num): Num {
  if (typeof a === 'number' && typeof b === 'number' && Number.isInteger(a) && Number.isInteger(b)) {
    const r = a * b;
    if (Number.isSafeInteger(r)) return r === 0 ? 0 : r;
    return normalizeBigInt(BigInt(a) * BigInt(b));
  }
  const [ca, ea] = toDecimal(a);
  const [cb, eb] = toDecimal(b);
  if (Math.abs(ea + eb) > MAX_EXPONENT_GAP) throw limitError('arithmetic', 'number out of range');
  const product = ca * cb;
  if (bitLength(product) > MAX_BITS) throw limitError('arithmetic', 'number out of range');
  return fromDecimal(product, ea + eb);
}

export function sign(a: Num): number {
  const [c] = toDecimal(a);
  return c < 0n ? -1 : c > 0n ? 1 : 0;
}

export function absolute(a: Num): Num {
  return sign(a) < 0 ? negate(a) : a;
}

/** Integer part and whether there is a fractional remainder, rounding towards -infinity. */
function floorParts(a: Num): { floor: bigint; exact: boolean } {
  const [c, e] = toDecimal(a);
  if (e >= 0) return { floor: c * 10n ** BigInt(e), exact: true };
  const scale = 10n ** BigInt(-e);
  let q = c / scale;
  const r = c % scale;
  if (r !== 0n && c < 0n) q -= 1n;
  return { floor: q, exact: r === 0n };
}

export function floor(a: Num): Num {
  return normalizeBigInt(floorParts(a).floor);
}

export function ceil(a: Num): Num {
  const { floor: f, exact } = floorParts(a);
  return normalizeBigInt(exact ? f : f + 1n);
}

/** Rounds half away from zero (Go's math.Round, which OPA's round uses). */
export function round(a: Num): Num {
  const [c, e] = toDecimal(a);
  if (e >= 0) return normalizeBigInt(c * 10n ** BigInt(e));
  const scale = 10n ** BigInt(-e);
  const magnitude = c < 0n ? -c : c;
  let q = magnitude / scale;
  if ((magnitude % scale) * 2n >= scale) q += 1n;
  return normalizeBigInt(c < 0n ? -q : q);
}

export function isIntegral(a: Num): boolean {
  return typeof a === 'bigint' || (typeof a === 'number' && Number.isInteger(a));
}

export { toDecimal };
