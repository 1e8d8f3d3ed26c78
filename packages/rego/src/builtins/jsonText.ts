/**
 * JSON text <-> Rego values with Go's encoding/json conventions: numbers parsed exactly (no float
 * rounding of big integers), strict RFC 8259 syntax, a nesting limit for hostile input, and
 * marshalling with Go's escaping (`<`, `>`, `&`, U+2028/2029 escaped) and MarshalIndent layout.
 */
import {
  BigDecimal, ObjectValue, SetValue, numberToString, parseNumber, type Value,
} from '../value.ts';
import { meter } from '../workMeter.ts';
import { errorClassWithCode } from '@trustee/errors';

export class JsonSyntaxError extends errorClassWithCode('invalid_json') {}

const MAX_DEPTH = 1000;

/** Parses JSON text into a Value; throws JsonSyntaxError with Go-like messages. */
export function parseJsonValue(text: string): Value {
  let i = 0;
  const fail = (what: string): never => {
    throw new JsonSyntaxError(what);
  };
  const ws = (): void => {
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
  };
  const unexpected = (): never => {
    if (i >= text.length) return fail('unexpected end of JSON input');
    return fail(`invalid character ${quoteChar(text[i] as string)} looking for beginning of value`);
  };
  const parseString = (): string => {
    i++;
    let out = '';
    let start = i;
    for (;;) {
      if (i >= text.length) fail('unexpected end of JSON input');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(start, i);
        i++;
        return out;
      }
      if (c < 0x20) fail(`invalid character ${quoteChar(text[i] as string)} in string literal`);
      if (c === 0x5c) {
        out += text.slice(start, i);
        const e = text[i + 1];
        i += 2;
        switch (e) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'u': {
            const hex = text.slice(i, i + 4);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('invalid character in \\u hexadecimal character escape');
            out += String.fromCharCode(Number.parseInt(hex, 16));
            i += 4;
            break;
          }
          default: fail(`invalid character ${quoteChar(e ?? '')} in string escape code`);
        }
        start = i;
        continue;
      }
      i++;
    }
  };
  const parseValue = (depth: number): Value => {
    if (depth > MAX_DEPTH) fail('exceeded max depth');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const o = new ObjectValue();
      ws();
      if (text[i] === '}') {
        i++;
        return o;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') {
          if (i >= text.length) fail('unexpected end of JSON input');
          fail(`invalid character ${quoteChar(text[i] as string)} looking for beginning of object key string`);
        }
        const key = parseString();
        ws();
        if (text[i] !== ':') {
          if (i >= text.length) fail('unexpected end of JSON input');
          fail(`invalid character ${quoteChar(text[i] as string)} after object key`);
        }
        i++;
        o.set(key, parseValue(depth + 1));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return o;
        }
        if (i >= text.length) fail('unexpected end of JSON input');
        fail(`invalid character ${quoteChar(text[i] as string)} after object key:value pair`);
      }
    }
    if (c === '[') {
      i++;
      const a: Value[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return a;
      }
      for (;;) {
        a.push(parseValue(depth + 1));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return a;
        }
        if (i >= text.length) fail('unexpected end of JSON input');
        fail(`invalid character ${quoteChar(text[i] as string)} after array element`);
      }
    }
    if (c === '"') return parseString();
    if (text.startsWith('true', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('false', i)) {
      i += 5;
      return false;
    }
    if (text.startsWith('null', i)) {
      i += 4;
      return null;
    }
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 100_000));
    if (m !== null && m[0] !== '-' && m[0] !== '') {
      i += m[0].length;
      const n = parseNumber(m[0]);
      if (n === undefined) fail(`number ${m[0]} out of range`);
      return n as Value;
    }
    return unexpected();
  };
  const value = parseValue(0);
  ws();
  if (i < text.length) fail(`invalid character ${quoteChar(text[i] as string)} after top-level value`);
  return value;
}

function quoteChar(c: string): string {
  if (c === "'") return "'\\''";
  if (c === '\n') return "'\\n'";
  if (c === '\t') return "'\\t'";
  if (c === '\r') return "'\\r'";
  return `'${c}'`;
}

/** Whether text is valid JSON (Go's json.Valid). */
export function isValidJson(text: string): boolean {
  try {
    parseJsonValue(text);
    return true;
  } catch {
    return false;
  }
}

/** Go's encoding/json string encoding (HTML-safe escaping). */
export function goJsonString(s: string): string {
  meter(s.length);
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i] as string;
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029) {
      out += `\\u${c.toString(16).padStart(4, '0')}`;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        out += ch + (s[i + 1] as string);
        i++;
      } else {
        out += '\ufffd';
      }
    } else {
      out += ch;
    }
  }
  return `${out}"`;
}

/** Object keys as Go's ast.JSON produces them: string keys, others via their JSON text. */
function keyText(k: Value): string {
  return typeof k === 'string' ? k : marshalJson(k);
}

/** Go's json.Marshal of ast.JSON(value) (keys sorted, sets as arrays). */
export function marshalJson(v: Value, prefix?: string, indent?: string): string {
  const pretty = prefix !== undefined && indent !== undefined;
  const encode = (value: Value, depth: number): string => {
    if (value === null) return 'null';
    if (typeof value === 'boolean') return value ? 'true' : 'false';
    if (typeof value === 'number' || typeof value === 'bigint' || value instanceof BigDecimal) return numberToString(value);
    if (typeof value === 'string') return goJsonString(value);
    const newline = (d: number): string => (pretty ? `\n${prefix}${(indent as string).repeat(d)}` : '');
    if (Array.isArray(value) || value instanceof SetValue) {
      const items = Array.isArray(value) ? value : value.values();
      // Shared sub-values make a value's text exponentially larger than the value: metered per node.
      meter(4 + items.length * (8 + (pretty ? depth : 0)));
      if (items.length === 0) return '[]';
      return `[${items.map((e) => newline(depth + 1) + encode(e, depth + 1)).join(',')}${newline(depth)}]`;
    }
    meter(4 + value.size * (16 + (pretty ? depth : 0)));
    const entries = value.entries().map(([k, val]) => [keyText(k), val] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    if (entries.length === 0) return '{}';
    const sep = pretty ? ': ' : ':';
    return `{${entries.map(([k, val]) => newline(depth + 1) + goJsonString(k) + sep + encode(val, depth + 1)).join(',')}${newline(depth)}}`;
  };
  return encode(v, 0);
}
