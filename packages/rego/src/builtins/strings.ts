/**
 * String builtins (concat, split, replace, trim*, sprintf, format_int, indexof, substring,
 * strings.*). Positions and lengths count Unicode code points, like OPA's runes.
 */
import { builtinError, limitError, operandError, operandErrorText, type BuiltinContext, type BuiltinDefinition } from '../builtinContract.ts';
import {
  BigDecimal, SetValue, equals, isNumber, toBigInt, toRegoText, type Value,
} from '../value.ts';
import {
  MAX_GENERATED_STRING_LENGTH, chargeText, collectionElements, integerArg, numberArg, objectArg, oneOf,
  smallIntegerArg, stringArg, stringListArg,
} from './args.ts';
import { goSprintf, type GoArg } from './goFormat.ts';
import { renderTemplate } from './goTemplate.ts';
import { floor as floorNumber, negate, sign } from './numeric.ts';

function codePoints(s: string): string[] {
  return Array.from(s);
}

const GO_SPACE = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680,
  0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a,
  0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
]);

function trimSet(s: string, cutset: Set<string>, left: boolean, right: boolean): string {
  const chars = codePoints(s);
  let start = 0;
  let end = chars.length;
  if (left) while (start < end && cutset.has(chars[start] as string)) start++;
  if (right) while (end > start && cutset.has(chars[end - 1] as string)) end--;
  return chars.slice(start, end).join('');
}

function trimSpace(s: string): string {
  const chars = codePoints(s);
  const isSpace = (c: string | undefined): boolean => c !== undefined && GO_SPACE.has(c.codePointAt(0) ?? -1);
  let start = 0;
  let end = chars.length;
  while (start < end && isSpace(chars[start])) start++;
  while (end > start && isSpace(chars[end - 1])) end--;
  return chars.slice(start, end).join('');
}

/** Go's strings.Split: an empty separator splits into code points. */
export function goSplit(s: string, separator: string, ctx: BuiltinContext): string[] {
  // One string per piece: charged for the most pieces there can be, before splitting.
  ctx.charge((s.length / Math.max(1, separator.length)) * 8 + 1);
  if (separator === '') return codePoints(s);
  return s.split(separator);
}

/** Go's strings.NewReplacer(pairs...).Replace(s): leftmost, first pair in argument order wins. */
export function goReplace(s: string, pairs: ReadonlyArray<readonly [string, string]>, ctx: BuiltinContext, fn: string): string {
  if (pairs.length === 1) {
    const [from, to] = pairs[0] as readonly [string, string];
    if (from !== '') {
      // Splitting allocates a string per occurrence: charged for the most there can be.
      ctx.charge((s.length / from.length) * 8);
      const parts = s.split(from);
      chargeText(ctx, fn, s.length + (parts.length - 1) * Math.max(0, to.length - from.length));
      return parts.join(to);
    }
  }
  // Character-by-character scan: charged up front at a few times the cost of a native pass.
  chargeText(ctx, fn, s.length * 4);
  let out = '';
  let i = 0;
  let previousEmpty = false;
  while (i <= s.length) {
    let match: readonly [string, string] | undefined;
    for (const pair of pairs) {
      if (pair[0] === '' ? !previousEmpty : s.startsWith(pair[0], i)) {
        match = pair;
        break;
      }
    }
    if (match !== undefined) {
      chargeText(ctx, fn, out.length + match[1].length);
      out += match[1];
      previousEmpty = match[0] === '';
      i += match[0].length;
      continue;
    }
    previousEmpty = false;
    if (i >= s.length) break;
    const ch = String.fromCodePoint(s.codePointAt(i) ?? 0);
    out += ch;
    i += ch.length;
  }
  chargeText(ctx, fn, out.length);
  return out;
}

/** OPA's sprintf argument conversion: ints (int64 or big), float64, strings; anything else as Rego text. */
function toGoArg(v: Value): GoArg {
  if (typeof v === 'string') return { kind: 'string', value: v };
  if (isNumber(v)) {
    const i = toBigInt(v);
    if (i !== undefined) {
      const big = i > (1n << 63n) - 1n || i < -(1n << 63n);
      // OPA keeps the literal text of numbers; a huge round literal like 2e308 prints in that form.
      if (big && Math.abs(Number(i)) === Infinity) {
        const digits = (i < 0n ? -i : i).toString();
        const trimmed = digits.replace(/0+$/, '');
        if (digits.length - trimmed.length > 15) return { kind: 'string', value: `${i < 0n ? '-' : ''}${trimmed}e${digits.length - trimmed.length}` };
      }
      return { kind: 'int', value: i, big };
    }
    if (v instanceof BigDecimal) return { kind: 'string', value: v.toString() };
    return { kind: 'float', value: v as number };
  }
  return { kind: 'string', value: toRegoText(v) };
}

