/**
 * Fail-closed evaluation: every budget, deadline, depth or size overrun aborts the WHOLE
 * evaluation with a RegoError, wherever it happens (under `not`, `every`, comprehensions,
 * functions, partial rules, `with`, `else`, defaults), so no overrun can become an undefined
 * expression that a negation turns into "allow". OPA's own non-strict builtin errors (type
 * errors and the like) stay undefined. The deadline holds within a small margin under hostile
 * policies (a bound asserted on hostile input, not a performance measurement).
 */
import { describe, expect, it } from 'vitest';
import { compilePolicy, RegoError, type RegoJson } from './index.ts';

function evaluationError(run: () => unknown): RegoError {
  try {
    const result = run();
    throw new Error(`evaluation did not fail (result ${JSON.stringify(result)})`);
  } catch (error) {
    if (!(error instanceof RegoError)) throw error;
    return error;
  }
}

/** Expressions that overrun a budget, each a different way. */
const OVERRUNS: ReadonlyArray<readonly [string, string, { maxSteps?: number; timeoutMs?: number }]> = [
  ['a size limit (numbers.range)', 'count(numbers.range(0, 100000000000)) > 0', {}],
  ['a sleep past the deadline', 'test.sleep("10s") == null', { timeoutMs: 200 }],
  ['the wall-clock deadline', 'count([1 | some a in numbers.range(1, 300); some b in numbers.range(1, 300); some c in numbers.range(1, 300)]) > 0', { timeoutMs: 50, maxSteps: 1e12 }],
  ['the step budget', 'count([1 | some a in numbers.range(1, 100); some b in numbers.range(1, 100)]) > 0', { maxSteps: 500 }],
  ['a text size limit (sprintf width)', 'count(sprintf("%0100000000d", [1])) > 0', {}],
];

/** Places an overrunning expression X can sit in; in each, a swallowed error would allow. */
const CONTEXTS: ReadonlyArray<readonly [string, string]> = [
  ['not', 'allow if { not X }'],
  ['every', 'allow if { every i in [1, 2] { not X } }'],
  ['array comprehension', 'allow if { count([1 | X]) == 0 }'],
  ['set comprehension', 'allow if { count({1 | X}) == 0 }'],
  ['object comprehension', 'allow if { count({"k": 1 | X}) == 0 }'],
  ['function', 'f(_) if X\nallow if { not f(1) }'],
  ['partial set', 's contains 1 if X\nallow if { not s[1] }'],
  ['partial object', 'o[k] := 1 if { k := "a"; X }\nallow if { not o.a }'],
  ['with', 'allow if { not X with input as {"replaced": true} }'],
  ['else', 'v := 1 if { X } else := 2\nallow if v == 2'],
  ['default', 'default allow := true\nallow := false if X'],
  ['negated rule', 'denied if X\nallow if { not denied }'],
];

describe('every overrun aborts the whole evaluation', () => {
  for (const [overrun, expression, options] of OVERRUNS) {
    describe(overrun, () => {
      it.each(CONTEXTS)('under %s', (_context, template) => {
        const policy = compilePolicy(`package policy\n${template.replace('X', expression)}\n`);
        const error = evaluationError(() => policy.evaluateRule('data.policy.allow', options));
        expect(error.code).toBe('eval_budget_exceeded');
      });
    });
  }

  it('a stack-deep recursion through values is an error, not undefined', () => {
    let deep: RegoJson = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    const policy = compilePolicy('package policy\nallow if { not json.marshal(input) == "x" }\n');
    expect(evaluationError(() => policy.evaluateRule('data.policy.allow', { input: deep })).code).toBe('eval_budget_exceeded');
  });

  it("OPA's own non-strict builtin errors stay undefined (only resource overruns abort)", () => {
    const policy = compilePolicy('package policy\nallow if { not to_number("not a number") }\nrx if { not regex.match("(", "x") }\n');
    expect(policy.evaluateRule('data.policy.allow')).toBe(true);
    expect(policy.evaluateRule('data.policy.rx')).toBe(true);
  });
});

