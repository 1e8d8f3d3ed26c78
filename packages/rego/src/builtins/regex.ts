/**
 * regex.* and glob.* builtins: RE2 (re2js, see re2.ts) with Go's FindAll / ReplaceAll / Split
 * semantics, gobwas-style globs with delimiters compiled to RE2, OPA's template matching.
 */
import { builtinError, limitError, operandError, operandErrorText, type BuiltinContext, type BuiltinDefinition } from '../builtinContract.ts';
import type { Value } from '../value.ts';
import { MAX_GENERATED_STRING_LENGTH, integerArg, stringArg } from './args.ts';
import { GlobSyntaxError, globsIntersect } from './globIntersect.ts';
import { Re2SyntaxError, compileRe2, findAllCost, findAllIndices, matchCost, matches, type CompiledRegex, type MatchIndices } from './re2.ts';

const cache = new Map<string, CompiledRegex>();

function compile(fn: string, ctx: BuiltinContext, pattern: string): CompiledRegex {
  const cached = cache.get(pattern);
  if (cached !== undefined) return cached;
  ctx.charge(pattern.length + 1);
  let re: CompiledRegex;
  try {
    re = compileRe2(pattern);
  } catch (error) {
    if (error instanceof Re2SyntaxError) throw builtinError(fn, error.message);
    throw error;
  }
  if (cache.size >= 1000) cache.clear();
  cache.set(pattern, re);
  return re;
}

/** A match-only search, charged before it runs (linear in subject × program size). */
function matchCharged(ctx: BuiltinContext, re: CompiledRegex, subject: string): boolean {
  ctx.charge(matchCost(re, subject));
  return matches(re, subject);
}

/** Go's FindAllStringSubmatchIndex, charged before it runs. */
function findAllCharged(ctx: BuiltinContext, re: CompiledRegex, subject: string, limit: number): MatchIndices[] {
  ctx.charge(findAllCost(re, subject, limit));
  return findAllIndices(re, subject, limit);
}

/** Go's Regexp.Expand template substitution ($1, $name, ${name}, $$). */
function expand(template: string, subject: string, m: MatchIndices, names: ReadonlyMap<string, number>): string {
  let out = '';
  for (let i = 0; i < template.length; ) {
    const c = template[i] as string;
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const next = template[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    let name: string;
    let consumed: number;
    if (next === '{') {
      const close = template.indexOf('}', i + 2);
      const inner = close < 0 ? '' : template.slice(i + 2, close);
      if (close < 0 || !/^[A-Za-z0-9_]+$/.test(inner)) {
        out += '$';
        i++;
        continue;
      }
      name = inner;
      consumed = close + 1 - i;
    } else {
      const match = /^[A-Za-z0-9_]+/.exec(template.slice(i + 1));
      if (match === null) {
        out += '$';
        i++;
        continue;
      }
      name = match[0];
      consumed = 1 + name.length;
    }
    i += consumed;
    let group = -1;
    if (/^[0-9]+$/.test(name)) group = Number(name);
    else group = names.get(name) ?? -1;
    if (group >= 0 && 2 * group + 1 < m.length) {
      const start = m[2 * group] as number;
      const end = m[2 * group + 1] as number;
      if (start >= 0) out += subject.slice(start, end);
    }
  }
  return out;
}

function replaceAll(fn: string, ctx: BuiltinContext, subject: string, pattern: string, replacement: string): string {
  const re = compile(fn, ctx, pattern);
  let out = '';
  let last = 0;
  for (const m of findAllCharged(ctx, re, subject, -1)) {
    const piece = subject.slice(last, m[0]) + expand(replacement, subject, m, re.namedGroups);
    // The result grows by each expansion: charged, and bounded, as it is built.
    if (out.length + piece.length > MAX_GENERATED_STRING_LENGTH) throw limitError(fn, 'result string too large');
    ctx.charge(piece.length);
    out += piece;
    last = m[1] as number;
  }
  return out + subject.slice(last);
}

function split(fn: string, ctx: BuiltinContext, pattern: string, subject: string): string[] {
  const re = compile(fn, ctx, pattern);
  if (subject === '') return [''];
  const out: string[] = [];
  let begin = 0;
  let end = 0;
  for (const m of findAllCharged(ctx, re, subject, -1)) {
    end = m[0] as number;
    if ((m[1] as number) !== 0) out.push(subject.slice(begin, end));
    begin = m[1] as number;
  }
  if (end !== subject.length) out.push(subject.slice(begin));
  return out;
}

/** OPA's regex.template_match: literal text outside delimiters, RE2 inside, anchored. */
function templateMatch(fn: string, ctx: BuiltinContext, args: readonly Value[]): boolean {
  const template = stringArg(fn, args[0] as Value, 1);
  const subject = stringArg(fn, args[1] as Value, 2);
  const open = stringArg(fn, args[2] as Value, 3);
  const close = stringArg(fn, args[3] as Value, 4);
  if (Array.from(open).length !== 1 || Array.from(close).length !== 1) {
    throw builtinError(fn, 'delimiters must be single characters');
  }
  let source = '^';
  let level = 0;
  let start = 0;
  const chars = Array.from(template);
  const quote = (s: string): string => s.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
  let literal = '';
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === open) {
      level++;
      if (level === 1) {
        source += quote(literal);
        literal = '';
        start = i + 1;
      }
      continue;
    }
    if (c === close && level > 0) {
      level--;
      if (level === 0) {
        const inner = chars.slice(start, i).join('');
        source += `(${inner})`;
        continue;
      }
      continue;
    }
    if (level === 0) literal += c;
  }
  if (level !== 0) throw builtinError(fn, `unbalanced braces in ${JSON.stringify(template)}`);
  source += `${quote(literal)}$`;
  const re = compile(fn, ctx, source);
  return matchCharged(ctx, re, subject);
}

