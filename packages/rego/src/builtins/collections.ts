/**
 * Aggregates (count, sum, product, max, min, sort, all, any), arrays (array.*), sets
 * (intersection, union), objects (object.*) and the `walk`-free object path helpers.
 */
import { builtinError, operandError, operandErrorText, type BuiltinContext, type BuiltinDefinition } from '../builtinContract.ts';
import {
  ObjectValue, SetValue, compare, equals, isNumber, toBigInt, typeName, type Value,
} from '../value.ts';
import { arrayArg, collectionElements, integerArg, objectArg, oneOf, setArg, type NumberValue } from './args.ts';
import { add, multiply } from './numeric.ts';

function elementsOrThrow(fn: string, v: Value, position: number, expected: string): readonly Value[] {
  const elements = collectionElements(v);
  if (elements === undefined) throw operandError(fn, position, expected, v);
  return elements;
}

function numbersOf(fn: string, v: Value): NumberValue[] {
  const elements = elementsOrThrow(fn, v, 1, oneOf('set', 'array'));
  return elements.map((e) => {
    if (!isNumber(e)) {
      const kind = typeName(v);
      throw operandErrorText(fn, 1, `must be ${kind} of numbers but got ${kind} containing ${typeName(e)}`);
    }
    return e;
  });
}

function count(fn: string, v: Value): number {
  if (typeof v === 'string') return Array.from(v).length;
  if (Array.isArray(v)) return v.length;
  if (v instanceof ObjectValue || v instanceof SetValue) return v.size;
  throw operandError(fn, 1, oneOf('array', 'object', 'set', 'string'), v);
}

function extreme(fn: string, v: Value, sign: 1 | -1): Value | undefined {
  const elements = elementsOrThrow(fn, v, 1, oneOf('set', 'array'));
  let best: Value | undefined;
  for (const e of elements) if (best === undefined || compare(e, best) * sign > 0) best = e;
  return best;
}

// ---------------------------------------------------------------------------------------------
// Objects

/** Finds a value along a path through objects (keys), arrays (integer indexes) and sets (members). */
export function findPath(root: Value, path: readonly Value[]): Value | undefined {
  let current: Value = root;
  for (const key of path) {
    if (current instanceof ObjectValue) {
      const next = current.get(key);
      if (next === undefined) return undefined;
      current = next;
    } else if (Array.isArray(current)) {
      const index = toBigInt(key);
      if (index === undefined || index < 0n || index >= BigInt(current.length)) return undefined;
      current = current[Number(index)] as Value;
    } else if (current instanceof SetValue) {
      if (!current.has(key)) return undefined;
      current = key;
    } else {
      return undefined;
    }
  }
  return current;
}

function keysParam(fn: string, v: Value): SetValue {
  if (Array.isArray(v)) return SetValue.of(v);
  if (v instanceof SetValue) return v;
  if (v instanceof ObjectValue) return SetValue.of(v.keys());
  throw operandError(fn, 2, oneOf('object', 'set', 'array'), v);
}

export function mergeWithOverwrite(a: ObjectValue, b: ObjectValue): ObjectValue {
  const out = a.clone();
  for (const [k, v] of b.entries()) {
    const existing = out.get(k);
    if (existing instanceof ObjectValue && v instanceof ObjectValue) out.set(k, mergeWithOverwrite(existing, v));
    else out.set(k, v);
  }
  return out;
}

function unionN(fn: string, list: Value): ObjectValue {
  const array = arrayArg(fn, list, 1);
  let result = new ObjectValue();
  for (const element of array) {
    if (!(element instanceof ObjectValue)) {
      throw operandErrorText(fn, 1, `must be array of objects but got array containing ${typeName(element)}`);
    }
  }
  // Later objects win; a non-object value replaces (not merges with) an earlier object.
  for (const element of array) result = mergeWithOverwrite(result, element as ObjectValue);
  return result;
}

function isArraySubset(sup: readonly Value[], sub: readonly Value[]): boolean {
  if (sub.length === 0) return true;
  for (let start = 0; start + sub.length <= sup.length; start++) {
    let ok = true;
    for (let i = 0; i < sub.length; i++) {
      if (!equals(sup[start + i] as Value, sub[i] as Value)) {
        ok = false;
        break;
      }
    }
    if (ok) return true;
  }
  return false;
}