function sprintf(fn: string, format: Value, list: Value, ctx: BuiltinContext): string {
  const f = stringArg(fn, format, 1);
  if (!Array.isArray(list)) throw operandError(fn, 2, 'array', list);
  ctx.charge(list.length + 1);
  try {
    const out = goSprintf(f, list.map(toGoArg), MAX_GENERATED_STRING_LENGTH);
    chargeText(ctx, fn, out.length);
    return out;
  } catch (error) {
    // goFormat's own limits (width, output length) are resource limits, not format errors.
    if (error instanceof RangeError) throw limitError(fn, error.message);
    throw error;
  }
}

function anyMatch(fn: string, args: readonly Value[], suffix: boolean): boolean {
  const lists = args.map((arg, index) => {
    if (typeof arg === 'string') return [arg];
    if (Array.isArray(arg) || arg instanceof SetValue) return stringListArg(fn, arg, index + 1);
    throw operandError(fn, index + 1, oneOf('string', 'set', 'array'), arg);
  });
  const [strs = [], affixes = []] = lists;
  return strs.some((s) => affixes.some((a) => (suffix ? s.endsWith(a) : s.startsWith(a))));
}

function formatInt(fn: string, input: Value, base: Value): string {
  const n = numberArg(fn, input, 1);
  const b = numberArg(fn, base, 2);
  const radix = [2, 8, 10, 16].find((r) => equals(b, r));
  if (radix === undefined) throw operandErrorText(fn, 2, 'must be one of {2, 8, 10, 16}');
  // Go's big.Float.Int truncates towards zero.
  const truncated = sign(n) < 0 ? negate(floorNumber(negate(n))) : floorNumber(n);
  return (toBigInt(truncated) ?? 0n).toString(radix);
}

function indexOfAll(base: string, search: string, firstOnly: boolean): number[] {
  const hay = codePoints(base);
  const needle = codePoints(search);
  const out: number[] = [];
  for (let i = 0; i + needle.length <= hay.length; i++) {
    let ok = true;
    for (let j = 0; j < needle.length; j++) {
      if (hay[i + j] !== needle[j]) {
        ok = false;
        break;
      }
    }
    if (ok) {
      out.push(i);
      if (firstOnly) break;
    }
  }
  return out;
}

function substring(fn: string, args: readonly Value[]): string {
  const base = stringArg(fn, args[0] as Value, 1);
  const start = integerArg(fn, args[1] as Value, 2);
  const length = integerArg(fn, args[2] as Value, 3);
  if (start < 0n) throw builtinError(fn, 'negative offset');
  const chars = codePoints(base);
  if (start >= BigInt(chars.length)) return '';
  const from = Number(start);
  if (length < 0n) return chars.slice(from).join('');
  const upto = length > BigInt(chars.length) ? chars.length : Math.min(chars.length, from + Number(length));
  return chars.slice(from, upto).join('');
}

function goCount(s: string, sub: string): number {
  if (sub === '') return codePoints(s).length + 1;
  return s.split(sub).length - 1;
}

function replaceN(fn: string, patterns: Value, input: Value, ctx: BuiltinContext): string {
  const object = objectArg(fn, patterns, 1);
  const s = stringArg(fn, input, 2);
  const pairs: Array<[string, string]> = [];
  for (const [k, v] of object.entries()) {
    if (typeof k !== 'string') throw operandErrorText(fn, 1, 'non-string key found in pattern object');
    if (typeof v !== 'string') throw operandErrorText(fn, 1, 'non-string value found in pattern object');
    pairs.push([k, v]);
  }
  if (pairs.length === 0) return s;
  return goReplace(s, pairs, ctx, fn);
}

function splitN(fn: string, args: readonly Value[], ctx: BuiltinContext): Value {
  const s = stringArg(fn, args[0] as Value, 1);
  const separator = stringArg(fn, args[1] as Value, 2);
  const n = smallIntegerArg(fn, args[2] as Value, 3);
  const parts = goSplit(s, separator, ctx);
  if (n >= 0) return parts.slice(0, n);
  return parts.slice(Math.max(0, parts.length + n));
}

function concat(fn: string, delimiter: Value, list: Value, ctx: BuiltinContext): string {
  const join = stringArg(fn, delimiter, 1);
  const elements = collectionElements(list);
  if (elements === undefined) throw operandError(fn, 2, oneOf('set', 'array'), list);
  const parts = stringListArg(fn, list, 2);
  let length = join.length * Math.max(0, parts.length - 1);
  for (const part of parts) length += part.length;
  chargeText(ctx, fn, length);
  return parts.join(join);
}

function s1(fn: string, args: readonly Value[]): string {
  return stringArg(fn, args[0] as Value, 1);
}
function s2(fn: string, args: readonly Value[]): string {
  return stringArg(fn, args[1] as Value, 2);
}

