// Invariant: malformed Rego is rejected with a typed rego_parse_error carrying file:row:col,
// never a raw exception; valid v1 syntax in all its forms parses.
import { describe, expect, it } from 'vitest';
import { checkPolicySyntax, RegoError } from './index.ts';
import { parseModule } from './parser.ts';

function parseError(src: string, v1 = true): RegoError {
  try {
    parseModule(src, 'p.rego', { v1 });
  } catch (e) {
    if (e instanceof RegoError) return e;
    throw e;
  }
  throw new Error('expected a parse error');
}

describe('parse errors', () => {
  it.each([
    ['package p\n\nallow if {\n  input.x ==\n}\n', 5, 1],
    ['package p\nallow if { "unterminated }\n', 2, 12],
    ['package p\nx := [1, 2\n', 3, 1],
    ['package p\nallow { true }\n', 2, 7],
    ['p := 1\n', 1, 1],
    ['package p\nx := 1 @ 2\n', 2, 8],
  ])('%j → rego_parse_error at %i:%i', (src, row, col) => {
    const e = parseError(src);
    expect(e.code).toBe('rego_parse_error');
    expect(e.location).toEqual({ row, col, file: 'p.rego' });
    expect(e.message).toContain(`p.rego:${row}:${col}: rego_parse_error`);
  });

  it('names the offending token', () => {
    expect(parseError('package p\nx := ]\n').message).toContain('unexpected ] token');
    expect(parseError('package p\nx := (1 + \n').message).toContain('eof');
  });

  it('requires `if` before bodies in v1 but not in v0', () => {
    expect(parseError('package p\nallow { true }\n').detail).toContain('`if` keyword is required');
    expect(() => parseModule('package p\nallow { true }\n', 'p.rego', { v1: false })).not.toThrow();
  });

  it('survives hostile nesting without a stack overflow', () => {
    const deep = 'package p\nx := ' + '['.repeat(10_000) + ']'.repeat(10_000) + '\n';
    expect(parseError(deep).code).toBe('rego_parse_error');
  });

  it.each([
    ['a v1 rule without body or value', 'package p\np\n', 'rule must have a body or assignment'],
    ['rego.v1 with future.keywords', 'package p\nimport rego.v1\nimport future.keywords.in\n', 'mutually exclusive'],
    ['a default value with a ref', 'package p\ndefault a := input.x\n', 'illegal default rule (value cannot contain ref)'],
    ['a default value with a call', 'package p\ndefault a := 1 + 2\n', 'illegal default rule (value cannot contain call)'],
  ])('rejects %s', (_label, src, message) => {
    expect(parseError(src).detail).toContain(message);
  });

  it('checkPolicySyntax throws RegoError and accepts good policies', () => {
    expect(() => checkPolicySyntax('package policy\ndefault allow := false\n')).not.toThrow();
    expect(() => checkPolicySyntax('package policy\nallow if {')).toThrow(RegoError);
  });
});

describe('syntax coverage', () => {
  it.each([
    ['imports', 'package p\nimport rego.v1\nimport data.x.y as z\nimport input\n'],
    ['future keywords', 'package p\nimport future.keywords.in\nimport future.keywords.if\n'],
    ['default, else chains', 'package p\ndefault a := 1\na := 2 if input.x\nb := 1 if { false } else := 2 if { true } else := 3\n'],
    ['partial set and object', 'package p\ns contains x if { some x in [1] }\no[k] := v if { some k, v in {"a": 1} }\n'],
    ['ref heads', 'package p\na.b.c := 1\nq[x].r contains y if { x := "k"; y := 2 }\n'],
    ['functions', 'package p\nf(x) := x + 1\nf(x) := 2 if x == "a"\ng(_) := true\n'],
    ['every, some, with', 'package p\nok if { every x in [1] { x > 0 }; some y in [2]; y == 2 with input as {} }\n'],
    ['comprehensions and sets', 'package p\na := [x | some x in [1]]\nb := {x | x := 1}\nc := {k: v | k := "a"; v := 1}\nd := set()\ne := {}\nf := {1, 2}\n'],
    ['raw strings and numbers', 'package p\nr := `a\\b`\nn := [-1, 1.5e3, 18446744073709551614]\n'],
    ['template strings', 'package p\nt := $"x={1 + 1}"\n'],
    ['v0 partial set', 'package p\ndeny[msg] { msg := "no" }\n'],
  ])('%s', (_label, src) => {
    const v1 = !src.includes('deny[msg] {');
    expect(() => parseModule(src, 'p.rego', { v1 })).not.toThrow();
  });
});
