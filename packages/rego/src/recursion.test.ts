/**
 * Invariant: a rule or function that can reach itself is refused when the policy is compiled
 * (rego_recursion_error, like OPA), so it is refused at upload rather than failing every
 * evaluation; policies that only look recursive (dynamic refs into other documents) compile.
 */
import { describe, expect, it } from 'vitest';
import { compilePolicy, RegoError } from './index.ts';

function compileError(source: string): RegoError {
  try {
    compilePolicy(source);
  } catch (error) {
    if (error instanceof RegoError) return error;
    throw error;
  }
  throw new Error('policy compiled');
}

describe('recursive policies are refused at compile time', () => {
  it.each([
    ['a function calling itself', 'package p\nf(x) if f(x)\nallow if f(1)', 'data.p.f -> data.p.f'],
    ['mutually recursive rules', 'package p\na if b\nb if a', 'rule data.p.'],
    ['mutually recursive functions', 'package p\nf(x) := y if y := g(x)\ng(x) := y if y := f(x)\nallow if f(1)', 'data.p.'],
    ['a rule reading itself through a comprehension', 'package p\ns := {x | some x in [1]; not s[x]}', 'data.p.s -> data.p.s'],
    ['a rule reading itself in an else branch', 'package p\nv := 1 if input.x else := v', 'data.p.v -> data.p.v'],
    ['a partial set reading itself', 'package p\ns contains x if { some x in [1, 2]; not s[3] }', 'data.p.s -> data.p.s'],
    ['a rule reading its whole package', 'package p\nall := data.p', 'data.p.all -> data.p.all'],
  ] as Array<[string, string, string]>)('%s', (_name, source, cycle) => {
    const error = compileError(source);
    expect(error.code).toBe('rego_recursion_error');
    expect(error.message).toContain(cycle);
  });

  it('recursion across packages', () => {
    const modules = [
      { name: 'p.rego', source: 'package p\nimport data.q\nallow if q.ok\n' },
      { name: 'q.rego', source: 'package q\nimport data.p\nok if p.allow\n' },
    ];
    expect(() => compilePolicy(modules)).toThrow(/rego_recursion_error: rule data\.(p\.allow|q\.ok) is recursive/);
  });

  it('non-recursive dynamic references compile', () => {
    expect(() => compilePolicy([
      { name: 'a.rego', source: 'package test\np := data[first].allow.see.something_else if first := "primary"\n' },
      { name: 'b.rego', source: 'package primary\nallow[action].something if action := "show"\nallow.see.something_else if true\n' },
    ])).not.toThrow();
    expect(compilePolicy('package p\nf(0) := 0\nf(x) := g(x) if x > 0\ng(x) := x * 2\nallow if f(2) == 4').evaluateRule('data.p.allow')).toBe(true);
  });
});