export const stringBuiltins: BuiltinDefinition[] = [
  { name: 'concat', arity: 2, impl: ([d, l], ctx) => concat(ctx.name, d as Value, l as Value, ctx) },
  { name: 'contains', arity: 2, impl: (a, ctx) => s1(ctx.name, a).includes(s2(ctx.name, a)) },
  { name: 'startswith', arity: 2, impl: (a, ctx) => s1(ctx.name, a).startsWith(s2(ctx.name, a)) },
  { name: 'endswith', arity: 2, impl: (a, ctx) => s1(ctx.name, a).endsWith(s2(ctx.name, a)) },
  { name: 'lower', arity: 1, impl: (a, ctx) => s1(ctx.name, a).toLowerCase() },
  { name: 'upper', arity: 1, impl: (a, ctx) => s1(ctx.name, a).toUpperCase() },
  { name: 'format_int', arity: 2, impl: ([n, b], ctx) => formatInt(ctx.name, n as Value, b as Value) },
  {
    name: 'indexof', arity: 2,
    impl: (a, ctx) => {
      const base = s1(ctx.name, a);
      const search = s2(ctx.name, a);
      if (search === '') throw builtinError(ctx.name, 'empty search character');
      ctx.charge(Math.ceil(base.length / 64) + 1);
      return indexOfAll(base, search, true)[0] ?? -1;
    },
  },
  {
    name: 'indexof_n', arity: 2,
    impl: (a, ctx) => {
      const base = s1(ctx.name, a);
      const search = s2(ctx.name, a);
      if (search === '') throw builtinError(ctx.name, 'empty search character');
      ctx.charge(Math.ceil(base.length / 64) + 1);
      return indexOfAll(base, search, false);
    },
  },
  { name: 'substring', arity: 3, impl: (a, ctx) => substring(ctx.name, a) },
  {
    name: 'split', arity: 2,
    impl: (a, ctx) => {
      return goSplit(s1(ctx.name, a), s2(ctx.name, a), ctx);
    },
  },
  { name: 'strings.split_n', arity: 3, impl: (a, ctx) => splitN(ctx.name, a, ctx) },
  {
    name: 'replace', arity: 3,
    impl: (a, ctx) => {
      const s = s1(ctx.name, a);
      const from = s2(ctx.name, a);
      const to = stringArg(ctx.name, a[2] as Value, 3);
      return goReplace(s, [[from, to]], ctx, ctx.name);
    },
  },
  { name: 'strings.replace_n', arity: 2, impl: ([p, s], ctx) => replaceN(ctx.name, p as Value, s as Value, ctx) },
  { name: 'trim', arity: 2, impl: (a, ctx) => trimSet(s1(ctx.name, a), new Set(codePoints(s2(ctx.name, a))), true, true) },
  { name: 'trim_left', arity: 2, impl: (a, ctx) => trimSet(s1(ctx.name, a), new Set(codePoints(s2(ctx.name, a))), true, false) },
  { name: 'trim_right', arity: 2, impl: (a, ctx) => trimSet(s1(ctx.name, a), new Set(codePoints(s2(ctx.name, a))), false, true) },
  {
    name: 'trim_prefix', arity: 2,
    impl: (a, ctx) => {
      const s = s1(ctx.name, a);
      const p = s2(ctx.name, a);
      return s.startsWith(p) ? s.slice(p.length) : s;
    },
  },
  {
    name: 'trim_suffix', arity: 2,
    impl: (a, ctx) => {
      const s = s1(ctx.name, a);
      const p = s2(ctx.name, a);
      return p !== '' && s.endsWith(p) ? s.slice(0, s.length - p.length) : s;
    },
  },
  { name: 'trim_space', arity: 1, impl: (a, ctx) => trimSpace(s1(ctx.name, a)) },
  { name: 'sprintf', arity: 2, impl: ([f, l], ctx) => sprintf(ctx.name, f as Value, l as Value, ctx) },
  { name: 'strings.any_prefix_match', arity: 2, impl: (a, ctx) => anyMatch(ctx.name, a, false) },
  { name: 'strings.any_suffix_match', arity: 2, impl: (a, ctx) => anyMatch(ctx.name, a, true) },
  { name: 'strings.count', arity: 2, impl: (a, ctx) => goCount(s1(ctx.name, a), s2(ctx.name, a)) },
  { name: 'strings.reverse', arity: 1, impl: (a, ctx) => codePoints(s1(ctx.name, a)).reverse().join('') },
  {
    name: 'strings.render_template', arity: 2,
    impl: ([t, vars], ctx) => {
      const template = stringArg(ctx.name, t as Value, 1);
      const data = objectArg(ctx.name, vars as Value, 2);
      return renderTemplate(ctx.name, template, data, ctx);
    },
  },
];

