// Invariant: evaluation follows OPA's semantics (undefined propagation, conflicts, with,
// safety reordering) and hostile policies end with a typed error inside the budget instead of
// hanging the process or overflowing the stack.
import { describe, expect, it } from 'vitest';
import { compilePolicy, RegoError, type RegoJson } from './index.ts';

function errorOf(f: () => unknown): RegoError {
  try {
    f();
  } catch (e) {
    if (e instanceof RegoError) return e;
    throw e;
  }
  throw new Error('expected a RegoError');
}

const rule = (src: string, ref: string, input?: RegoJson): RegoJson | undefined =>
  compilePolicy(`package t\nimport rego.v1\n${src}`).evaluateRule(ref, input === undefined ? {} : { input });

describe('core semantics', () => {
  it('undefined propagates and `not` turns it into success', () => {
    expect(rule('p if input.a.b.c', 'data.t.p', {})).toBeUndefined();
    expect(rule('p if not input.a.b.c', 'data.t.p', {})).toBe(true);
    expect(rule('default p := false\np if input.x == 1', 'data.t.p', { x: 2 })).toBe(false);
  });

  it('only false and undefined fail a body expression', () => {
    expect(rule('p if { 0; ""; null; [] }', 'data.t.p')).toBe(true);
    expect(rule('p if { false }', 'data.t.p')).toBeUndefined();
  });

  it('reorders literals so vars are bound before use', () => {
    expect(rule('p := y if { y := x + 1; x := input.n }', 'data.t.p', { n: 41 })).toBe(42);
  });

  it('compares across types with OPA ordering and numbers by value', () => {
    expect(rule('p := [1 == 1.0, 1 < "a", null < false, [4] > 5, {1} > {"a": 1}]', 'data.t.p')).toEqual([true, true, true, true, true]);
  });

  it('iterates objects with some k, v in', () => {
    expect(rule('p contains k if { some k, v in input; v > 1 }', 'data.t.p', { a: 1, b: 2, c: 3 })).toEqual(['b', 'c']);
  });

  it('`in` on a non-collection is false', () => {
    expect(rule('p := 1 in null', 'data.t.p')).toBe(false);
    expect(rule('p := 1 in {"a": 1}', 'data.t.p')).toBe(true);
  });

  it('supports with on input, data and functions', () => {
    const src = 'f(x) := x\nq := f(input.v)\np := x if { x := q with input.v as 7 }\nr := x if { x := data.d.e with data.d.e as 3 }\ns := x if { x := q with f as 9 }\n';
    expect(rule(src, 'data.t.p')).toBe(7);
    expect(rule(src, 'data.t.r')).toBe(3);
    expect(rule(src, 'data.t.s', { v: 1 })).toBe(9);
  });

  it('returns OPA-like query result sets', () => {
    const p = compilePolicy('package t\nxs := [1, 2, 3]');
    expect(p.evaluateQuery('x := data.t.xs[i]; x > 1')).toEqual([
      { i: 1, x: 2 },
      { i: 2, x: 3 },
    ]);
  });

  it('calls host functions synchronously, per policy and per evaluation', () => {
    const src = 'package policy\nok if input.v in rv("ids")\n';
    const p = compilePolicy(src, { hostFunctions: { rv: () => ['a', 'b'] } });
    expect(p.evaluateRule('data.policy.ok', { input: { v: 'a' } })).toBe(true);
    expect(p.evaluateRule('data.policy.ok', { input: { v: 'a' }, hostFunctions: { rv: () => null } })).toBeUndefined();
  });

  it('a throwing host function aborts with eval_builtin_error', () => {
    const p = compilePolicy('package policy\nok if rv("x")', {
      hostFunctions: {
        rv: () => {
          throw new Error('rvps unreachable');
        },
      },
    });
    const e = errorOf(() => p.evaluateRule('data.policy.ok'));
    expect(e.code).toBe('eval_builtin_error');
    expect(e.message).toContain('rvps unreachable');
  });

  it('print writes to the sink, undefined operands as <undefined>', () => {
    const lines: string[] = [];
    const p = compilePolicy('package t\np if { print("x", 1, input.nope, {"a": [1]}) }');
    expect(p.evaluateRule('data.t.p', { print: (l) => lines.push(l) })).toBe(true);
    expect(lines).toEqual(['x 1 <undefined> {"a": [1]}']);
  });

  it('exposes # METADATA annotations through rego.metadata.rule and chain', () => {
    const src = '# METADATA\n# description: suite\npackage t\n\n# METADATA\n# title: T\n# authors:\n# - Ann <ann@example.com>\np := rego.metadata.rule()\n\nc := rego.metadata.chain()\n';
    const p = compilePolicy(src);
    expect(p.evaluateRule('data.t.p')).toEqual({ authors: [{ name: 'Ann', email: 'ann@example.com' }], scope: 'rule', title: 'T' });
    expect(p.evaluateRule('data.t.c')).toEqual([{ path: ['t', 'c'] }, { annotations: { description: 'suite', scope: 'package' }, path: ['t'] }]);
  });

  it('reports unknown functions at compile time', () => {
    const e = errorOf(() => compilePolicy('package t\np := nosuch.fn(1)'));
    expect(e.code).toBe('rego_type_error');
    expect(e.message).toContain('undefined function nosuch.fn');
  });

  it.each([
    ['a var declared twice', 'package t\np if { x := 1; x := 2 }', 'var x assigned above'],
    ['a rule named input', 'package t\ninput := 1', 'input cannot be shadowed'],
  ])('rejects %s at compile time', (_label, src, message) => {
    const e = errorOf(() => compilePolicy(src));
    expect(e.code).toBe('rego_compile_error');
    expect(e.message).toContain(message);
  });

  it('a comprehension does not capture a var declared later in the body', () => {
    expect(rule('xs := {"a", "b"}\np := x if { y := {x | xs[x]}; x := count(y) }', 'data.t.p')).toBe(2);
  });

  it('reports unsafe vars at compile time', () => {
    const e = errorOf(() => compilePolicy('package t\np if { x > 1 }'));
    expect(e.code).toBe('rego_unsafe_var_error');
    expect(e.message).toContain('var x is unsafe');
  });
});

