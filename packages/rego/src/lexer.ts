/**
 * Rego tokenizer. Keywords are emitted as identifiers: the parser gives them meaning by
 * position, which is how `input.if` or `as.foo := 1` (OPA's keywordrefs cases) stay refs.
 */
import { RegoError } from './errors.ts';

export type TokenKind =
  | 'ident'
  | 'number'
  | 'string' // "..." with escapes decoded
  | 'rawstring' // `...`
  | 'template' // $"..." or $`...`: value holds the raw body, parsed by the parser
  | 'op' // punctuation and operators
  | 'eof';

export interface Token {
  readonly kind: TokenKind;
  readonly value: string;
  /** Source text of the token (for error messages). */
  readonly text: string;
  readonly row: number;
  readonly col: number;
  readonly offset: number;
  readonly end: number;
  /** A newline occurs between the previous token and this one. */
  readonly nl: boolean;
  /** Whitespace or a comment occurs between the previous token and this one. */
  readonly ws: boolean;
  /** For templates: true when raw (backquoted). */
  readonly raw?: boolean;
}

const OPS2 = new Set([':=', '==', '!=', '<=', '>=']);
const OPS1 = new Set(['{', '}', '[', ']', '(', ')', '.', ',', ';', ':', '=', '<', '>', '+', '-', '*', '/', '%', '&', '|', '!']);

export const MAX_SOURCE_LENGTH = 4 * 1024 * 1024;

function isIdentStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}
function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57);
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** A `#` comment: its row and its text after the `#`. */
export interface Comment {
  readonly row: number;
  readonly text: string;
}

export function tokenize(src: string, file: string, comments?: Comment[]): Token[] {
  if (src.length > MAX_SOURCE_LENGTH) throw new RegoError('rego_parse_error', 'source too large', { row: 1, col: 1, file });
  const out: Token[] = [];
  let i = 0;
  let row = 1;
  let lineStart = 0;
  const n = src.length;
  const fail = (msg: string, at: number, r = row, ls = lineStart): never => {
    throw new RegoError('rego_parse_error', msg, { row: r, col: at - ls + 1, file });
  };
  // token start state, read by push() (kept outside the loop: no closure per token)
  let start = 0;
  let col = 0;
  let startRow = 0;
  let nl = false;
  let ws = false;
  const push = (kind: TokenKind, value: string, extra?: { raw: boolean }): void => {
    const tok: Token = { kind, value, text: src.slice(start, i), row: startRow, col, offset: start, end: i, nl, ws, ...(extra ?? {}) };
    out.push(tok);
  };
  while (true) {
    nl = false;
    ws = false;
    // skip whitespace and comments
    while (i < n) {
      const c = src.charCodeAt(i);
      if (c === 10) {
        nl = true;
        ws = true;
        i++;
        row++;
        lineStart = i;
      } else if (c === 32 || c === 9 || c === 13) {
        ws = true;
        i++;
      } else if (c === 35) {
        ws = true;
        const from = i + 1;
        while (i < n && src.charCodeAt(i) !== 10) i++;
        comments?.push({ row, text: src.slice(from, i).replace(/\r$/, '') });
      } else break;
    }
    start = i;
    col = i - lineStart + 1;
    startRow = row;
    if (i >= n) {
      push('eof', '');
      return out;
    }
    const c = src.charCodeAt(i);
    if (isIdentStart(c)) {
      while (i < n && isIdentPart(src.charCodeAt(i))) i++;
      push('ident', src.slice(start, i));
      continue;
    }
    if (isDigit(c)) {
      while (i < n && isDigit(src.charCodeAt(i))) i++;
      if (src.charCodeAt(i) === 46 && isDigit(src.charCodeAt(i + 1))) {
        i++;
        while (i < n && isDigit(src.charCodeAt(i))) i++;
      }
      const e = src.charCodeAt(i);
      if (e === 101 || e === 69) {
        let j = i + 1;
        const s = src.charCodeAt(j);
        if (s === 43 || s === 45) j++;
        if (isDigit(src.charCodeAt(j))) {
          i = j;
          while (i < n && isDigit(src.charCodeAt(i))) i++;
        }
      }
      if (i < n && src.charCodeAt(i) === 46 && isDigit(src.charCodeAt(i - 1))) fail('invalid number', start, startRow);
      push('number', src.slice(start, i));
      continue;
    }
    if (c === 34) {
      i++;
      const value = readQuoted(src, i, (msg) => fail(msg, start), false);
      i = value.end;
      push('string', value.text);
      continue;
    }
    if (c === 96) {
      i++;
      const close = src.indexOf('`', i);
      if (close < 0) fail('non-terminated raw string', start);
      const body = src.slice(i, close);
      for (let k = 0; k < body.length; k++) {
        if (body.charCodeAt(k) === 10) {
          row++;
          lineStart = i + k + 1;
        }
      }
      i = close + 1;
      push('rawstring', body);
      continue;
    }
    if (c === 36 && (src.charCodeAt(i + 1) === 34 || src.charCodeAt(i + 1) === 96)) {
      const rawT = src.charCodeAt(i + 1) === 96;
      i += 2;
      const bodyStart = i;
      // find the end, skipping nested {...} expressions (which may contain strings)
      let depth = 0;
      while (true) {
        if (i >= n) fail('non-terminated template string', start);
        const d = src.charCodeAt(i);
        if (d === 92 && (!rawT || src.charCodeAt(i + 1) === 123)) {
          i += 2;
          continue;
        }
        if (depth === 0 && ((rawT && d === 96) || (!rawT && d === 34))) break;
        if (depth > 0 && d === 34) {
          i = readQuoted(src, i + 1, (msg, at) => fail(msg, at), false).end;
          continue;
        }
        if (depth > 0 && d === 96) {
          const close = src.indexOf('`', i + 1);
          if (close < 0) fail('non-terminated raw string', i);
          i = close + 1;
          continue;
        }
        if (d === 10) {
          if (!rawT && depth === 0) fail('non-terminated template string', start);
          row++;
          lineStart = i + 1;
        }
        if (d === 123) depth++;
        else if (d === 125 && depth > 0) depth--;
        i++;
      }
      const body = src.slice(bodyStart, i);
      i++;
      push('template', body, { raw: rawT });
      continue;
    }
    const two = src.slice(i, i + 2);
    if (OPS2.has(two)) {
      i += 2;
      push('op', two);
      continue;
    }
    const one = src[i] as string;
    if (OPS1.has(one)) {
      i++;
      push('op', one);
      continue;
    }
    fail(`illegal token`, start);
  }
}

/** Reads a JSON-style quoted string body starting after the opening quote. */
export function readQuoted(src: string, i: number, fail: (msg: string, at: number) => never, _template: boolean): { text: string; end: number } {
  const n = src.length;
  let out = '';
  let segStart = i;
  while (true) {
    if (i >= n) fail('non-terminated string', i);
    const c = src.charCodeAt(i);
    if (c === 34) {
      out += src.slice(segStart, i);
      return { text: out, end: i + 1 };
    }
    if (c === 10) fail('non-terminated string', i);
    if (c === 92) {
      out += src.slice(segStart, i);
      const e = src[i + 1];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const hex = src.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('illegal escape sequence', i);
          out += String.fromCharCode(parseInt(hex, 16));
          i += 4;
          break;
        }
        default:
          fail('illegal escape sequence', i);
      }
      i += 2;
      segStart = i;
      continue;
    }
    i++;
  }
}
