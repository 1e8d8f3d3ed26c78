/**
 * Number builtins (abs, round, ceil, floor, numbers.range, numbers.range_step, rand.intn), bit
 * operations on arbitrary-size integers (bits.*), and type builtins (is_*, type_name, to_number).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { builtinError, limitError, operandError, operandErrorText, type BuiltinContext, type BuiltinDefinition } from '../builtinContract.ts';
import {
  ObjectValue, SetValue, isNumber, normalizeBigInt, parseNumber, typeName, type Value,
} from '../value.ts';
import { MAX_GENERATED_ELEMENTS, integerArg, numberArg, stringArg } from './args.ts';
import { absolute, ceil, floor, round } from './numeric.ts';

function range(fn: string, ctx: BuiltinContext, from: bigint, to: bigint, step: bigint): Value[] {
  const length = (from <= to ? to - from : from - to) / step + 1n;
  if (length > BigInt(MAX_GENERATED_ELEMENTS)) throw limitError(fn, `range too large (${length} elements)`);
  ctx.charge(Number(length) * 4);
  const out: Value[] = [];
  if (from <= to) for (let i = from; i <= to; i += step) out.push(normalizeBigInt(i));
  else for (let i = from; i >= to; i -= step) out.push(normalizeBigInt(i));
  return out;
}

/** OPA's bits.lsh/rsh shift count: a non-negative integer. */
function shiftArg(fn: string, v: Value): bigint {
  const n = integerArg(fn, v, 2);
  if (n < 0n) throw operandErrorText(fn, 2, 'must be an unsigned integer number but got a negative integer');
  return n;
}

const MAX_SHIFT = 1n << 16n;

function toNumber(fn: string, v: Value): Value {
  if (v === null) return 0;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (isNumber(v)) return v;
  if (typeof v === 'string') {
    const text = v.trim() === v ? v : '';
    if (/^[+-]?(nan|inf|infinity)$/i.test(v)) throw operandErrorText(fn, 1, 'must be a valid number string, not NaN or Infinity');
    const match = /^([+-]?)(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.exec(text);
    if (match === null) throw builtinError(fn, `strconv.ParseFloat: parsing ${JSON.stringify(v)}: invalid syntax`);
    const normalized = `${match[1] === '-' ? '-' : ''}${normalizeMantissa(match[2] ?? '0')}${match[3] ?? ''}`;
    const parsed = parseNumber(normalized);
    if (parsed === undefined) throw builtinError(fn, `strconv.ParseFloat: parsing ${JSON.stringify(v)}: value out of range`);
    return parsed;
  }
  throw operandError(fn, 1, 'one of {null, boolean, number, string}', v);
}

function normalizeMantissa(m: string): string {
  let out = m;
  if (out.startsWith('.')) out = `0${out}`;
  if (out.endsWith('.')) out = out.slice(0, -1);
  return out;
}

/** Uniform-enough random integer in [0, limit) for limits beyond randomInt's 2^48 range. */
function randomBelow(limit: bigint): Value {
  const bytes = randomBytes(Math.ceil(limit.toString(16).length / 2) + 16);
  return normalizeBigInt(BigInt(`0x${bytes.toString('hex')}`) % limit);
}

const isType = (name: string, test: (v: Value) => boolean): BuiltinDefinition => ({
  name, arity: 1, impl: ([v]) => test(v as Value),
});

export const numberBuiltins: BuiltinDefinition[] = [
  { name: 'abs', arity: 1, impl: ([v], ctx) => absolute(numberArg(ctx.name, v as Value, 1)) },
  { name: 'round', arity: 1, impl: ([v], ctx) => round(numberArg(ctx.name, v as Value, 1)) },
  { name: 'ceil', arity: 1, impl: ([v], ctx) => ceil(numberArg(ctx.name, v as Value, 1)) },
  { name: 'floor', arity: 1, impl: ([v], ctx) => floor(numberArg(ctx.name, v as Value, 1)) },
  {
    name: 'numbers.range', arity: 2,
    impl: ([a, b], ctx) => range(ctx.name, ctx, integerArg(ctx.name, a as Value, 1), integerArg(ctx.name, b as Value, 2), 1n),
  },
  {
    name: 'numbers.range_step', arity: 3,
    impl: ([a, b, s], ctx) => {
      const from = integerArg(ctx.name, a as Value, 1);
      const to = integerArg(ctx.name, b as Value, 2);
      const step = integerArg(ctx.name, s as Value, 3);
      if (step <= 0n) throw builtinError(ctx.name, 'step must be a positive integer');
      return range(ctx.name, ctx, from, to, step);
    },
  },
  {
    name: 'rand.intn', arity: 2, nondeterministic: true,
    impl: ([s, n], ctx) => {
      const seed = stringArg(ctx.name, s as Value, 1);
      let limit = integerArg(ctx.name, n as Value, 2);
      if (limit === 0n) return 0;
      if (limit < 0n) limit = -limit;
      const key = `rand.intn:${JSON.stringify(seed)}:${limit}`;
      const cached = ctx.cache.get(key);
      if (cached !== undefined) return cached as Value;
      const result = limit <= 1n << 48n ? randomInt(0, Number(limit)) : randomBelow(limit);
      ctx.cache.set(key, result);
      return result;
    },
  },
  // bits
  { name: 'bits.and', arity: 2, impl: ([a, b], ctx) => normalizeBigInt(integerArg(ctx.name, a as Value, 1) & integerArg(ctx.name, b as Value, 2)) },
  { name: 'bits.or', arity: 2, impl: ([a, b], ctx) => normalizeBigInt(integerArg(ctx.name, a as Value, 1) | integerArg(ctx.name, b as Value, 2)) },
  { name: 'bits.xor', arity: 2, impl: ([a, b], ctx) => normalizeBigInt(integerArg(ctx.name, a as Value, 1) ^ integerArg(ctx.name, b as Value, 2)) },
  { name: 'bits.negate', arity: 1, impl: ([a], ctx) => normalizeBigInt(~integerArg(ctx.name, a as Value, 1)) },
  {
    name: 'bits.lsh', arity: 2,
    impl: ([a, b], ctx) => {
      const x = integerArg(ctx.name, a as Value, 1);
      const n = shiftArg(ctx.name, b as Value);
      if (n > MAX_SHIFT) throw builtinError(ctx.name, 'shift count too large');
      return normalizeBigInt(x << n);
    },
  },
  {
    name: 'bits.rsh', arity: 2,
    impl: ([a, b], ctx) => {
      const x = integerArg(ctx.name, a as Value, 1);
      const n = shiftArg(ctx.name, b as Value);
      if (n > MAX_SHIFT) return x < 0n ? -1 : 0;
      return normalizeBigInt(x >> n);
    },
  },
  // types
  isType('is_number', (v) => isNumber(v)),
  isType('is_string', (v) => typeof v === 'string'),
  isType('is_boolean', (v) => typeof v === 'boolean'),
  isType('is_array', (v) => Array.isArray(v)),
  isType('is_set', (v) => v instanceof SetValue),
  isType('is_object', (v) => v instanceof ObjectValue),
  isType('is_null', (v) => v === null),
  {
    name: 'trace', arity: 1,
    impl: ([note], ctx) => {
      ctx.trace(stringArg(ctx.name, note as Value, 1));
      return true;
    },
  },
  { name: 'type_name', arity: 1, impl: ([v]) => typeName(v as Value) },
  { name: 'to_number', arity: 1, impl: ([v], ctx) => toNumber(ctx.name, v as Value) },
];

