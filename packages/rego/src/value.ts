/**
 * The Rego value model.
 *
 * A `Value` is one of:
 *   - `null`, `boolean`, `string`               — JS primitives
 *   - numbers, in ONE canonical representation per mathematical value:
 *       - `number`  for every integer within ±(2^53-1) and every non-integer that is exactly the
 *                   decimal its shortest JS rendering shows (0.5, 3.25, 0.1 …);
 *       - `bigint`  for integers outside the safe range (18446744073709551614, 1e400);
 *       - `BigDecimal` for non-integers a float64 cannot hold (1e-400, 0.1234567890123456789).
 *     Always build numbers with `makeNumber`/`parseNumber`/`normalizeBigInt` so the invariant holds;
 *     it makes structural equality and hashing exact (3.50 == 3.5, 1e2 == 100).
 *   - arrays: plain JS arrays of Values (treat as immutable once built)
 *   - `ObjectValue`: any Value as key (non-string keys exist in Rego)
 *   - `SetValue`
 *
 * Ordering is OPA's: null < boolean < number < string < array < object < set; arrays
 * lexicographically, objects by sorted key/value pairs, sets by sorted elements.
 * Objects and sets iterate in that sorted order, like OPA.
 */
import { meter } from './workMeter.ts';

export type Value = null | boolean | number | bigint | string | BigDecimal | ArrayValue | ObjectValue | SetValue;
export type ArrayValue = Value[];
export type TypeName = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object' | 'set';

/** JSON as handed to and returned by the public API (sets become arrays). */
export type RegoJson = null | boolean | number | string | RegoJson[] | { [k: string]: RegoJson };

/** Largest decimal exponent accepted in number literals (bounds bigint work on hostile input). */
export const MAX_DECIMAL_EXPONENT = 10_000;

// ---------------------------------------------------------------------------------------------
// Numbers

/** A non-integer decimal `coef × 10^exp` (exp < 0, coef not divisible by 10) that float64 cannot hold. */
export class BigDecimal {
  constructor(
    readonly coef: bigint,
    readonly exp: number,
  ) {}
  toString(): string {
    return decimalToString(this.coef, this.exp);
  }
  toNumber(): number {
    return Number(this.toString());
  }
}

export function isNumber(v: Value | undefined): v is number | bigint | BigDecimal {
  return typeof v === 'number' || typeof v === 'bigint' || v instanceof BigDecimal;
}

/** Canonicalises a JS number: -0 → 0, integers beyond 2^53 → bigint. NaN/Infinity are rejected. */
export function makeNumber(x: number): number | bigint {
  if (!Number.isFinite(x)) throw new RangeError('number is not finite');
  if (Number.isInteger(x)) {
    if (Number.isSafeInteger(x)) return x === 0 ? 0 : x;
    return BigInt(x);
  }
  return x;
}

/** Canonicalises a bigint: safe-range values become JS numbers. */
export function normalizeBigInt(x: bigint): number | bigint {
  if (x >= -9007199254740991n && x <= 9007199254740991n) return Number(x);
  return x;
}

/** Decimal pair (coefficient, exponent) of any number value, exact. */
export function toDecimal(v: number | bigint | BigDecimal): [bigint, number] {
  if (typeof v === 'bigint') return [v, 0];
  if (v instanceof BigDecimal) return [v.coef, v.exp];
  if (Number.isInteger(v)) return [BigInt(v), 0];
  const parsed = decimalFromText(String(v));
  if (parsed === undefined) throw new RangeError('unparseable float');
  return parsed;
}

/** Builds the canonical number from an exact decimal coef × 10^exp. */
export function fromDecimal(coef: bigint, exp: number): number | bigint | BigDecimal {
  if (coef === 0n) return 0;
  while (exp < 0 && coef % 10n === 0n) {
    coef /= 10n;
    exp++;
  }
  if (exp >= 0) return normalizeBigInt(coef * 10n ** BigInt(exp));
  const text = decimalToString(coef, exp);
  const f = Number(text);
  if (Number.isFinite(f) && f !== 0 && !Number.isInteger(f)) {
    const back = decimalFromText(String(f));
    if (back !== undefined && back[0] === coef && back[1] === exp) return f;
  }
  return new BigDecimal(coef, exp);
}

const NUMBER_RE = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