// ---------------------------------------------------------------------------------------------
// Globs (gobwas/glob semantics)

function escapeClassChar(c: string): string {
  return /[\\\]^-]/.test(c) ? `\\${c}` : c;
}

/** Translates a gobwas glob to an anchored RE2 pattern. */
export function globToRe2(pattern: string, delimiters: readonly string[]): string {
  const chars = Array.from(pattern);
  const notDelimiter = delimiters.length === 0 ? '[\\s\\S]' : `[^${delimiters.map(escapeClassChar).join('')}]`;
  let pos = 0;
  const parse = (inAlternative: boolean): string => {
    let out = '';
    while (pos < chars.length) {
      const c = chars[pos] as string;
      if (inAlternative && (c === ',' || c === '}')) return out;
      pos++;
      switch (c) {
        case '*':
          if (chars[pos] === '*') {
            while (chars[pos] === '*') pos++;
            out += '[\\s\\S]*';
          } else {
            out += `${notDelimiter}*`;
          }
          break;
        case '?':
          out += notDelimiter;
          break;
        case '\\': {
          const next = chars[pos];
          if (next === undefined) throw new Error('unexpected end of input');
          pos++;
          out += next.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
          break;
        }
        case '[': {
          let negate = false;
          if (chars[pos] === '!') {
            negate = true;
            pos++;
          }
          let body = '';
          let closed = false;
          while (pos < chars.length) {
            const d = chars[pos++] as string;
            if (d === ']') {
              closed = true;
              break;
            }
            if (chars[pos] === '-' && chars[pos + 1] !== undefined && chars[pos + 1] !== ']') {
              const hi = chars[pos + 1] as string;
              if (hi < d) throw new Error(`hi character '${hi}' should be greater than lo '${d}'`);
              body += `${escapeClassChar(d)}-${escapeClassChar(hi)}`;
              pos += 2;
            } else {
              body += escapeClassChar(d);
            }
          }
          if (!closed) throw new Error('unexpected end of input');
          if (body === '') throw new Error('unexpected end of input');
          out += `[${negate ? '^' : ''}${body}]`;
          break;
        }
        case '{': {
          const alternatives: string[] = [];
          for (;;) {
            alternatives.push(parse(true));
            const d = chars[pos];
            if (d === undefined) throw new Error('unexpected end of input');
            pos++;
            if (d === '}') break;
          }
          out += `(?:${alternatives.join('|')})`;
          break;
        }
        default:
          out += c.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
      }
    }
    if (inAlternative) throw new Error('unexpected end of input');
    return out;
  };
  return `^(?:${parse(false)})$`;
}

const globCache = new Map<string, CompiledRegex>();

