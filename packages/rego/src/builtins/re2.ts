/**
 * RE2 (Go regexp/syntax) → JavaScript RegExp translation. The translated expression has the
 * same meaning or the pattern is rejected with Go's error text: lookarounds and backreferences
 * (not RE2) are errors, RE2-only constructs (\A, \z, \Q..\E, POSIX classes, (?P<n>), inline flag
 * groups, ASCII-only \s) are rewritten. `risky` marks patterns whose backtracking could explode
 * (nested or alternated quantified groups); callers run those under a time limit.
 */

export class Re2SyntaxError extends Error {
  constructor(code: string, expr: string) {
    super(`error parsing regexp: ${code}: \`${expr}\``);
  }
}

export interface TranslatedRegex {
  readonly source: string;
  readonly flags: string;
  readonly groupCount: number;
  readonly groupNames: ReadonlyArray<string | undefined>;
  readonly risky: boolean;
}

const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z', alpha: 'A-Za-z', ascii: '\\x00-\\x7f', blank: '\\t ', cntrl: '\\x00-\\x1f\\x7f',
  digit: '0-9', graph: '!-~', lower: 'a-z', print: ' -~', punct: '!-\\/:-@\\[-`{-~', space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z', word: '0-9A-Za-z_', xdigit: '0-9A-Fa-f',
};

const PERL_CLASSES: Readonly<Record<string, string>> = {
  d: '0-9', D: '^0-9', s: '\\t\\n\\f\\r ', S: '^\\t\\n\\f\\r ', w: '0-9A-Za-z_', W: '^0-9A-Za-z_',
};

const MAX_REPEAT = 1000;
const MAX_PATTERN_LENGTH = 64 * 1024;

interface Flags { i: boolean; m: boolean; s: boolean; U: boolean }

/** A code point as JS regex source; `-` needs escaping only inside a class (u-mode rejects `\-` outside). */
function escapeLiteral(cp: number, inClass = true): string {
  const ch = String.fromCodePoint(cp);
  if (ch === '-' && !inClass) return ch;
  if (/[\\^$.*+?()[\]{}|/-]/.test(ch)) return `\\${ch}`;
  if (cp < 0x20 || cp === 0x7f) return `\\x${cp.toString(16).padStart(2, '0')}`;
  return ch;
}

function caseVariants(cp: number): number[] {
  const ch = String.fromCodePoint(cp);
  const out = new Set<number>([cp]);
  for (const variant of [ch.toLowerCase(), ch.toUpperCase()]) {
    const points = Array.from(variant);
    if (points.length === 1) out.add(points[0]?.codePointAt(0) ?? cp);
  }
  return [...out];
}