describe('conflicts', () => {
  it.each([
    ['p := 1\np := 2', 'data.t.p', 'complete rules must not produce multiple outputs'],
    ['p := x if { some x in [1, 2] }', 'data.t.p', 'complete rules must not produce multiple outputs'],
    ['f(_) := 1\nf(_) := 2\np := f(0)', 'data.t.p', 'functions must not produce multiple outputs for same inputs'],
    ['o[k] := v if { some v in [1, 2]; k := "a" }', 'data.t.o', 'object keys must be unique'],
    ['p := {k: v | some v in [1, 2]; k := "a"}', 'data.t.p', 'object keys must be unique'],
  ])('%j → eval_conflict_error', (src, ref, message) => {
    const e = errorOf(() => rule(src, ref));
    expect(e.code).toBe('eval_conflict_error');
    expect(e.message).toContain(message);
  });

  it('equal values from several definitions are not a conflict', () => {
    expect(rule('p := 1 if true\np := 1 if true', 'data.t.p')).toBe(1);
  });
});

describe('hostile policies', () => {
  const huge = 'xs := [i | some i in [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31]]\n';

  it('a cartesian explosion stops at the step budget', () => {
    const p = compilePolicy(`package t\n${huge}p := count([1 | xs[_]; xs[_]; xs[_]; xs[_]; xs[_]; xs[_]])`);
    const e = errorOf(() => p.evaluateRule('data.t.p', { maxSteps: 100_000 }));
    expect(e.code).toBe('eval_budget_exceeded');
  });

  it('nested comprehensions stop at the wall-clock budget', () => {
    const p = compilePolicy(`package t\n${huge}p := [[[[[[1 | xs[_]] | xs[_]] | xs[_]] | xs[_]] | xs[_]] | xs[_]]`);
    const e = errorOf(() => p.evaluateRule('data.t.p', { maxSteps: Number.MAX_SAFE_INTEGER, timeoutMs: 50 }));
    expect(e.code).toBe('eval_budget_exceeded');
  });

  it('recursive functions are rejected at compile time, not run forever', () => {
    expect(errorOf(() => compilePolicy('package t\nf(x) := y if { y := f(x + 1) }\np := f(0)')).code).toBe('rego_recursion_error');
  });

  it('recursive rules are rejected at compile time', () => {
    expect(errorOf(() => compilePolicy('package t\np if q\nq if p')).code).toBe('rego_recursion_error');
  });

  it('a very long rule chain hits the depth limit instead of overflowing the stack', () => {
    const n = 5000;
    const lines = Array.from({ length: n }, (_, i) => `r${i} := r${i + 1}`);
    lines.push(`r${n} := 1`);
    const p = compilePolicy(`package t\n${lines.join('\n')}`);
    expect(errorOf(() => p.evaluateRule('data.t.r0')).code).toBe('eval_budget_exceeded');
  });

  it('a huge operator chain fails compilation with a typed error', () => {
    const src = 'package t\np := ' + Array.from({ length: 20_000 }, (_, i) => String(i)).join(' + ');
    expect(errorOf(() => compilePolicy(src)).code).toBe('rego_compile_error');
  });

  it('a long body with reversed dependencies compiles without quadratic reordering', () => {
    const n = 1000;
    const lines = Array.from({ length: n }, (_, i) => `x${i} := x${i + 1} + 1`);
    const p = compilePolicy(`package t
p := x0 if {\n${lines.join('\n')}\nx${n} := 0\n}`);
    expect(p.evaluateRule('data.t.p')).toBe(n);
  });

  it('a pattern that backtracks catastrophically elsewhere is answered by RE2 in linear time', () => {
    const p = compilePolicy('package t\ns := concat("", [x | some _ in numbers.range(1, 40); x := "a"])\np := regex.match("^(a+)+$", concat("", [s, "b"]))');
    expect(p.evaluateRule('data.t.p', { strictBuiltinErrors: true })).toBe(false);
  });

  it('absurdly deep or cyclic input ends with a typed error', () => {
    let deep: RegoJson = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const p = compilePolicy('package t\np := count(input)');
    expect(errorOf(() => p.evaluateRule('data.t.p', { input: deep })).code).toBe('eval_budget_exceeded');
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(errorOf(() => p.evaluateRule('data.t.p', { input: cyclic as RegoJson })).code).toBe('eval_budget_exceeded');
  });

  it('the engine stays usable after a budget error', () => {
    const p = compilePolicy(`package t\n${huge}p := count([1 | xs[_]; xs[_]; xs[_]; xs[_]])\nq := 1`);
    expect(errorOf(() => p.evaluateRule('data.t.p', { maxSteps: 1000 })).code).toBe('eval_budget_exceeded');
    expect(p.evaluateRule('data.t.q')).toBe(1);
  });
});
