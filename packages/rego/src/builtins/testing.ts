/**
 * A small real BuiltinContext for unit tests of builtin families (no evaluator needed): calls a
 * builtin of the default table (or of a given one) by name with Values, with a fixed clock, a shared per-"evaluation" cache and
 * a work budget.
 */
import { limitError, type BuiltinContext, type BuiltinTable } from '../builtinContract.ts';
import { fromJson, type Value } from '../value.ts';
import { DEFAULT_BUILTINS } from './index.ts';

export interface TestEvaluation {
  call(name: string, ...args: Value[]): Value | undefined;
  /** The context this evaluation hands to builtins (for calling a definition's impl directly). */
  context(name: string): BuiltinContext;
  readonly prints: string[];
  readonly traces: string[];
}

export function testEvaluation(options: { nowNs?: bigint; budget?: number; builtins?: BuiltinTable } = {}): TestEvaluation {
  const builtins = options.builtins ?? DEFAULT_BUILTINS;
  const cache = new Map<string, unknown>();
  const prints: string[] = [];
  const traces: string[] = [];
  let remaining = options.budget ?? 10_000_000;
  const makeContext = (name: string): BuiltinContext => ({
    name,
    strict: true,
    nowNs: options.nowNs ?? 1_700_000_000_000_000_000n,
    cache,
    print: (line) => prints.push(line),
    trace: (note) => traces.push(note),
    charge: (units) => {
      remaining -= units;
      if (remaining < 0) throw limitError(name, 'evaluation budget exceeded');
    },
    remainingMs: () => 1000,
    hostFunction: () => undefined,
  });
  return {
    prints,
    traces,
    context: makeContext,
    call(name, ...args) {
      const def = builtins.get(name);
      if (def === undefined) throw new Error(`no builtin ${name}`);
      return def.impl(args, makeContext(name));
    },
  };
}

/** Shorthand: one call in a fresh evaluation. */
export function callBuiltin(name: string, ...args: Value[]): Value | undefined {
  return testEvaluation().call(name, ...args);
}

/** Converts plain JSON test data to a Value. */
export const v = (x: unknown): Value => fromJson(x);