function valueSubset(sup: Value, sub: Value): boolean {
  if (sup instanceof ObjectValue && sub instanceof ObjectValue) {
    for (const [k, v] of sub.entries()) {
      const s = sup.get(k);
      if (s === undefined || !valueSubset(s, v)) return false;
    }
    return true;
  }
  if (sup instanceof SetValue && sub instanceof SetValue) return sub.values().every((v) => sup.has(v));
  if (Array.isArray(sup) && Array.isArray(sub)) return isArraySubset(sup, sub);
  if (Array.isArray(sup) && sub instanceof SetValue) return sub.values().every((v) => sup.some((s) => equals(s, v)));
  return equals(sup, sub);
}

function subset(fn: string, sup: Value, sub: Value): boolean {
  if (sup instanceof ObjectValue) {
    if (!(sub instanceof ObjectValue)) throw operandError(fn, 2, 'object', sub);
  } else if (sup instanceof SetValue) {
    if (!(sub instanceof SetValue)) throw operandError(fn, 2, 'set', sub);
  } else if (Array.isArray(sup)) {
    if (!Array.isArray(sub) && !(sub instanceof SetValue)) throw operandError(fn, 2, oneOf('array', 'set'), sub);
  } else {
    throw operandError(fn, 1, oneOf('object', 'set', 'array'), sup);
  }
  return valueSubset(sup, sub);
}

function objectGet(fn: string, args: readonly Value[]): Value {
  const object = objectArg(fn, args[0] as Value, 1);
  const key = args[1] as Value;
  const fallback = args[2] as Value;
  if (!Array.isArray(key)) return object.get(key) ?? fallback;
  if (key.length === 0) return object;
  return findPath(object, key) ?? fallback;
}

// ---------------------------------------------------------------------------------------------
// Arrays

function arraySlice(fn: string, args: readonly Value[]): Value {
  const array = arrayArg(fn, args[0] as Value, 1);
  let start = integerArg(fn, args[1] as Value, 2);
  let stop = integerArg(fn, args[2] as Value, 3);
  const length = BigInt(array.length);
  if (start < 0n) start = 0n;
  if (stop > length) stop = length;
  if (start >= stop) return [];
  return array.slice(Number(start), Number(stop));
}

function setsOfSets(fn: string, v: Value): SetValue[] {
  const outer = setArg(fn, v, 1);
  return outer.values().map((inner) => {
    if (!(inner instanceof SetValue)) throw operandErrorText(fn, 1, `must be set of sets but got set containing ${typeName(inner)}`);
    return inner;
  });
}

/** Exact arithmetic that refuses absurd magnitudes with an eval_builtin_error. */
function arithmetic<T>(fn: string, body: () => T): T {
  try {
    return body();
  } catch (error) {
    if (error instanceof RangeError) throw builtinError(fn, error.message);
    throw error;
  }
}

function chargeSize(ctx: BuiltinContext, n: number): void {
  ctx.charge(Math.ceil(n / 16) + 1);
}

