/**
 * Shapes shared by the evaluator's modules (evaluator.ts and eval/*): bindings, continuations,
 * the settings of one evaluation, and the two markers the rule cache and the single-value fast
 * path use.
 */
import type { HostJson } from '../builtinContract.ts';
import type { Value } from '../value.ts';

/** Variable bindings of one rule/function invocation; entries are undone after each continuation. */
export type Env = Map<string, Value>;
/** Continuation: called once per solution; returns true to stop the search. */
export type K = () => boolean;
/** Continuation receiving a value. */
export type KV = (v: Value) => boolean;

export type HostFn = (args: HostJson[]) => HostJson | undefined;

export interface EvalSettings {
  readonly input: Value | undefined;
  readonly data: Value;
  readonly maxSteps: number;
  readonly timeoutMs: number;
  readonly strict: boolean;
  readonly hostFunctions: ReadonlyMap<string, HostFn>;
  readonly print?: ((line: string) => void) | undefined;
  readonly nowNs?: bigint;
  readonly maxDepth?: number | undefined;
}

/** A cached "this rule is undefined" (the caches store Values, and undefined means "not cached"). */
export const UNDEF = Symbol('undefined');
/** The single-value fast path's answer when a term may have several values (use the CPS path). */
export const MULTI = Symbol('multi');
export type Cached = Value | typeof UNDEF;
