/**
 * Encoding builtins: base64, base64url, hex, urlquery, json.* (marshal/unmarshal/is_valid) and
 * yaml.* (marshal/unmarshal/is_valid), matching Go's encoders byte for byte.
 */
import { parse as parseYamlText, parseDocument, stringify as stringifyYaml } from 'yaml';
import { builtinError, isResourceExhaustion, limitError, operandError, operandErrorText, type BuiltinDefinition } from '../builtinContract.ts';
import { ObjectValue, SetValue, fromJson, type Value } from '../value.ts';
import { chargeText, objectArg, stringArg } from './args.ts';
import { JsonSyntaxError, isValidJson, marshalJson, parseJsonValue } from './jsonText.ts';
import { toPlainJson } from './plainJson.ts';

const STD_B64 = /^[A-Za-z0-9+/]*={0,2}$/;
const URL_B64 = /^[A-Za-z0-9_-]*={0,2}$/;

/** Go's base64 StdEncoding/URLEncoding DecodeString (padding required, strict alphabet). */
export function decodeBase64Strict(s: string, url: boolean): Buffer {
  const pattern = url ? URL_B64 : STD_B64;
  const cleaned = s.replace(/[\r\n]/g, '');
  if (cleaned.length % 4 !== 0 || !pattern.test(cleaned)) {
    const bad = findBadBase64Index(cleaned, url);
    throw new Error(`illegal base64 data at input byte ${bad}`);
  }
  // Go's (non-Strict) decoder accepts non-zero trailing bits, as Buffer does.
  const buffer = Buffer.from(cleaned, url ? 'base64url' : 'base64');
  return buffer;
}

function findBadBase64Index(s: string, url: boolean): number {
  const alphabet = url ? /[A-Za-z0-9_-]/ : /[A-Za-z0-9+/]/;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '=') {
      const rest = s.slice(i);
      if (!/^={1,2}$/.test(rest) || (i + rest.length) % 4 !== 0) return i;
      return s.length;
    }
    if (!alphabet.test(c)) return i;
  }
  // Length not a multiple of 4: Go reports the offset of the incomplete quantum's end.
  return s.length - (s.length % 4);
}

function bytesToString(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('utf8');
}