function globMatch(fn: string, ctx: BuiltinContext, args: readonly Value[]): boolean {
  const pattern = stringArg(fn, args[0] as Value, 1);
  const delimiterArg = args[1] as Value;
  let delimiters: string[];
  if (delimiterArg === null) delimiters = [];
  else if (Array.isArray(delimiterArg)) {
    delimiters = delimiterArg.map((d) => {
      if (typeof d !== 'string') throw operandErrorText(fn, 2, `must be array of strings but got array containing ${d === null ? 'null' : typeof d}`);
      if (Array.from(d).length !== 1) throw operandErrorText(fn, 2, 'must be array of runes but got array containing string');
      return d;
    });
    if (delimiters.length === 0) delimiters = ['.'];
  } else {
    throw operandError(fn, 2, 'one of {array, null}', delimiterArg);
  }
  const subject = stringArg(fn, args[2] as Value, 3);
  const key = `${pattern}\u0000${delimiters.join('')}`;
  let re = globCache.get(key);
  if (re === undefined) {
    ctx.charge(pattern.length + 1);
    try {
      re = compileRe2(globToRe2(pattern, delimiters));
    } catch (error) {
      throw builtinError(fn, error instanceof Error ? error.message : String(error));
    }
    if (globCache.size >= 1000) globCache.clear();
    globCache.set(key, re);
  }
  const compiled = re;
  return matchCharged(ctx, compiled, subject);
}

/** gobwas QuoteMeta: escapes the glob metacharacters. */
function quoteMeta(s: string): string {
  return s.replace(/[*?\\[\]{}]/g, '\\$&');
}

function limitArg(fn: string, v: Value): number {
  const n = integerArg(fn, v, 3);
  if (n < 0n) return -1;
  return n > 1_000_000_000n ? 1_000_000_000 : Number(n);
}

export const regexBuiltins: BuiltinDefinition[] = [
  {
    name: 'regex.match', arity: 2,
    impl: ([p, s], ctx) => {
      const re = compile(ctx.name, ctx, stringArg(ctx.name, p as Value, 1));
      const subject = stringArg(ctx.name, s as Value, 2);
      return matchCharged(ctx, re, subject);
    },
  },
  {
    name: 're_match', arity: 2,
    impl: ([p, s], ctx) => {
      const re = compile(ctx.name, ctx, stringArg(ctx.name, p as Value, 1));
      const subject = stringArg(ctx.name, s as Value, 2);
      return matchCharged(ctx, re, subject);
    },
  },
  {
    name: 'regex.is_valid', arity: 1,
    impl: ([p]) => {
      if (typeof p !== 'string') return false;
      try {
        compileRe2(p);
        return true;
      } catch {
        return false;
      }
    },
  },
  {
    name: 'regex.find_n', arity: 3,
    impl: ([p, s, n], ctx) => {
      const re = compile(ctx.name, ctx, stringArg(ctx.name, p as Value, 1));
      const subject = stringArg(ctx.name, s as Value, 2);
      const limit = limitArg(ctx.name, n as Value);
      return findAllCharged(ctx, re, subject, limit).map((m) => subject.slice(m[0], m[1]));
    },
  },
  {
    name: 'regex.find_all_string_submatch_n', arity: 3,
    impl: ([p, s, n], ctx) => {
      const re = compile(ctx.name, ctx, stringArg(ctx.name, p as Value, 1));
      const subject = stringArg(ctx.name, s as Value, 2);
      const limit = limitArg(ctx.name, n as Value);
      return findAllCharged(ctx, re, subject, limit).map((m) => {
        const row: Value[] = [];
        for (let g = 0; g < m.length; g += 2) row.push((m[g] as number) < 0 ? '' : subject.slice(m[g], m[g + 1]));
        return row;
      });
    },
  },
  {
    name: 'regex.split', arity: 2,
    impl: ([p, s], ctx) => split(ctx.name, ctx, stringArg(ctx.name, p as Value, 1), stringArg(ctx.name, s as Value, 2)),
  },
  {
    name: 'regex.replace', arity: 3,
    impl: ([s, p, r], ctx) => replaceAll(
      ctx.name, ctx, stringArg(ctx.name, s as Value, 1), stringArg(ctx.name, p as Value, 2), stringArg(ctx.name, r as Value, 3),
    ),
  },
  { name: 'regex.template_match', arity: 4, impl: (args, ctx) => templateMatch(ctx.name, ctx, args) },
  {
    name: 'regex.globs_match', arity: 2,
    impl: ([a, b], ctx) => {
      const x = stringArg(ctx.name, a as Value, 1);
      const y = stringArg(ctx.name, b as Value, 2);
      ctx.charge(Array.from(x).length * Array.from(y).length + 1);
      try {
        return globsIntersect(x, y);
      } catch (error) {
        if (error instanceof GlobSyntaxError) throw builtinError(ctx.name, error.message);
        throw error;
      }
    },
  },
  { name: 'glob.match', arity: 3, impl: (args, ctx) => globMatch(ctx.name, ctx, args) },
  { name: 'glob.quote_meta', arity: 1, impl: ([s], ctx) => quoteMeta(stringArg(ctx.name, s as Value, 1)) },
];
