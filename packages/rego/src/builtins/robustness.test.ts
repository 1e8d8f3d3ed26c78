/**
 * Invariant: no builtin lets a raw JavaScript exception (TypeError, RangeError, SyntaxError...)
 * escape on hostile argument types or shapes: every failure is a typed BuiltinError.
 */
import { describe, expect, test } from 'vitest';
import { BuiltinError } from '../builtinContract.ts';
import { RegoError } from '../errors.ts';
import { BigDecimal, ObjectValue, SetValue, type Value } from '../value.ts';
import { ALL_BUILTINS } from './index.ts';
import { testEvaluation } from './testing.ts';

const POOL: Value[] = [
  null, true, false, 0, -1, 2, 1.5, -2.5, 18446744073709551617n, new BigDecimal(1n, -400), 10n ** 9000n, new BigDecimal(3n, -9000),
  [10n ** 9000n, 10n ** 9000n, 10n ** 9000n, 10n ** 9000n], [new BigDecimal(1n, -9000), 10n ** 9000n],
  '', 'x', 'a.b.c', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----', '{"a":1}', 'eyJhbGciOiJIUzI1NiJ9.e30.c2ln',
  '10.0.0.0/30', '1.2.3.4', '2006-01-02', '[', '\u0000', '😀',
  [], [1, 'a'], [[1, 2]], ['a', 'b'],
  new ObjectValue(), ObjectValue.fromRecord({ a: 1, b: ObjectValue.fromRecord({ c: [1] }) }),
  ObjectValue.fromEntries([[1, 'x'], [[1], 'y']]),
  new SetValue(), SetValue.of(['a', 1, null]), SetValue.of([SetValue.of([1])]),
];

/** Deterministic pseudo-random sequence (no flakiness). */
function* randomIndexes(seed: number): Generator<number> {
  let state = seed;
  for (;;) {
    state = (state * 1103515245 + 12345) % 2147483648;
    yield state;
  }
}

const SKIP = new Set(['test.sleep']);

/** A builtin error (type or builtin) or a resource limit that aborts the evaluation. */
function isTypedFailure(error: unknown): boolean {
  if (error instanceof BuiltinError) return error.code === 'eval_type_error' || error.code === 'eval_builtin_error';
  return error instanceof RegoError && error.code === 'eval_budget_exceeded';
}

function deeplyNested(depth: number): Value {
  let v: Value = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

describe('absurdly deep values end in a typed error, not a stack overflow', () => {
  const deep = deeplyNested(200_000);
  test.each(['json.marshal', 'walk', 'yaml.marshal', 'json.is_valid', 'count'])('%s', (name) => {
    try {
      testEvaluation().call(name, deep);
    } catch (error) {
      expect(isTypedFailure(error)).toBe(true);
    }
  });
});

describe('builtins reject hostile input with typed errors only', () => {
  const defs = ALL_BUILTINS.filter((d) => typeof d.arity === 'number' && !SKIP.has(d.name));
  test.each(defs.map((d) => [d.name, d]))('%s', (_name, def) => {
    const random = randomIndexes(def.name.length * 7919 + def.name.charCodeAt(0));
    const arity = def.arity as number;
    const evaluation = testEvaluation({ budget: 50_000_000 });
    for (let round = 0; round < 150; round++) {
      const args: Value[] = [];
      for (let i = 0; i < arity; i++) args.push(POOL[(random.next().value as number) % POOL.length] as Value);
      try {
        // The raw definition, not the registered wrapper: each family must type its own errors.
        def.impl(args, evaluation.context(def.name));
      } catch (error) {
        if (!isTypedFailure(error)) {
          throw new Error(`${def.name}(${args.map(String).join(', ')}) threw ${(error as Error).name}: ${(error as Error).message}`);
        }
      }
    }
  });
});