export const collectionBuiltins: BuiltinDefinition[] = [
  { name: 'count', arity: 1, impl: ([v], ctx) => count(ctx.name, v as Value) },
  {
    name: 'sum', arity: 1,
    impl: ([v], ctx) => {
      const nums = numbersOf(ctx.name, v as Value);
      chargeSize(ctx, nums.length);
      return arithmetic(ctx.name, () => nums.reduce<NumberValue>((acc, n) => add(acc, n), 0));
    },
  },
  {
    name: 'product', arity: 1,
    impl: ([v], ctx) => {
      const nums = numbersOf(ctx.name, v as Value);
      chargeSize(ctx, nums.length);
      return arithmetic(ctx.name, () => nums.reduce<NumberValue>((acc, n) => multiply(acc, n), 1));
    },
  },
  { name: 'max', arity: 1, impl: ([v], ctx) => extreme(ctx.name, v as Value, 1) },
  { name: 'min', arity: 1, impl: ([v], ctx) => extreme(ctx.name, v as Value, -1) },
  {
    name: 'sort', arity: 1,
    impl: ([v], ctx) => {
      const elements = elementsOrThrow(ctx.name, v as Value, 1, oneOf('array', 'set'));
      chargeSize(ctx, elements.length * Math.max(1, Math.log2(elements.length + 1)));
      return v instanceof SetValue ? [...elements] : [...elements].sort(compare);
    },
  },
  {
    name: 'all', arity: 1,
    impl: ([v], ctx) => elementsOrThrow(ctx.name, v as Value, 1, oneOf('array', 'set')).every((e) => e === true),
  },
  {
    name: 'any', arity: 1,
    impl: ([v], ctx) => elementsOrThrow(ctx.name, v as Value, 1, oneOf('array', 'set')).some((e) => e === true),
  },
  // arrays
  {
    name: 'array.concat', arity: 2,
    impl: ([a, b], ctx) => {
      const x = arrayArg(ctx.name, a as Value, 1);
      const y = arrayArg(ctx.name, b as Value, 2);
      chargeSize(ctx, x.length + y.length);
      return [...x, ...y];
    },
  },
  { name: 'array.slice', arity: 3, impl: (args, ctx) => arraySlice(ctx.name, args) },
  { name: 'array.reverse', arity: 1, impl: ([a], ctx) => [...arrayArg(ctx.name, a as Value, 1)].reverse() },
  {
    name: 'array.flatten', arity: 1,
    impl: ([a], ctx) => {
      const out: Value[] = [];
      for (const e of arrayArg(ctx.name, a as Value, 1)) {
        if (Array.isArray(e)) out.push(...e);
        else out.push(e);
      }
      chargeSize(ctx, out.length);
      return out;
    },
  },
  // sets
  {
    name: 'intersection', arity: 1,
    impl: ([v], ctx) => {
      const sets = setsOfSets(ctx.name, v as Value);
      if (sets.length === 0) return new SetValue();
      const [first, ...rest] = sets as [SetValue, ...SetValue[]];
      return SetValue.of(first.values().filter((e) => rest.every((s) => s.has(e))));
    },
  },
  {
    name: 'union', arity: 1,
    impl: ([v], ctx) => {
      const out = new SetValue();
      for (const s of setsOfSets(ctx.name, v as Value)) {
        chargeSize(ctx, s.size);
        for (const e of s.values()) out.add(e);
      }
      return out;
    },
  },
  {
    name: 'set_diff', arity: 2,
    impl: ([a, b], ctx) => {
      const x = setArg(ctx.name, a as Value, 1);
      const y = setArg(ctx.name, b as Value, 2);
      return SetValue.of(x.values().filter((e) => !y.has(e)));
    },
  },
  // deprecated casts, still accepted by Rego v0 policies
  { name: 'cast_array', arity: 1, impl: ([v], ctx) => [...elementsOrThrow(ctx.name, v as Value, 1, oneOf('array', 'set'))] },
  { name: 'cast_set', arity: 1, impl: ([v], ctx) => SetValue.of(elementsOrThrow(ctx.name, v as Value, 1, oneOf('array', 'set'))) },
  {
    name: 'cast_string', arity: 1,
    impl: ([v], ctx) => {
      if (typeof v !== 'string') throw operandError(ctx.name, 1, 'string', v as Value);
      return v;
    },
  },
  {
    name: 'cast_boolean', arity: 1,
    impl: ([v], ctx) => {
      if (typeof v !== 'boolean') throw operandError(ctx.name, 1, 'boolean', v as Value);
      return v;
    },
  },
  {
    name: 'cast_null', arity: 1,
    impl: ([v], ctx) => {
      if (v !== null) throw operandError(ctx.name, 1, 'null', v as Value);
      return null;
    },
  },
  {
    name: 'cast_object', arity: 1,
    impl: ([v], ctx) => objectArg(ctx.name, v as Value, 1),
  },
  // objects
  { name: 'object.get', arity: 3, impl: (args, ctx) => objectGet(ctx.name, args) },
  { name: 'object.keys', arity: 1, impl: ([o], ctx) => SetValue.of(objectArg(ctx.name, o as Value, 1).keys()) },
  {
    name: 'object.remove', arity: 2,
    impl: ([o, k], ctx) => {
      const object = objectArg(ctx.name, o as Value, 1);
      const keys = keysParam(ctx.name, k as Value);
      return ObjectValue.fromEntries(object.entries().filter(([key]) => !keys.has(key)));
    },
  },
  {
    name: 'object.filter', arity: 2,
    impl: ([o, k], ctx) => {
      const object = objectArg(ctx.name, o as Value, 1);
      const keys = keysParam(ctx.name, k as Value);
      return ObjectValue.fromEntries(object.entries().filter(([key]) => keys.has(key)));
    },
  },
  {
    name: 'object.union', arity: 2,
    impl: ([a, b], ctx) => mergeWithOverwrite(objectArg(ctx.name, a as Value, 1), objectArg(ctx.name, b as Value, 2)),
  },
  { name: 'object.union_n', arity: 1, impl: ([a], ctx) => unionN(ctx.name, a as Value) },
  { name: 'object.subset', arity: 2, impl: ([a, b], ctx) => subset(ctx.name, a as Value, b as Value) },
];