function decimalFromText(text: string): [bigint, number] | undefined {
  const m = NUMBER_RE.exec(text);
  if (!m) return undefined;
  const frac = m[3] ?? '';
  const e = m[4] === undefined ? 0 : Number(m[4]);
  if (!Number.isSafeInteger(e)) return undefined;
  let coef = BigInt((m[2] ?? '0') + frac);
  if (m[1] === '-') coef = -coef;
  return [coef, e - frac.length];
}

function decimalToString(coef: bigint, exp: number): string {
  const neg = coef < 0n;
  let digits = (neg ? -coef : coef).toString();
  if (exp >= 0) return (neg ? '-' : '') + digits + '0'.repeat(exp);
  const point = digits.length + exp;
  if (point > 0) digits = digits.slice(0, point) + '.' + digits.slice(point);
  else digits = '0.' + '0'.repeat(-point) + digits;
  return (neg ? '-' : '') + digits;
}

/**
 * Parses a JSON/Rego number literal exactly. Returns undefined for malformed text or an exponent
 * beyond ±MAX_DECIMAL_EXPONENT.
 */
export function parseNumber(text: string): number | bigint | BigDecimal | undefined {
  const m = NUMBER_RE.exec(text);
  if (!m) return undefined;
  if (m[3] === undefined && m[4] === undefined) {
    if (text.length < 16) return makeNumber(Number(text));
    return normalizeBigInt(BigInt(text));
  }
  const dec = decimalFromText(text);
  if (dec === undefined) return undefined;
  const [coef, exp] = dec;
  if (coef === 0n) return 0;
  const magnitude = exp + (coef < 0n ? -coef : coef).toString().length;
  if (magnitude > MAX_DECIMAL_EXPONENT || magnitude < -MAX_DECIMAL_EXPONENT) return undefined;
  return fromDecimal(coef, exp);
}

/** Shortest exact text of a number value (integers as digits, decimals without exponent when short). */
export function numberToString(v: number | bigint | BigDecimal): string {
  if (typeof v === 'number') {
    const s = String(v);
    if (!s.includes('e')) return s;
    const [coef, exp] = toDecimal(v);
    return decimalToString(coef, exp);
  }
  return v.toString();
}

/** The JS float nearest to a number value. */
export function toFloat(v: number | bigint | BigDecimal): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return v.toNumber();
}

export function isInteger(v: Value | undefined): v is number | bigint {
  return typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v));
}

/** Integer value as bigint (undefined when v is not an integer). */
export function toBigInt(v: Value | undefined): bigint | undefined {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  return undefined;
}

export function compareNumbers(a: number | bigint | BigDecimal, b: number | bigint | BigDecimal): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  const [ca, ea] = toDecimal(a);
  const [cb, eb] = toDecimal(b);
  const e = Math.min(ea, eb);
  const x = ca * 10n ** BigInt(ea - e);
  const y = cb * 10n ** BigInt(eb - e);
  return x < y ? -1 : x > y ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Hash keys: a string that is equal for two Values iff they are structurally equal.

/** Canonical key of a value: plain strings map to themselves unless they start with \u0001. */
export function keyOf(v: Value): string {
  if (typeof v === 'string') return v.length > 0 && v.charCodeAt(0) === 1 ? '\u0001s' + v : v;
  return '\u0001' + canonical(v);
}

function canonical(v: Value): string {
  if (v === null) return 'z';
  switch (typeof v) {
    case 'boolean':
      return v ? 't' : 'f';
    case 'number':
      return 'n' + String(v);
    case 'bigint':
      return 'n' + v.toString();
    case 'string':
      meter(v.length >> 4);
      return JSON.stringify(v);
  }
  if (v instanceof BigDecimal) return 'd' + v.coef.toString() + 'e' + String(v.exp);
  meterComposite(v);
  if (Array.isArray(v)) return '[' + v.map(canonical).join(',') + ']';
  if (v instanceof ObjectValue) {
    const parts: string[] = [];
    for (const [k, val] of v.entries()) parts.push(canonical(k) + ':' + canonical(val));
    return '{' + parts.join(',') + '}';
  }
  return '<' + (v as SetValue).values().map(canonical).join(',') + '>';
}

/**
 * Traversals charge the running evaluation per composite node (workMeter.ts): values built by
 * sharing can be exponentially larger than the steps that built them.
 */
