/**
 * Regular expressions with Go's regexp semantics on re2js, a JavaScript port of RE2 (the engine
 * behind Go's regexp, which OPA uses). Matching is linear in the subject for a given program, so
 * no pattern can backtrack catastrophically; what a match costs is charged to the evaluation up
 * front (subject length × program size), so a huge subject or program ends the evaluation with
 * `eval_budget_exceeded` instead of blocking the thread.
 */
import { RE2JS, RE2JSException } from 're2js';
import { errorClassWithCode } from '@trustee/errors';

/** Go's syntax error text, e.g. "error parsing regexp: missing closing ): `(a`". */
export class Re2SyntaxError extends errorClassWithCode('invalid_regex') {}

type Engine = ReturnType<RE2JS['re2']>;

export interface CompiledRegex {
  /** Subexpression count (capturing groups). */
  readonly groupCount: number;
  /** Named groups: name → index. */
  readonly namedGroups: ReadonlyMap<string, number>;
  /** Instructions in the compiled program (the per-character cost factor of a match). */
  readonly programSize: number;
  readonly engine: Engine;
}

/** [start, end, g1start, g1end, ...] in UTF-16 offsets; -1 for unmatched groups. */
export type MatchIndices = number[];

/** Longest pattern compiled at all (Go has none; this bounds parse time and memory). */
export const MAX_PATTERN_LENGTH = 64 * 1024;

/** Compiles an RE2 pattern with Go's regexp.Compile flags (Perl syntax, Unicode classes). */
export function compileRe2(pattern: string): CompiledRegex {
  if (pattern.length > MAX_PATTERN_LENGTH) throw new Re2SyntaxError(`error parsing regexp: expression too large: \`${pattern.slice(0, 32)}\``);
  let engine: Engine;
  try {
    engine = RE2JS.compile(pattern).re2();
  } catch (error) {
    if (error instanceof RE2JSException) throw new Re2SyntaxError(error.message);
    // A pattern too complex for the parser's recursion: still a syntax-class refusal.
    if (error instanceof RangeError) throw new Re2SyntaxError(`error parsing regexp: expression too large: \`${pattern.slice(0, 32)}\``);
    throw error;
  }
  const namedGroups = new Map<string, number>(Object.entries(engine.namedGroups));
  return { groupCount: engine.numberOfCapturingGroups(), namedGroups, programSize: engine.numberOfInstructions() as number, engine };
}

// Work units (about 10 ns each, see workMeter.ts) charged before a search, for the slowest path
// re2js may take. Measured on re2js: a match-only search (lazy DFA, NFA fallback) costs up to
// ~5 ns per character per instruction; a search with submatches (NFA or bit-state backtracker)
// ~150 ns per character per instruction, plus per match a backtracker bitmap of up to 256 Kbit.

/** Work units of one match-only search over `subject`. */
export function matchCost(re: CompiledRegex, subject: string): number {
  return (subject.length + 1) * Math.ceil(re.programSize / 2);
}

/** Work units of a FindAll with submatches over `subject`, at most `limit` matches (-1: all). */
export function findAllCost(re: CompiledRegex, subject: string, limit: number): number {
  const positions = subject.length + 1;
  const matchesAtMost = limit < 0 ? positions : Math.min(limit, positions);
  const perMatch = Math.min(positions * re.programSize, 262_144) / 320 + 100;
  return positions * re.programSize * 15 + matchesAtMost * perMatch;
}

/** Go's FindAllStringSubmatchIndex: at most `limit` matches (-1 = all), with group offsets. */
export function findAllIndices(re: CompiledRegex, subject: string, limit: number): MatchIndices[] {
  const found = re.engine.findAllSubmatchIndex(subject, limit) as MatchIndices[] | null;
  return found ?? [];
}

/** Whether the expression matches anywhere in the subject (Go's MatchString). */
export function matches(re: CompiledRegex, subject: string): boolean {
  return re.engine.match(subject) as boolean;
}

/** Go's regexp.QuoteMeta. */
export function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}