describe('regular expressions run on RE2: no timeout that `not` could flip', () => {
  const RESOURCE_POLICY = 'package policy\ndefault allow := false\nallow if { not regex.match("(x+x+)+y", data["resource-path"][2]) }\n';

  it('the issue #8 reproduction is denied, as OPA denies it', () => {
    const policy = compilePolicy(RESOURCE_POLICY);
    const evaluate = (tag: string): RegoJson | undefined =>
      policy.evaluateRule('data.policy.allow', { data: { 'resource-path': ['default', 'key', tag] } });
    expect(evaluate('xxy')).toBe(false);
    expect(evaluate(`${'x'.repeat(28)}-xxy`)).toBe(false);
    expect(evaluate(`${'x'.repeat(100_000)}-xxy`)).toBe(false);
    expect(evaluate('plain')).toBe(true);
  });

  it('polynomial patterns on a guest-chosen 100-character tag finish inside the default budget', () => {
    const policy = compilePolicy('package policy\nallow if regex.match("^a*a*a*a*a*a*b$", input.tag)\nfound := regex.find_n("(a|aa)*c", input.tag, -1)\n');
    expect(policy.evaluateRule('data.policy.allow', { input: { tag: 'a'.repeat(100) } })).toBeUndefined();
    expect(policy.evaluateRule('data.policy.found', { input: { tag: 'a'.repeat(100) } })).toEqual([]);
  });
});

describe('the deadline is exact under hostile policies', () => {
  const BUDGET_MS = 250;
  // Slack for timer granularity and garbage collection on a loaded CI machine (young-generation
  // collections of 100+ ms were seen at load average 20 on 2 cores); before this
  // change the same policies ran for seconds to minutes past a 1 s budget.
  const MARGIN_MS = 250;
  const doubled = (name: string, levels: number, seed = '["xxxxxxxxxxxxxxxx"]'): string =>
    [`${name}0 := ${seed}`, ...Array.from({ length: levels }, (_, i) => `${name}${i + 1} := [${name}${i}, ${name}${i}]`)].join('\n');
  const doubledText = (levels: number, seed = 'xxxxxxxxxxxxxxxx'): string =>
    [`s0 := "${seed}"`, ...Array.from({ length: levels }, (_, i) => `s${i + 1} := concat("", [s${i}, s${i}])`)].join('\n');
  const HOSTILE: Readonly<Record<string, string>> = {
    'a cartesian product': 'xs := numbers.range(1, 1000)\np := count([1 | xs[_]; xs[_]; xs[_]])',
    'json.marshal of a value shared 2^26 times': `${doubled('a', 26)}\np := count(json.marshal(a26))`,
    'json.marshal_with_options of a shared value': `${doubled('a', 26)}\np := count(json.marshal_with_options(a26, {"pretty": true}))`,
    'a set keyed by a shared value': `${doubled('a', 24)}\np := count({a24})`,
    'sprintf of a shared value': `${doubled('a', 24)}\np := count(sprintf("%v", [a24]))`,
    'equality of two shared values': `${doubled('a', 24)}\n${doubled('b', 24)}\np := a24 == b24`,
    'walk of a shared value': `${doubled('a', 24)}\np := count([1 | walk(a24, _)])`,
    'string doubling': `${doubledText(30)}\np := count(s30)`,
    'hashing large strings': `${doubledText(21)}\np := [crypto.sha256(s21) | some i in numbers.range(1, 1000)]`,
    'base64 of large strings': `${doubledText(21)}\np := [count(base64.encode(s21)) | some i in numbers.range(1, 1000)]`,
    'replace amplification': ['s0 := "xxxxxxxxxxxxxxxx"', ...Array.from({ length: 6 }, (_, i) => `s${i + 1} := replace(s${i}, "x", "${'x'.repeat(62)}")`), 'p := count(s6)'].join('\n'),
    'regex submatches over a long subject': `${doubledText(13, 'aaaaaaaaaaaaaaaa')}\np := count(regex.find_all_string_submatch_n("(.*a){20}", s13, -1))`,
    'regex with a match at every position': `${doubledText(12, 'abababababababab')}\np := count(regex.find_all_string_submatch_n("(a)|b", s12, -1))`,
    'json.unmarshal of large text': `${doubled('a', 18)}\np := [count(json.unmarshal(json.marshal(a18))) | some i in numbers.range(1, 100)]`,
    'repeated sleeps': 'p := [1 | some i in numbers.range(1, 100); test.sleep("20ms")]',
  };

  // Other processes on the machine only ever add wall time, so the bound is checked on the best
  // of three runs; an operation that really ignores the deadline overruns in every run.
  it.each(Object.entries(HOSTILE))('%s', (_name, body) => {
    const policy = compilePolicy(`package t\n${body}\n`);
    let best = Infinity;
    for (let attempt = 0; attempt < 3 && best >= BUDGET_MS + MARGIN_MS; attempt++) {
      const started = performance.now();
      const error = evaluationError(() => policy.evaluateRule('data.t.p', { timeoutMs: BUDGET_MS, maxSteps: 1e12 }));
      best = Math.min(best, performance.now() - started);
      expect(error.code).toBe('eval_budget_exceeded');
    }
    expect(best).toBeLessThan(BUDGET_MS + MARGIN_MS);
  });
});