function meterComposite(v: ArrayValue | ObjectValue | SetValue): void {
  meter(4 + (Array.isArray(v) ? v.length : v.size) * 8);
}

// ---------------------------------------------------------------------------------------------
// Objects and sets

/** A Rego object. Keys may be any Value. Iteration (entries/keys/values) is in OPA's sorted key order. */
export class ObjectValue {
  private readonly members = new Map<string, [Value, Value]>();
  private sorted: Array<[Value, Value]> | undefined;
  /** JSON members not converted yet (see fromJsonLazy): converted, one level, at first use. */
  private pendingJson: Readonly<Record<string, unknown>> | undefined = undefined;

  /** Every member access goes through here, so a lazily converted object fills itself first. */
  private get map(): Map<string, [Value, Value]> {
    if (this.pendingJson !== undefined) this.fillFromJson(this.pendingJson);
    return this.members;
  }

  private fillFromJson(record: Readonly<Record<string, unknown>>): void {
    this.pendingJson = undefined;
    for (const k of Object.keys(record)) this.members.set(keyOf(k), [k, lazyJsonValue(record[k])]);
  }

  /** @internal fromJsonLazy: an object whose members are converted when first used. */
  static lazyFromJson(record: Readonly<Record<string, unknown>>): ObjectValue {
    const o = new ObjectValue();
    o.pendingJson = record;
    return o;
  }

  static fromEntries(entries: Iterable<readonly [Value, Value]>): ObjectValue {
    const o = new ObjectValue();
    for (const [k, v] of entries) o.set(k, v);
    return o;
  }

  /** Builds an object from string-keyed pairs. */
  static fromRecord(record: Readonly<Record<string, Value>>): ObjectValue {
    const o = new ObjectValue();
    for (const k of Object.keys(record)) o.set(k, record[k] as Value);
    return o;
  }

  get size(): number {
    return this.map.size;
  }
  get(key: Value): Value | undefined {
    return this.map.get(keyOf(key))?.[1];
  }
  has(key: Value): boolean {
    return this.map.has(keyOf(key));
  }
  /** Mutates: use only while building a fresh object. */
  set(key: Value, value: Value): this {
    this.map.set(keyOf(key), [key, value]);
    this.sorted = undefined;
    return this;
  }
  /** Mutates: use only while building a fresh object. */
  delete(key: Value): boolean {
    this.sorted = undefined;
    return this.map.delete(keyOf(key));
  }
  /** Entries sorted by key (OPA order). The array is shared: do not mutate it. */
  entries(): ReadonlyArray<readonly [Value, Value]> {
    if (this.sorted === undefined) {
      const all = [...this.map.values()];
      let allStrings = true;
      for (const e of all) if (typeof e[0] !== 'string') allStrings = false;
      if (allStrings) all.sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : (a[0] as string) > (b[0] as string) ? 1 : 0));
      else all.sort((a, b) => compare(a[0], b[0]));
      this.sorted = all;
    }
    return this.sorted;
  }
  keys(): Value[] {
    return this.entries().map((e) => e[0]);
  }
  values(): Value[] {
    return this.entries().map((e) => e[1]);
  }
  /** A shallow copy that may be mutated. */
  clone(): ObjectValue {
    const o = new ObjectValue();
    for (const [k, v] of this.map) o.map.set(k, v);
    return o;
  }
}

/** A Rego set. Iteration (values) is in OPA's sorted order. */
export class SetValue {
  private readonly map = new Map<string, Value>();
  private sorted: Value[] | undefined;

  static of(values: Iterable<Value>): SetValue {
    const s = new SetValue();
    for (const v of values) s.add(v);
    return s;
  }

  get size(): number {
    return this.map.size;
  }
  has(v: Value): boolean {
    return this.map.has(keyOf(v));
  }
  /** Mutates: use only while building a fresh set. */
  add(v: Value): this {
    const k = keyOf(v);
    if (!this.map.has(k)) {
      this.map.set(k, v);
      this.sorted = undefined;
    }
    return this;
  }
  /** Mutates: use only while building a fresh set. */
  delete(v: Value): boolean {
    this.sorted = undefined;
    return this.map.delete(keyOf(v));
  }
  /** Elements in sorted order. The array is shared: do not mutate it. */
  values(): readonly Value[] {
    if (this.sorted === undefined) this.sorted = [...this.map.values()].sort(compare);
    return this.sorted;
  }
  clone(): SetValue {
    const s = new SetValue();
    for (const [k, v] of this.map) s.map.set(k, v);
    return s;
  }
}

