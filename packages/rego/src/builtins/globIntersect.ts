/**
 * regex.globs_match: whether two glob-like expressions (literals, escapes, `.`, character
 * classes, and the quantifiers `*`, `+`, `?`) can match a common string. Decided on the
 * product of their position automata, so the work is bounded by |a| × |b| states.
 */
import { errorClassWithCode } from '@trustee/errors';

export class GlobSyntaxError extends errorClassWithCode('invalid_glob') {}

type Ranges = Array<[number, number]>;
interface Token { set: Ranges; quantifier: '' | '*' | '+' | '?' }

const MAX_CODE_POINT = 0x10ffff;

function complement(ranges: Ranges): Ranges {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Ranges = [];
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

function intersects(a: Ranges, b: Ranges): boolean {
  return a.some(([alo, ahi]) => b.some(([blo, bhi]) => alo <= bhi && blo <= ahi));
}

function invalid(input: string, pos: number, what: string): GlobSyntaxError {
  return new GlobSyntaxError(`input:${input}, pos:${pos}, ${what}: the input provided is invalid`);
}

function parse(input: string): Token[] {
  const chars = Array.from(input);
  const tokens: Token[] = [];
  let i = 0;
  while (i < chars.length) {
    const c = chars[i] as string;
    let set: Ranges;
    if (c === '\\') {
      const next = chars[i + 1];
      if (next === undefined) throw invalid(input, i + 1, "trailing '\\'");
      const cp = next.codePointAt(0) ?? 0;
      set = [[cp, cp]];
      i += 2;
    } else if (c === '.') {
      set = [[0, MAX_CODE_POINT]];
      i++;
    } else if (c === '[') {
      let j = i + 1;
      let negate = false;
      if (chars[j] === '^') {
        negate = true;
        j++;
      }
      const ranges: Ranges = [];
      let closed = false;
      while (j < chars.length) {
        let d = chars[j] as string;
        if (d === ']') {
          closed = true;
          j++;
          break;
        }
        if (d === '\\') {
          j++;
          d = chars[j] ?? '';
        }
        const lo = d.codePointAt(0) ?? 0;
        if (chars[j + 1] === '-' && chars[j + 2] !== undefined && chars[j + 2] !== ']') {
          const hi = (chars[j + 2] as string).codePointAt(0) ?? 0;
          if (hi < lo) throw invalid(input, j + 2, 'invalid range');
          ranges.push([lo, hi]);
          j += 3;
        } else {
          ranges.push([lo, lo]);
          j++;
        }
      }
      if (!closed) throw invalid(input, chars.length, "set-open '[' with no closing ']'");
      set = negate ? complement(ranges) : ranges;
      i = j;
    } else if (c === ']') {
      throw invalid(input, i + 1, "set-close ']' with no preceding '['");
    } else if (c === '*' || c === '+' || c === '?') {
      throw invalid(input, i + 1, `quantifier '${c}' with nothing to repeat`);
    } else {
      const cp = c.codePointAt(0) ?? 0;
      set = [[cp, cp]];
      i++;
    }
    let quantifier: Token['quantifier'] = '';
    const q = chars[i];
    if (q === '*' || q === '+' || q === '?') {
      quantifier = q;
      i++;
    }
    tokens.push({ set, quantifier });
  }
  return tokens;
}

function closure(tokens: readonly Token[], start: number): number[] {
  const out = [start];
  let i = start;
  while (i < tokens.length) {
    const q = (tokens[i] as Token).quantifier;
    if (q !== '*' && q !== '?') break;
    i++;
    out.push(i);
  }
  return out;
}

function advance(tokens: readonly Token[], i: number): number[] {
  const q = (tokens[i] as Token).quantifier;
  return q === '*' || q === '+' ? [i, i + 1] : [i + 1];
}

/** Whether some string matches both glob expressions. */
export function globsIntersect(a: string, b: string): boolean {
  const ta = parse(a);
  const tb = parse(b);
  const seen = new Set<string>();
  const queue: Array<[number, number]> = [[0, 0]];
  while (queue.length > 0) {
    const [i, j] = queue.pop() as [number, number];
    const key = `${i},${j}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const ci = closure(ta, i);
    const cj = closure(tb, j);
    if (ci.includes(ta.length) && cj.includes(tb.length)) return true;
    for (const x of ci) {
      if (x >= ta.length) continue;
      for (const y of cj) {
        if (y >= tb.length) continue;
        if (!intersects((ta[x] as Token).set, (tb[y] as Token).set)) continue;
        for (const nx of advance(ta, x)) for (const ny of advance(tb, y)) queue.push([nx, ny]);
      }
    }
  }
  return false;
}
