// Invariant: every mathematical value has ONE representation, so structural equality, hashing
// (set membership, object keys) and OPA's total order agree with the numbers' values.
import { describe, expect, it } from 'vitest';
import {
  BigDecimal,
  ObjectValue,
  SetValue,
  compare,
  equals,
  fromJson,
  fromJsonLazy,
  keyOf,
  numberToString,
  parseNumber,
  toJson,
  toJsonText,
  typeName,
  type Value,
} from './value.ts';

const num = (s: string): Value => {
  const v = parseNumber(s);
  if (v === undefined) throw new Error(`bad number ${s}`);
  return v;
};

describe('numbers', () => {
  it.each([
    ['3.50', '3.5'],
    ['1e2', '100'],
    ['1E+2', '100.0'],
    ['1e-1', '0.10'],
    ['-0', '0'],
    ['35e-1', '3.5'],
  ])('%s equals %s (value and hash key)', (a, b) => {
    expect(equals(num(a), num(b))).toBe(true);
    expect(keyOf(num(a))).toBe(keyOf(num(b)));
    expect(compare(num(a), num(b))).toBe(0);
  });

  it.each([
    ['3', '3.5'],
    ['0.1', '0.10000000000001'],
    ['0', '1e-400'],
    ['1e399', '1e400'],
    ['0.1234567890123456788', '0.1234567890123456789'],
    ['1234567890123456789012', '1234567890123456789013'],
    ['-2.5', '-2.25'],
  ])('%s < %s', (a, b) => {
    expect(compare(num(a), num(b))).toBeLessThan(0);
    expect(compare(num(b), num(a))).toBeGreaterThan(0);
    expect(equals(num(a), num(b))).toBe(false);
  });

  it('keeps big JSON integers exact', () => {
    const v = fromJson(18446744073709551614n);
    expect(v).toBe(18446744073709551614n);
    expect(numberToString(v as bigint)).toBe('18446744073709551614');
    expect(fromJson(5n)).toBe(5);
  });

  it('represents undecimal-able fractions exactly', () => {
    expect(num('0.1234567890123456789')).toBeInstanceOf(BigDecimal);
    expect(numberToString(num('0.1234567890123456789') as BigDecimal)).toBe('0.1234567890123456789');
    expect(num('0.5')).toBe(0.5);
  });

  it('rejects absurd exponents', () => {
    expect(parseNumber('1e100000000')).toBeUndefined();
    expect(parseNumber('abc')).toBeUndefined();
  });
});

describe('ordering across types', () => {
  it('null < boolean < number < string < array < object < set', () => {
    const values: Value[] = [SetValue.of([1]), ObjectValue.fromRecord({ a: 1 }), [1], 'a', 1, true, null];
    const sorted = [...values].sort(compare).map(typeName);
    expect(sorted).toEqual(['null', 'boolean', 'number', 'string', 'array', 'object', 'set']);
  });

  it('orders arrays lexicographically and by length', () => {
    expect(compare([1, 2], [1, 3])).toBeLessThan(0);
    expect(compare([1, 2], [1, 2, 0])).toBeLessThan(0);
    expect(compare(false, true)).toBeLessThan(0);
  });
});

describe('objects and sets', () => {
  it('accepts non-string keys and distinguishes 1 from "1"', () => {
    const o = new ObjectValue().set(1, 'int').set('1', 'str').set([1, 2], 'arr');
    expect(o.get(1)).toBe('int');
    expect(o.get('1')).toBe('str');
    expect(o.get([1, 2])).toBe('arr');
    expect(o.size).toBe(3);
  });

  it('does not confuse strings that start with the internal marker', () => {
    const s = SetValue.of(['\u0001n1', 1]);
    expect(s.size).toBe(2);
    expect(s.has(1)).toBe(true);
    expect(s.has('\u0001n1')).toBe(true);
  });

  it('sets and objects are equal regardless of insertion order', () => {
    expect(equals(SetValue.of([3, 1, 2]), SetValue.of([1, 2, 3]))).toBe(true);
    expect(equals(ObjectValue.fromRecord({ a: 1, b: 2 }), ObjectValue.fromRecord({ b: 2, a: 1 }))).toBe(true);
    expect(equals(SetValue.of([1]), [1])).toBe(false);
  });

  it('converts to JSON with sets as sorted arrays', () => {
    const v = ObjectValue.fromRecord({ s: SetValue.of(['b', 'a']), n: 1 });
    expect(toJson(v)).toEqual({ n: 1, s: ['a', 'b'] });
    expect(toJsonText(v)).toBe('{"n":1,"s":["a","b"]}');
  });
});

describe('fromJsonLazy', () => {
  const sample = { b: [1, { c: 2.5, d: null }], a: { 'x.y': true, n: 2 ** 60 }, s: 'text', e: {} };

  it('gives the value fromJson gives, whichever member is read first', () => {
    const eager = fromJson(sample);
    expect(toJsonText(fromJsonLazy(sample))).toBe(toJsonText(eager));
    expect(equals(fromJsonLazy(sample), eager)).toBe(true);
    const lazy = fromJsonLazy(sample) as ObjectValue;
    expect(equals((lazy.get('a') as ObjectValue).get('n') as Value, 2n ** 60n)).toBe(true);
    expect(lazy.size).toBe(4);
    expect(keyOf(lazy)).toBe(keyOf(eager));
  });

  it('refuses up front what fromJson refuses, read or not', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(() => fromJsonLazy(cyclic)).toThrow(RangeError);
    expect(() => fromJsonLazy({ a: { b: undefined } })).toThrow(TypeError);
    expect(() => fromJsonLazy({ a: [Number.NaN] })).toThrow(/not finite/);
  });
});