// ---------------------------------------------------------------------------------------------
// Type, equality, ordering

export function typeName(v: Value): TypeName {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return 'boolean';
    case 'number':
    case 'bigint':
      return 'number';
    case 'string':
      return 'string';
  }
  if (v instanceof BigDecimal) return 'number';
  if (Array.isArray(v)) return 'array';
  if (v instanceof ObjectValue) return 'object';
  return 'set';
}

const TYPE_RANK: Record<TypeName, number> = { null: 0, boolean: 1, number: 2, string: 3, array: 4, object: 5, set: 6 };

export function equals(a: Value, b: Value): boolean {
  if (a === b) return true;
  const ta = typeof a;
  if (ta !== 'object' || a === null || b === null || typeof b !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    meterComposite(a);
    for (let i = 0; i < a.length; i++) if (!equals(a[i] as Value, b[i] as Value)) return false;
    return true;
  }
  if (a instanceof ObjectValue) {
    if (!(b instanceof ObjectValue) || a.size !== b.size) return false;
    meterComposite(a);
    for (const [k, v] of a.entries()) {
      const w = b.get(k);
      if (w === undefined || !equals(v, w)) return false;
    }
    return true;
  }
  if (a instanceof SetValue) {
    if (!(b instanceof SetValue) || a.size !== b.size) return false;
    for (const v of a.values()) if (!b.has(v)) return false;
    return true;
  }
  if (a instanceof BigDecimal) return b instanceof BigDecimal && a.coef === b.coef && a.exp === b.exp;
  return false;
}

/** OPA's total order: negative, zero or positive. */
export function compare(a: Value, b: Value): number {
  if (a === b) return 0;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  const ta = typeName(a);
  const tb = typeName(b);
  if (ta !== tb) return TYPE_RANK[ta] - TYPE_RANK[tb];
  switch (ta) {
    case 'null':
      return 0;
    case 'boolean':
      return a === b ? 0 : a === false ? -1 : 1;
    case 'number':
      return compareNumbers(a as number, b as number);
    case 'string':
      return (a as string) < (b as string) ? -1 : 1;
    case 'array': {
      const x = a as ArrayValue;
      const y = b as ArrayValue;
      meterComposite(x);
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const c = compare(x[i] as Value, y[i] as Value);
        if (c !== 0) return c;
      }
      return x.length - y.length;
    }
    case 'object': {
      meterComposite(a as ObjectValue);
      const x = (a as ObjectValue).entries();
      const y = (b as ObjectValue).entries();
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const ex = x[i] as readonly [Value, Value];
        const ey = y[i] as readonly [Value, Value];
        const c = compare(ex[0], ey[0]);
        if (c !== 0) return c;
        const d = compare(ex[1], ey[1]);
        if (d !== 0) return d;
      }
      return x.length - y.length;
    }
    case 'set': {
      meterComposite(a as SetValue);
      const x = (a as SetValue).values();
      const y = (b as SetValue).values();
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const c = compare(x[i] as Value, y[i] as Value);
        if (c !== 0) return c;
      }
      return x.length - y.length;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// JSON conversion

/**
 * Converts parsed JSON/YAML (plain objects, arrays, numbers, bigints from `yaml`'s intAsBigInt,
 * strings, booleans, null) into a Value. Throws TypeError on anything else (functions, NaN...).
 */
export function fromJson(x: unknown): Value {
  if (x === null || typeof x === 'boolean' || typeof x === 'string') return x;
  if (typeof x === 'number') return makeNumber(x);
  if (typeof x === 'bigint') return normalizeBigInt(x);
  if (Array.isArray(x)) return x.map(fromJson);
  if (typeof x === 'object') {
    if (x instanceof ObjectValue || x instanceof SetValue || x instanceof BigDecimal) return x;
    const o = new ObjectValue();
    const rec = x as Record<string, unknown>;
    for (const k of Object.keys(rec)) o.set(k, fromJson(rec[k]));
    return o;
  }
  throw new TypeError(`cannot convert ${typeof x} to a Rego value`);
}

