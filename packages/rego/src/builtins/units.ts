/**
 * units.parse (SI and binary suffixes, 'm' = milli) and units.parse_bytes (case-insensitive byte
 * units), with OPA's number/unit split, exact decimal arithmetic and OPA's error texts.
 */
import { builtinError, type BuiltinDefinition } from '../builtinContract.ts';
import { MAX_DECIMAL_EXPONENT, fromDecimal, normalizeBigInt, type Value } from '../value.ts';
import { stringArg } from './args.ts';
import { errorClassWithCode } from '@trustee/errors';

const MAX_EXPONENT_DIGITS = 6;

class ExponentTooLarge extends errorClassWithCode('exponent_too_large') {}

/** OPA's extractNumAndUnit: the numeric prefix (digits, '.', exponent) and the unit suffix. */
function splitNumberAndUnit(s: string): [string, string] {
  const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
  let boundary = -1;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (!isDigit(c) && c !== '.' && c !== 'e' && c !== 'E' && c !== '+' && c !== '-') {
      boundary = i;
      break;
    }
    if (c === 'e' || c === 'E') {
      const next = s[i + 1];
      if (i === s.length - 1 || (!isDigit(next) && next !== '+' && next !== '-')) {
        boundary = i;
        break;
      }
      if (next === '+' || next === '-') i++;
      let end = i + 1;
      while (end < s.length && isDigit(s[end])) end++;
      if (end - (i + 1) > MAX_EXPONENT_DIGITS) throw new ExponentTooLarge();
    }
  }
  if (boundary === -1) return [s, ''];
  if (boundary === 0) return ['', s];
  return [s.slice(0, boundary), s.slice(boundary)];
}

/** Exact decimal of a number text like "1.5", ".5", "2e3", "-3.5E2"; undefined when malformed. */
function parseDecimal(text: string): [bigint, number] | undefined {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (m === null) return undefined;
  const whole = m[2] ?? '';
  const fraction = m[3] ?? '';
  if (whole === '' && fraction === '') return undefined;
  let coef = BigInt(`${whole}${fraction}` || '0');
  if (m[1] === '-') coef = -coef;
  const exp = Number(m[4] ?? '0') - fraction.length;
  // Same bound as number literals: a million-digit integer is not a quantity.
  if (Math.abs(exp) > MAX_DECIMAL_EXPONENT) throw new ExponentTooLarge();
  return [coef, exp];
}

const SI: Readonly<Record<string, bigint>> = { k: 1000n, m: 1000n ** 2n, g: 1000n ** 3n, t: 1000n ** 4n, p: 1000n ** 5n, e: 1000n ** 6n };
const BINARY: Readonly<Record<string, bigint>> = { ki: 1n << 10n, mi: 1n << 20n, gi: 1n << 30n, ti: 1n << 40n, pi: 1n << 50n, ei: 1n << 60n };

function unitsMultiplier(unit: string): [bigint, number] | undefined {
  if (unit === '') return [1n, 0];
  if (unit === 'm') return [1n, -3];
  if (unit === 'M') return [SI['m'] as bigint, 0];
  const normalized = unit.length > 1 ? unit[0] + unit.slice(1).toLowerCase() : unit;
  const lower = normalized.toLowerCase();
  if (normalized.length === 1 && SI[lower] !== undefined) return [SI[lower] as bigint, 0];
  if (normalized.length === 2 && BINARY[lower] !== undefined && (normalized[1] === 'i')) return [BINARY[lower] as bigint, 0];
  return undefined;
}

function bytesMultiplier(unit: string): bigint | undefined {
  if (unit === '') return 1n;
  const si = /^([kmgtpe])b?$/.exec(unit);
  if (si !== null) return SI[si[1] as string];
  const binary = /^([kmgtpe]i)b?$/.exec(unit);
  if (binary !== null) return BINARY[binary[1] as string];
  return undefined;
}

function parseUnits(fn: string, raw: string): Value {
  const s = raw.replaceAll('"', '');
  if (s.includes(' ')) throw builtinError(fn, 'spaces not allowed in resource strings');
  let num: string;
  let unit: string;
  try {
    [num, unit] = splitNumberAndUnit(s);
  } catch {
    throw builtinError(fn, 'exponent too large');
  }
  if (num === '') throw builtinError(fn, 'no amount provided');
  const multiplier = unitsMultiplier(unit);
  if (multiplier === undefined) throw builtinError(fn, `unit ${unit.length > 1 ? unit[0] + unit.slice(1).toLowerCase() : unit} not recognized`);
  let decimal: [bigint, number] | undefined;
  try {
    decimal = parseDecimal(num);
  } catch {
    throw builtinError(fn, 'exponent too large');
  }
  if (decimal === undefined) throw builtinError(fn, 'could not parse amount to a number');
  const coef = decimal[0] * multiplier[0];
  const exp = decimal[1] + multiplier[1];
  // OPA renders non-integers with 10 decimal places (big.Rat.FloatString(10)).
  if (exp < -10) {
    const scale = 10n ** BigInt(-10 - exp);
    const negative = coef < 0n;
    const magnitude = negative ? -coef : coef;
    let q = magnitude / scale;
    if ((magnitude % scale) * 2n >= scale) q += 1n;
    return fromDecimal(negative ? -q : q, -10);
  }
  return fromDecimal(coef, exp);
}

function parseBytes(fn: string, raw: string): Value {
  const s = raw.toLowerCase().replaceAll('"', '');
  if (s.includes(' ')) throw builtinError(fn, 'spaces not allowed in resource strings');
  let num: string;
  let unit: string;
  try {
    [num, unit] = splitNumberAndUnit(s);
  } catch {
    throw builtinError(fn, 'exponent too large');
  }
  if (num === '') throw builtinError(fn, 'no byte amount provided');
  const multiplier = bytesMultiplier(unit);
  if (multiplier === undefined) throw builtinError(fn, `byte unit ${unit} not recognized`);
  let decimal: [bigint, number] | undefined;
  try {
    decimal = parseDecimal(num);
  } catch {
    throw builtinError(fn, 'exponent too large');
  }
  if (decimal === undefined) throw builtinError(fn, 'could not parse byte amount to a number');
  const [coef, exp] = decimal;
  const scaled = coef * multiplier;
  // big.Float.Int truncates towards zero.
  const value = exp >= 0 ? scaled * 10n ** BigInt(exp) : scaled / 10n ** BigInt(-exp);
  return normalizeBigInt(value);
}

export const unitBuiltins: BuiltinDefinition[] = [
  { name: 'units.parse', arity: 1, impl: ([v], ctx) => parseUnits(ctx.name, stringArg(ctx.name, v as Value, 1)) },
  { name: 'units.parse_bytes', arity: 1, impl: ([v], ctx) => parseBytes(ctx.name, stringArg(ctx.name, v as Value, 1)) },
];
