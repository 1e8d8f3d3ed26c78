/** Core operators: comparison (OPA total order), exact arithmetic, set algebra. */
import { BuiltinError, operandError } from './builtinContract.ts';
import {
  SetValue,
  compare,
  fromDecimal,
  isNumber,
  normalizeBigInt,
  makeNumber,
  toDecimal,
  toFloat,
  BigDecimal,
  type Value,
} from './value.ts';

type Num = number | bigint | BigDecimal;

export function compareOp(op: 'lt' | 'lte' | 'gt' | 'gte', a: Value, b: Value): boolean {
  const c = compare(a, b);
  switch (op) {
    case 'lt':
      return c < 0;
    case 'lte':
      return c <= 0;
    case 'gt':
      return c > 0;
    case 'gte':
      return c >= 0;
  }
}

function isExactFloat(v: Num): v is number {
  return typeof v === 'number';
}

function addSub(a: Num, b: Num, sub: boolean): Num {
  if (typeof a === 'number' && typeof b === 'number' && Number.isInteger(a) && Number.isInteger(b)) {
    const r = sub ? a - b : a + b;
    if (Number.isSafeInteger(r)) return r === 0 ? 0 : r;
    return normalizeBigInt(sub ? BigInt(a) - BigInt(b) : BigInt(a) + BigInt(b));
  }
  if (isExactFloat(a) && isExactFloat(b)) return makeNumber(sub ? a - b : a + b);
  const [ca, ea] = toDecimal(a);
  const [cb, eb] = toDecimal(b);
  const e = Math.min(ea, eb);
  const x = ca * 10n ** BigInt(ea - e);
  const y = cb * 10n ** BigInt(eb - e);
  return fromDecimal(sub ? x - y : x + y, e);
}

function mul(a: Num, b: Num): Num {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a * b;
    if (Number.isInteger(a) && Number.isInteger(b)) {
      if (Number.isSafeInteger(r)) return r === 0 ? 0 : r;
      return normalizeBigInt(BigInt(a) * BigInt(b));
    }
    return makeNumber(r);
  }
  const [ca, ea] = toDecimal(a);
  const [cb, eb] = toDecimal(b);
  return fromDecimal(ca * cb, ea + eb);
}

function isZero(v: Num): boolean {
  return typeof v === 'number' ? v === 0 : typeof v === 'bigint' ? v === 0n : v.coef === 0n;
}

function div(a: Num, b: Num): Num {
  if (isZero(b)) throw new BuiltinError('eval_builtin_error', 'div: divide by zero');
  const isInt = (v: Num): boolean => typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v));
  // integers divide exactly when the result is a finite decimal; other operands divide as floats
  if (typeof a === 'number' && typeof b === 'number' && !(isInt(a) && isInt(b))) return makeNumber(a / b);
  const [ca, ea] = toDecimal(a);
  const [cb, eb] = toDecimal(b);
  // exact when the quotient is a finite decimal of reasonable length
  const scale = 40n;
  const num = ca * 10n ** scale;
  if (num % cb === 0n) return fromDecimal(num / cb, ea - eb - Number(scale));
  return makeNumber(toFloat(a) / toFloat(b));
}

function rem(a: Num, b: Num): Num {
  const isInt = (v: Num): boolean => typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v));
  if (!isInt(a) || !isInt(b)) throw new BuiltinError('eval_builtin_error', 'rem: modulo on floating-point number');
  if (isZero(b)) throw new BuiltinError('eval_builtin_error', 'rem: modulo by zero');
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a % b;
    return r === 0 ? 0 : r;
  }
  const x = typeof a === 'bigint' ? a : BigInt(a as number);
  const y = typeof b === 'bigint' ? b : BigInt(b as number);
  return normalizeBigInt(x % y);
}

export function arith(op: 'plus' | 'minus' | 'mul' | 'div' | 'rem' | 'and' | 'or', a: Value, b: Value): Value {
  if (op === 'and' || op === 'or') {
    if (!(a instanceof SetValue)) throw operandError(op, 1, 'set', a);
    if (!(b instanceof SetValue)) throw operandError(op, 2, 'set', b);
    if (op === 'or') {
      const out = a.clone();
      for (const v of b.values()) out.add(v);
      return out;
    }
    const out = new SetValue();
    for (const v of a.values()) if (b.has(v)) out.add(v);
    return out;
  }
  if (op === 'minus' && (a instanceof SetValue || b instanceof SetValue)) {
    if (isNumber(a)) throw operandError(op, 2, 'number', b);
    if (!(a instanceof SetValue)) throw operandError(op, 1, 'one of {number, set}', a);
    if (!(b instanceof SetValue)) throw operandError(op, 2, 'set', b);
    const out = new SetValue();
    for (const v of a.values()) if (!b.has(v)) out.add(v);
    return out;
  }
  if (!isNumber(a)) throw operandError(op, 1, op === 'minus' ? 'one of {number, set}' : 'number', a);
  if (op === 'minus' && b instanceof SetValue) throw operandError(op, 2, 'number', b);
  if (!isNumber(b)) throw operandError(op, 2, 'number', b);
  switch (op) {
    case 'plus':
      return addSub(a, b, false);
    case 'minus':
      return addSub(a, b, true);
    case 'mul':
      return mul(a, b);
    case 'div':
      return div(a, b);
    case 'rem':
      return rem(a, b);
  }
}