/**
 * fromJson for the JSON an evaluation is given (input, data): the same value, checked now with
 * the same errors as fromJson (unsupported types, non-finite numbers, nesting too deep or
 * cyclic), but objects are converted one level at a time when the policy first reads them, so
 * the parts of a large input (claims with their evidence) that a policy never reads cost only
 * the check. The JSON must not change while the evaluation runs.
 */
export function fromJsonLazy(x: unknown): Value {
  checkJson(x);
  return lazyJsonValue(x);
}

/** Walks `x` as fromJson would, throwing what it would throw, and builds nothing. */
function checkJson(x: unknown): void {
  if (x === null || typeof x === 'boolean' || typeof x === 'string') return;
  if (typeof x === 'number') {
    makeNumber(x);
    return;
  }
  if (typeof x === 'bigint') return;
  if (Array.isArray(x)) {
    for (const item of x) checkJson(item);
    return;
  }
  if (typeof x === 'object') {
    if (x instanceof ObjectValue || x instanceof SetValue || x instanceof BigDecimal) return;
    const rec = x as Record<string, unknown>;
    for (const k of Object.keys(rec)) checkJson(rec[k]);
    return;
  }
  throw new TypeError(`cannot convert ${typeof x} to a Rego value`);
}

/** fromJson of checked JSON with objects left to convert themselves (ObjectValue.lazyFromJson). */
function lazyJsonValue(x: unknown): Value {
  if (x === null || typeof x === 'boolean' || typeof x === 'string') return x;
  if (typeof x === 'number') return makeNumber(x);
  if (typeof x === 'bigint') return normalizeBigInt(x);
  if (Array.isArray(x)) return x.map(lazyJsonValue);
  if (x instanceof ObjectValue || x instanceof SetValue || x instanceof BigDecimal) return x;
  return ObjectValue.lazyFromJson(x as Record<string, unknown>);
}

/**
 * Converts a Value to JSON: sets become arrays (sorted), non-string object keys are rendered as
 * their JSON text, big numbers become the nearest float.
 */
export function toJson(v: Value): RegoJson {
  if (v === null || typeof v === 'boolean' || typeof v === 'string' || typeof v === 'number') return v;
  if (typeof v === 'bigint' || v instanceof BigDecimal) return toFloat(v);
  meterComposite(v);
  if (Array.isArray(v)) return v.map(toJson);
  if (v instanceof SetValue) return v.values().map(toJson);
  const out: { [k: string]: RegoJson } = {};
  for (const [k, val] of v.entries()) out[typeof k === 'string' ? k : toJsonText(k)] = toJson(val);
  return out;
}

/** JSON text of a value with exact numbers and sorted object keys (sets as sorted arrays). */
export function toJsonText(v: Value): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
    case 'bigint':
      return numberToString(v);
    case 'string':
      meter(v.length >> 4);
      return JSON.stringify(v);
  }
  if (v instanceof BigDecimal) return numberToString(v);
  meterComposite(v);
  if (Array.isArray(v)) return '[' + v.map(toJsonText).join(',') + ']';
  if (v instanceof SetValue) return '[' + v.values().map(toJsonText).join(',') + ']';
  const parts: string[] = [];
  for (const [k, val] of v.entries()) parts.push(JSON.stringify(typeof k === 'string' ? k : toJsonText(k)) + ':' + toJsonText(val));
  return '{' + parts.join(',') + '}';
}

/** Rego source rendering of a value (sets as `{...}`/`set()`), as OPA prints terms. */
export function toRegoText(v: Value): string {
  if (typeof v === 'object' && v !== null && !(v instanceof BigDecimal)) meterComposite(v);
  if (v instanceof SetValue) return v.size === 0 ? 'set()' : '{' + v.values().map(toRegoText).join(', ') + '}';
  if (Array.isArray(v)) return '[' + v.map(toRegoText).join(', ') + ']';
  if (v instanceof ObjectValue) {
    const parts: string[] = [];
    for (const [k, val] of v.entries()) parts.push(toRegoText(k) + ': ' + toRegoText(val));
    return '{' + parts.join(', ') + '}';
  }
  return toJsonText(v);
}

/** Truthiness for body expressions: only `false` (and undefined) fail. */
export function isFalse(v: Value): boolean {
  return v === false;
}
