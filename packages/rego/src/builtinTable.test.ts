import { describe, expect, it } from 'vitest';
import { ALL_BUILTINS, DEFAULT_BUILTINS, RegoError, builtinTable, compilePolicy, type BuiltinDefinition } from './index.ts';

const double: BuiltinDefinition = {
  name: 'custom.double',
  arity: 1,
  impl: ([x]) => (typeof x === 'number' ? x * 2 : undefined),
};

describe('builtin tables', () => {
  it('the default table holds every family and nothing else', () => {
    expect(DEFAULT_BUILTINS.size).toBe(new Set(ALL_BUILTINS.map((d) => d.name)).size);
    expect(DEFAULT_BUILTINS.has('upper')).toBe(true);
    expect(DEFAULT_BUILTINS.has('custom.double')).toBe(false);
  });

  it('a policy calls the builtins of the table it was compiled with, and only those', () => {
    const source = 'package p\nr := custom.double(input.x)';
    const withDouble = builtinTable([...ALL_BUILTINS, double]);
    expect(compilePolicy(source, { builtins: withDouble }).evaluateRule('data.p.r', { input: { x: 21 } })).toBe(42);
    // building a table registered nothing: the default table still refuses the name
    expect(() => compilePolicy(source)).toThrow(RegoError);
    expect(() => compilePolicy(source, { builtins: DEFAULT_BUILTINS })).toThrow(/custom\.double/);
  });

  it('a table without a builtin refuses policies that call it', () => {
    const noUpper = builtinTable(ALL_BUILTINS.filter((d) => d.name !== 'upper'));
    const source = 'package p\nr := upper("a")';
    expect(compilePolicy(source).evaluateRule('data.p.r')).toBe('A');
    expect(() => compilePolicy(source, { builtins: noUpper })).toThrow(/upper/);
  });

  it('a stray exception in a table builtin surfaces as a builtin error naming it', () => {
    const boom: BuiltinDefinition = { name: 'custom.boom', arity: 0, impl: () => { throw new TypeError('bad'); } };
    const policy = compilePolicy('package p\nr := custom.boom()', { builtins: builtinTable([boom]) });
    expect(() => policy.evaluateRule('data.p.r', { strictBuiltinErrors: true })).toThrow(/custom\.boom: bad/);
    expect(policy.evaluateRule('data.p.r')).toBeUndefined();
  });
});