/** Go's url.QueryEscape. */
export function queryEscape(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Go's url.QueryUnescape. */
export function queryUnescape(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; ) {
    const c = s[i] as string;
    if (c === '%') {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) {
        const shown = s.slice(i, i + 3);
        throw new Error(`invalid URL escape ${JSON.stringify(shown)}`);
      }
      bytes.push(Number.parseInt(hex, 16));
      i += 3;
    } else if (c === '+') {
      bytes.push(0x20);
      i++;
    } else {
      const cp = s.codePointAt(i) ?? 0;
      const ch = String.fromCodePoint(cp);
      bytes.push(...Buffer.from(ch, 'utf8'));
      i += ch.length;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function encodeObject(fn: string, v: Value): string {
  const object = objectArg(fn, v, 1);
  const pairs: Array<[string, string]> = [];
  const valuesError = operandErrorText(fn, 1, 'values must be string, array[string], or set[string]');
  for (const [k, val] of object.entries()) {
    if (typeof k !== 'string') throw operandError(fn, 1, 'object', v);
    if (typeof val === 'string') pairs.push([k, val]);
    else if (Array.isArray(val) || val instanceof SetValue) {
      const items = Array.isArray(val) ? val : val.values();
      for (const item of items) {
        if (typeof item !== 'string') throw valuesError;
        pairs.push([k, item]);
      }
    } else {
      throw valuesError;
    }
  }
  // url.Values.Encode: keys sorted, values in insertion order.
  const keys = [...new Set(pairs.map(([k]) => k))].sort();
  const out: string[] = [];
  for (const key of keys) for (const [k, val] of pairs) if (k === key) out.push(`${queryEscape(k)}=${queryEscape(val)}`);
  return out.join('&');
}

function decodeObject(query: string): ObjectValue {
  const map = new Map<string, string[]>();
  for (const part of query.split('&')) {
    if (part === '') continue;
    if (part.includes(';')) throw new Error('invalid semicolon separator in query');
    const eq = part.indexOf('=');
    const key = queryUnescape(eq < 0 ? part : part.slice(0, eq));
    const value = queryUnescape(eq < 0 ? '' : part.slice(eq + 1));
    const list = map.get(key) ?? [];
    list.push(value);
    map.set(key, list);
  }
  return ObjectValue.fromEntries([...map].map(([k, vs]) => [k, vs] as const));
}

function marshalWithOptions(fn: string, value: Value, options: Value): string {
  const opts = objectArg(fn, options, 2);
  let indent = '\t';
  let prefix = '';
  let implicitPretty = false;
  let explicit: boolean | undefined;
  for (const [k, v] of opts.entries()) {
    if (typeof k !== 'string') throw operandErrorText(fn, 2, 'failed to stringify key');
    switch (k) {
      case 'prefix':
        if (typeof v !== 'string') throw operandErrorText(fn, 2, `key ${k} failed cast to string`);
        prefix = v;
        implicitPretty = true;
        break;
      case 'indent':
        if (typeof v !== 'string') throw operandErrorText(fn, 2, `key ${k} failed cast to string`);
        indent = v;
        implicitPretty = true;
        break;
      case 'pretty':
        if (typeof v !== 'boolean') throw operandErrorText(fn, 2, `key ${k} failed cast to bool`);
        explicit = v;
        break;
      default:
        throw operandErrorText(fn, 2, `object contained unknown key ${JSON.stringify(k)}`);
    }
  }
  const pretty = explicit ?? implicitPretty;
  return pretty ? prefix + marshalJson(value, prefix, indent) : marshalJson(value);
}

/** Converts parsed YAML (sigs.k8s.io/yaml semantics: keys become strings) into a Value. */
function yamlToValue(x: unknown, depth = 0): Value {
  if (depth > 1000) throw new Error('yaml: exceeded max depth');
  if (x instanceof Map) {
    const o = new ObjectValue();
    for (const [k, v] of x) o.set(typeof k === 'string' ? k : String(k), yamlToValue(v, depth + 1));
    return o;
  }
  if (Array.isArray(x)) return x.map((e) => yamlToValue(e, depth + 1));
  if (x instanceof Date) return x.toISOString();
  if (x === undefined) return null;
  if (typeof x === 'number' && !Number.isFinite(x)) throw new Error('yaml: unsupported value: +Inf/NaN');
  if (x !== null && typeof x === 'object') {
    const o = new ObjectValue();
    for (const [k, v] of Object.entries(x as Record<string, unknown>)) o.set(k, yamlToValue(v, depth + 1));
    return o;
  }
  return fromJson(x);
}

const YAML_OPTIONS = { version: '1.1', intAsBigInt: true, maxAliasCount: 100, uniqueKeys: false, mapAsMap: true } as const;

function parseYaml(text: string): Value {
  const doc = parseDocument(text, YAML_OPTIONS);
  const first = doc.errors[0];
  if (first !== undefined) {
    const line = first.linePos?.[0]?.line ?? 1;
    const detail = first.code === 'MISSING_CHAR' || first.code === 'BAD_INDENT' || /flow|Missing|expected/i.test(first.message)
      ? "did not find expected ',' or ']'"
      : first.message.split('\n')[0];
    throw new Error(`yaml: line ${line}: ${detail}`);
  }
  return yamlToValue(doc.toJS({ mapAsMap: true, maxAliasCount: 100 }));
}

function isValidYaml(text: string): boolean {
  try {
    parseYamlText(text, YAML_OPTIONS);
    return true;
  } catch {
    return false;
  }
}

function marshalYaml(v: Value): string {
  const plain = toPlainJson(v);
  return stringifyYaml(plain, { indentSeq: false, sortMapEntries: true, lineWidth: 0, version: '1.1' });
}

function wrap<T>(fn: string, body: () => T): T {
  try {
    return body();
  } catch (error) {
    if (isResourceExhaustion(error)) throw limitError(fn, error.message);
    if (error instanceof JsonSyntaxError || (error instanceof Error && error.constructor === Error) || error instanceof RangeError) {
      throw builtinError(fn, error.message);
    }
    throw error;
  }
}

const str = (fn: string, args: readonly Value[]): string => stringArg(fn, args[0] as Value, 1);

/** Parsing builds a value per token: charged at several times the cost of scanning the text. */
const JSON_PARSE_UNITS_PER_CHAR = 8;
/** The yaml library is slower per character than our JSON parser. */
const YAML_PARSE_UNITS_PER_CHAR = 50;

export const encodingBuiltins: BuiltinDefinition[] = [
  { name: 'base64.encode', arity: 1, impl: (a, ctx) => Buffer.from(str(ctx.name, a), 'utf8').toString('base64') },
  { name: 'base64.decode', arity: 1, impl: (a, ctx) => wrap(ctx.name, () => bytesToString(decodeBase64Strict(str(ctx.name, a), false))) },
  {
    name: 'base64.is_valid', arity: 1,
    impl: ([v]) => {
      if (typeof v !== 'string') return false;
      try {
        decodeBase64Strict(v, false);
        return true;
      } catch {
        return false;
      }
    },
  },
  { name: 'base64url.encode', arity: 1, impl: (a, ctx) => Buffer.from(str(ctx.name, a), 'utf8').toString('base64url').padEnd(Math.ceil(Buffer.byteLength(str(ctx.name, a)) / 3) * 4, '=') },
  { name: 'base64url.encode_no_pad', arity: 1, impl: (a, ctx) => Buffer.from(str(ctx.name, a), 'utf8').toString('base64url') },
  {
    name: 'base64url.decode', arity: 1,
    impl: (a, ctx) => wrap(ctx.name, () => {
      let s = str(ctx.name, a);
      if (!s.endsWith('=')) {
        switch (s.length % 4) {
          case 0: break;
          case 2: s += '=='; break;
          case 3: s += '='; break;
          default: throw new Error(`illegal base64url string: ${s}`);
        }
      }
      return bytesToString(decodeBase64Strict(s, true));
    }),
  },
  { name: 'hex.encode', arity: 1, impl: (a, ctx) => Buffer.from(str(ctx.name, a), 'utf8').toString('hex') },
  {
    name: 'hex.decode', arity: 1,
    impl: (a, ctx) => wrap(ctx.name, () => {
      const s = str(ctx.name, a);
      for (let i = 0; i < s.length; i++) {
        const c = s[i] as string;
        if (!/[0-9a-fA-F]/.test(c)) {
          const cp = s.codePointAt(i) ?? 0;
          throw new Error(`encoding/hex: invalid byte: U+${cp.toString(16).toUpperCase().padStart(4, '0')} ${quoteRune(String.fromCodePoint(cp))}`);
        }
      }
      if (s.length % 2 !== 0) throw new Error('encoding/hex: odd length hex string');
      return bytesToString(Buffer.from(s, 'hex'));
    }),
  },
  { name: 'urlquery.encode', arity: 1, impl: (a, ctx) => queryEscape(str(ctx.name, a)) },
  { name: 'urlquery.decode', arity: 1, impl: (a, ctx) => wrap(ctx.name, () => queryUnescape(str(ctx.name, a))) },
  { name: 'urlquery.encode_object', arity: 1, impl: ([v], ctx) => encodeObject(ctx.name, v as Value) },
  { name: 'urlquery.decode_object', arity: 1, impl: (a, ctx) => wrap(ctx.name, () => decodeObject(str(ctx.name, a))) },
  {
    name: 'json.marshal', arity: 1,
    impl: ([v], ctx) => {
      const out = marshalJson(v as Value);
      chargeText(ctx, ctx.name, out.length);
      return out;
    },
  },
  {
    name: 'json.marshal_with_options', arity: 2,
    impl: ([v, o], ctx) => {
      const out = marshalWithOptions(ctx.name, v as Value, o as Value);
      chargeText(ctx, ctx.name, out.length);
      return out;
    },
  },
  {
    name: 'json.unmarshal', arity: 1,
    impl: (a, ctx) => {
      const s = str(ctx.name, a);
      ctx.charge(s.length * JSON_PARSE_UNITS_PER_CHAR);
      return wrap(ctx.name, () => parseJsonValue(s));
    },
  },
  {
    name: 'json.is_valid', arity: 1,
    impl: ([v], ctx) => {
      if (typeof v !== 'string') return false;
      ctx.charge(v.length * JSON_PARSE_UNITS_PER_CHAR);
      return isValidJson(v);
    },
  },
  {
    name: 'yaml.marshal', arity: 1,
    impl: ([v], ctx) => wrap(ctx.name, () => marshalYaml(v as Value)),
  },
  {
    name: 'yaml.unmarshal', arity: 1,
    impl: (a, ctx) => {
      const s = str(ctx.name, a);
      ctx.charge(s.length * YAML_PARSE_UNITS_PER_CHAR);
      return wrap(ctx.name, () => parseYaml(s));
    },
  },
  {
    name: 'yaml.is_valid', arity: 1,
    impl: ([v], ctx) => {
      if (typeof v !== 'string') return false;
      ctx.charge(v.length * YAML_PARSE_UNITS_PER_CHAR);
      return isValidYaml(v);
    },
  },
];

function quoteRune(c: string): string {
  return `'${c}'`;
}