/** Translates an RE2 pattern; throws Re2SyntaxError for invalid or unsupported syntax. */
export function translateRe2(pattern: string): TranslatedRegex {
  if (pattern.length > MAX_PATTERN_LENGTH) throw new Re2SyntaxError('expression too large', pattern.slice(0, 32));
  const chars = Array.from(pattern);
  let pos = 0;
  const globalFlags: Flags = { i: false, m: false, s: false, U: false };
  const groupNames: Array<string | undefined> = [];
  let risky = false;

  // Leading (?flags) apply to the whole pattern: map them to JS flags.
  const leading = /^\(\?([imsU]+)\)/.exec(pattern);
  if (leading !== null) {
    for (const f of leading[1] as string) globalFlags[f as keyof Flags] = true;
    pos = Array.from(leading[0]).length;
  }

  const peek = (offset = 0): string | undefined => chars[pos + offset];
  const rest = (): string => chars.slice(pos).join('');

  /** Parses an escape after '\\' (pos at the char after the backslash); returns a class body or literal source. */
  const parseEscape = (inClass: boolean, flags: Flags): { classBody?: string; literal?: number; source?: string } => {
    const c = chars[pos];
    if (c === undefined) throw new Re2SyntaxError('trailing backslash at end of expression', '');
    pos++;
    switch (c) {
      case 'a': return { literal: 7 };
      case 'f': return { literal: 12 };
      case 't': return { literal: 9 };
      case 'n': return { literal: 10 };
      case 'r': return { literal: 13 };
      case 'v': return { literal: 11 };
      case 'x': {
        if (chars[pos] === '{') {
          const close = chars.indexOf('}', pos);
          const hex = close < 0 ? '' : chars.slice(pos + 1, close).join('');
          if (!/^[0-9a-fA-F]{1,8}$/.test(hex) || Number.parseInt(hex, 16) > 0x10ffff) {
            throw new Re2SyntaxError('invalid escape sequence', `\\x${chars.slice(pos, close + 1).join('')}`);
          }
          pos = close + 1;
          return { literal: Number.parseInt(hex, 16) };
        }
        const hex = chars.slice(pos, pos + 2).join('');
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new Re2SyntaxError('invalid escape sequence', `\\x${hex}`);
        pos += 2;
        return { literal: Number.parseInt(hex, 16) };
      }
      case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
        let digits = c;
        while (digits.length < 3 && /[0-7]/.test(chars[pos] ?? '')) digits += chars[pos++];
        if (c !== '0' && digits.length === 1) throw new Re2SyntaxError('invalid escape sequence', `\\${c}`);
        return { literal: Number.parseInt(digits, 8) };
      }
      case '8': case '9': throw new Re2SyntaxError('invalid escape sequence', `\\${c}`);
      case 'd': case 'D': case 's': case 'S': case 'w': case 'W': {
        const body = PERL_CLASSES[c] as string;
        if (inClass) {
          if (body.startsWith('^')) return { classBody: c === 'D' ? '\\D' : c === 'W' ? '\\W' : '\\x00-\\x08\\x0b\\x0e-\\x1f\\x21-\\u{10ffff}' };
          return { classBody: body };
        }
        return { source: `[${body}]` };
      }
      case 'p': case 'P': {
        let name: string;
        if (chars[pos] === '{') {
          const close = chars.indexOf('}', pos);
          if (close < 0) throw new Re2SyntaxError('invalid character class range', `\\${c}${rest()}`);
          name = chars.slice(pos + 1, close).join('');
          pos = close + 1;
        } else {
          name = chars[pos] ?? '';
          pos++;
        }
        let negate = c === 'P';
        if (name.startsWith('^')) {
          negate = !negate;
          name = name.slice(1);
        }
        // RE2 accepts general categories (L, Lu) and script names (Greek); JS spells scripts Script=.
        let jsName: string | undefined;
        if (name !== 'Any') {
          jsName = [name, `Script=${name}`].find((candidate) => {
            try {
              new RegExp(`\\p{${candidate}}`, 'u');
              return true;
            } catch {
              return false;
            }
          });
          if (jsName === undefined) throw new Re2SyntaxError('invalid character class range', `\\${c}{${name}}`);
        }
        const body = jsName === undefined ? (negate ? '' : '\\u{0}-\\u{10ffff}') : `\\${negate ? 'P' : 'p'}{${jsName}}`;
        return inClass ? { classBody: body } : { source: body === '' ? '[]' : `[${body}]` };
      }
      case 'A':
        if (inClass) throw new Re2SyntaxError('invalid escape sequence', '\\A');
        return { source: '(?<![\\s\\S])' };
      case 'z':
        if (inClass) throw new Re2SyntaxError('invalid escape sequence', '\\z');
        return { source: '(?![\\s\\S])' };
      case 'b': case 'B':
        if (inClass) throw new Re2SyntaxError('invalid escape sequence', `\\${c}`);
        return { source: `\\${c}` };
      case 'Q': {
        const end = chars.indexOf('\\', pos);
        let stop = pos;
        while (stop < chars.length && !(chars[stop] === '\\' && chars[stop + 1] === 'E')) stop++;
        const literal = chars.slice(pos, stop);
        pos = stop < chars.length ? stop + 2 : stop;
        void end;
        return { source: literal.map((ch) => literalSource(ch.codePointAt(0) ?? 0, flags)).join('') };
      }
      default: {
        const cp = c.codePointAt(0) ?? 0;
        if (cp < 0x80 && /[^A-Za-z0-9]/.test(c)) return { literal: cp };
        throw new Re2SyntaxError('invalid escape sequence', `\\${c}`);
      }
    }
  };

  const literalSource = (cp: number, flags: Flags): string => {
    if (flags.i && !globalFlags.i) {
      const variants = caseVariants(cp);
      if (variants.length > 1) return `[${variants.map((v) => escapeLiteral(v)).join('')}]`;
    }
    return escapeLiteral(cp, false);
  };

  const parseClass = (flags: Flags): string => {
    // pos is just after '['
    let negated = false;
    if (chars[pos] === '^') {
      negated = true;
      pos++;
    }
    const parts: string[] = [];
    let first = true;
    const classLiteral = (): number | { body: string } => {
      const c = chars[pos];
      if (c === undefined) throw new Re2SyntaxError('missing closing ]', `[${rest()}`);
      if (c === '[' && chars[pos + 1] === ':') {
        const close = chars.indexOf(']', pos);
        const text = chars.slice(pos, close + 1).join('');
        const m = /^\[:(\^?)([a-z]+):\]$/.exec(text);
        if (m !== null) {
          const body = POSIX_CLASSES[m[2] as string];
          if (body === undefined) throw new Re2SyntaxError('invalid character class range', text);
          pos = close + 1;
          if (m[1] === '^') return { body: negatePosix(body) };
          return { body };
        }
      }
      if (c === '\\') {
        pos++;
        const e = parseEscape(true, flags);
        if (e.classBody !== undefined) return { body: e.classBody };
        return e.literal ?? 0;
      }
      pos++;
      return c.codePointAt(0) ?? 0;
    };
    for (;;) {
      const c = chars[pos];
      if (c === undefined) throw new Re2SyntaxError('missing closing ]', `[${negated ? '^' : ''}`);
      if (c === ']' && !first) {
        pos++;
        break;
      }
      first = false;
      const lo = classLiteral();
      if (typeof lo !== 'number') {
        parts.push(lo.body);
        continue;
      }
      if (chars[pos] === '-' && chars[pos + 1] !== ']' && chars[pos + 1] !== undefined) {
        pos++;
        const hi = classLiteral();
        if (typeof hi !== 'number' || hi < lo) {
          throw new Re2SyntaxError('invalid character class range', `${String.fromCodePoint(lo)}-${typeof hi === 'number' ? String.fromCodePoint(hi) : ''}`);
        }
        parts.push(`${escapeLiteral(lo)}-${escapeLiteral(hi)}`);
        if (flags.i && !globalFlags.i) parts.push(...caseRange(lo, hi));
        continue;
      }
      parts.push(escapeLiteral(lo));
      if (flags.i && !globalFlags.i) parts.push(...caseVariants(lo).filter((x) => x !== lo).map((x) => escapeLiteral(x)));
    }
    return `[${negated ? '^' : ''}${parts.join('')}]`;
  };

  /** Parses an alternation until ')' or end; returns [source, containsQuantifierOrAlternation]. */
  const parseAlternation = (flags: Flags, depth: number): { source: string; complex: boolean } => {
    if (depth > 200) throw new Re2SyntaxError('expression nests too deeply', pattern.slice(0, 32));
    const branches: string[] = [];
    let complex = false;
    let current = '';
    let lastAtomStart = -1;
    let lastAtomComplex = false;
    let lastWasQuantifiable = false;
    for (;;) {
      const c = peek();
      if (c === undefined || c === ')') break;
      if (c === '|') {
        pos++;
        branches.push(current);
        current = '';
        lastWasQuantifiable = false;
        complex = true;
        continue;
      }
      if (c === '*' || c === '+' || c === '?' || (c === '{' && /^\{\d+(,\d*)?\}/.test(rest()))) {
        if (!lastWasQuantifiable) {
          const op = c === '{' ? (/^\{\d+(,\d*)?\}/.exec(rest())?.[0] ?? c) : c;
          throw new Re2SyntaxError('missing argument to repetition operator', op);
        }
        let op: string;
        let unbounded: boolean;
        if (c === '{') {
          const m = /^\{(\d+)(,(\d*))?\}/.exec(rest()) as RegExpExecArray;
          const min = Number(m[1]);
          const max = m[3] === undefined || m[3] === '' ? (m[2] === undefined ? min : Infinity) : Number(m[3]);
          if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT) || max < min) {
            throw new Re2SyntaxError('invalid repeat count', m[0]);
          }
          op = m[0];
          unbounded = max === Infinity || max > 1;
          pos += Array.from(m[0]).length;
        } else {
          op = c;
          unbounded = c !== '?';
          pos++;
        }
        let lazy = false;
        if (peek() === '?') {
          lazy = true;
          pos++;
        }
        if (flags.U) lazy = !lazy;
        const next = peek();
        if (next === '*' || next === '+' || next === '?') {
          throw new Re2SyntaxError('invalid nested repetition operator', `${op}${next}`);
        }
        if (unbounded && lastAtomComplex) risky = true;
        const atom = current.slice(lastAtomStart);
        current = `${current.slice(0, lastAtomStart)}(?:${atom})${op}${lazy ? '?' : ''}`;
        complex = true;
        lastWasQuantifiable = false;
        continue;
      }
      lastAtomStart = current.length;
      lastAtomComplex = false;
      lastWasQuantifiable = true;
      pos++;
      switch (c) {
        case '(': {
          if (peek() === '?') {
            const text = rest();
            const named = /^\?P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(text);
            if (named !== null) {
              pos += Array.from(named[0]).length;
              const name = named[1] as string;
              if (groupNames.includes(name)) throw new Re2SyntaxError('duplicate capture group name', name);
              groupNames.push(name);
              const inner = parseAlternation(flags, depth + 1);
              expectClose();
              current += `(?<${name}>${inner.source})`;
              lastAtomComplex = inner.complex;
              break;
            }
            const flagGroup = /^\?([imsU]*)(?:-([imsU]*))?(:|\))/.exec(text);
            if (flagGroup !== null && (flagGroup[1] !== '' || (flagGroup[2] ?? '') !== '')) {
              pos += Array.from(flagGroup[0]).length;
              const next: Flags = { ...flags };
              for (const f of flagGroup[1] ?? '') next[f as keyof Flags] = true;
              for (const f of flagGroup[2] ?? '') next[f as keyof Flags] = false;
              if (flagGroup[3] === ')') {
                // (?i) in the middle: applies to the rest of the current group.
                Object.assign(flags, next);
                lastWasQuantifiable = false;
                break;
              }
              const inner = parseAlternation(next, depth + 1);
              expectClose();
              current += `(?:${inner.source})`;
              lastAtomComplex = inner.complex;
              break;
            }
            if (text.startsWith('?:')) {
              pos += 2;
              const inner = parseAlternation(flags, depth + 1);
              expectClose();
              current += `(?:${inner.source})`;
              lastAtomComplex = inner.complex;
              break;
            }
            const shown = text.startsWith('?<') || text.startsWith('?P') ? `(${text.slice(0, Math.min(text.length, 3))}` : `(${text.slice(0, 2)}`;
            throw new Re2SyntaxError('invalid or unsupported Perl syntax', shown);
          }
          groupNames.push(undefined);
          const inner = parseAlternation(flags, depth + 1);
          expectClose();
          current += `(${inner.source})`;
          lastAtomComplex = inner.complex;
          break;
        }
        case '[':
          current += parseClass(flags);
          break;
        case '.':
          current += flags.s ? '[\\s\\S]' : '[^\\n]';
          break;
        case '^':
          current += flags.m ? '(?<=^|\\n)' : '^';
          lastWasQuantifiable = true;
          break;
        case '$':
          current += flags.m ? '(?=$|\\n)' : '$';
          lastWasQuantifiable = true;
          break;
        case '\\': {
          const e = parseEscape(false, flags);
          if (e.source !== undefined) current += e.source;
          else current += literalSource(e.literal ?? 0, flags);
          break;
        }
        default:
          current += literalSource(c.codePointAt(0) ?? 0, flags);
      }
    }
    branches.push(current);
    return { source: branches.join('|'), complex };
  };

  const expectClose = (): void => {
    if (peek() !== ')') throw new Re2SyntaxError('missing closing )', pattern);
    pos++;
  };

  const body = parseAlternation({ ...globalFlags }, 0);
  if (pos < chars.length) throw new Re2SyntaxError('unexpected )', pattern);
  let flags = 'u';
  if (globalFlags.i) flags += 'i';
  const source = body.source;
  try {
    new RegExp(source, flags);
  } catch (error) {
    throw new Re2SyntaxError('invalid or unsupported syntax', `${pattern} (${error instanceof Error ? error.message : ''})`);
  }
  return { source, flags, groupCount: groupNames.length, groupNames, risky };
}

function negatePosix(body: string): string {
  // Complement of an ASCII set expressed as ranges.
  const included = new Set<number>();
  const re = new RegExp(`[${body}]`, 'u');
  for (let c = 0; c < 128; c++) if (re.test(String.fromCharCode(c))) included.add(c);
  const parts: string[] = [];
  let start = -1;
  for (let c = 0; c <= 128; c++) {
    const inComplement = c < 128 && !included.has(c);
    if (inComplement && start < 0) start = c;
    if (!inComplement && start >= 0) {
      parts.push(`${escapeLiteral(start)}-${escapeLiteral(c - 1)}`);
      start = -1;
    }
  }
  parts.push('\\x80-\\u{10ffff}');
  return parts.join('');
}

function caseRange(lo: number, hi: number): string[] {
  if (hi - lo > 512) return [];
  const out: string[] = [];
  for (let c = lo; c <= hi; c++) for (const v of caseVariants(c)) if (v < lo || v > hi) out.push(escapeLiteral(v));
  return out;
}
