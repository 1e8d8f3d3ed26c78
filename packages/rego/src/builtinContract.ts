/**
 * CONTRACT between the Rego core (parser/compiler/evaluator) and the named builtins
 * (`packages/rego/src/builtins/**`). Stable: fields are only ever added.
 *
 * How a builtin is written
 * ------------------------
 * ```ts
 * import { operandError, builtinError, type BuiltinDefinition } from '../builtinContract.ts';
 * import { typeName, type Value } from '../value.ts';
 *
 * const upper: BuiltinDefinition = {
 *   name: 'upper',
 *   arity: 1,
 *   impl: ([s]) => {
 *     if (typeof s !== 'string') throw operandError('upper', 1, 'string', s);
 *     return s.toUpperCase();
 *   },
 * };
 * export const stringBuiltins: readonly BuiltinDefinition[] = [upper, ...];
 * ```
 *
 * - `impl` receives the already-evaluated argument Values (never undefined: if any argument is
 *   undefined the core does not call the builtin) and the evaluation context.
 * - Return a Value for the result; return `undefined` when the call is undefined (the
 *   expression then fails, like OPA builtins that "return no result").
 * - Relations (`walk`, `graph.reachable_paths`-style builtins that yield SEVERAL outputs): set
 *   `relation: true` and return an array of outputs; the core tries each one (backtracking).
 * - Raise errors by THROWING a `BuiltinError` made with `operandError` (→ `eval_type_error`,
 *   message "upper: operand 1 must be string but got number") or `builtinError`
 *   (→ `eval_builtin_error`, message "<name>: <text>"). Never throw a raw TypeError/RangeError:
 *   the core converts stray exceptions into `eval_builtin_error` but loses the message quality.
 * - Strict mode (`strict_error` in the OPA corpus, regorus' default): the CORE decides. In
 *   non-strict mode a thrown BuiltinError makes the expression undefined; in strict mode it
 *   aborts evaluation with that error. Builtins just throw; `ctx.strict` is there only for the
 *   rare builtin whose behaviour itself depends on it. Set `halt: true` on an error that must
 *   abort even in non-strict mode.
 * - Builtins must not loop unboundedly on hostile input: for work proportional to a
 *   user-controlled size (numbers.range, string building, regex on huge strings, hashing...)
 *   call `ctx.charge(units)` BEFORE doing it; it throws `eval_budget_exceeded` when the work
 *   would not fit in the time left. A builtin's own size limits throw `limitError(...)`: a
 *   resource overrun aborts the evaluation, it is never an undefined result.
 * - Values are immutable once returned: build fresh arrays/ObjectValue/SetValue, never mutate an
 *   argument.
 *
 * Builtin tables
 * --------------
 * There is no process-wide registry: the compiler and the evaluator look builtins up in a
 * `BuiltinTable` (name → definition) given to them with the program (`CompileContext.builtins`).
 * Each family module exports its definitions as a list; `builtins/index.ts` builds tables from
 * lists (`builtinTable`, later entries win) and exports the default one (`DEFAULT_BUILTINS`,
 * every family). An embedder that wants fewer or extra builtins builds its own table and passes
 * it to `compilePolicy`. Importing a module of this package registers nothing anywhere.
 */
import { RegoError } from './errors.ts';
import type { Value } from './value.ts';
import { typeName } from './value.ts';
import { TrusteeError } from '@trustee/errors';

/** Result of a JSON-typed host function (see CompileOptions.hostFunctions in index.ts). */
export type HostJson = null | boolean | number | string | HostJson[] | { [k: string]: HostJson };

/** What a builtin may use from the running evaluation. */
export interface BuiltinContext {
  /** The name the builtin was called under (e.g. 'strings.replace_n'). */
  readonly name: string;
  /** Strict builtin errors (see header). */
  readonly strict: boolean;
  /** Nanoseconds since the Unix epoch, fixed for one evaluation (time.now_ns must return this). */
  readonly nowNs: bigint;
  /**
   * Per-evaluation memo shared by all builtins of one evaluation, e.g. `rand.intn` must return
   * the same value for the same (str, n) within one query: key it `rand.intn:${str}:${n}`.
   */
  readonly cache: Map<string, unknown>;
  /** Sink for `print` (one line per call, already formatted by the builtin). */
  print(line: string): void;
  /** Sink for `trace` notes. */
  trace(note: string): void;
  /**
   * Charges `units` of work (about 10 ns each, see workMeter.ts) that the builtin is ABOUT to
   * do; throws `eval_budget_exceeded` (a RegoError: the whole evaluation aborts) when that work
   * would not finish before the deadline.
   */
  charge(units: number): void;
  /** Milliseconds left before the evaluation's deadline. */
  remainingMs(): number;
  /** Host functions registered by the embedder (JSON in/out), by name. */
  hostFunction(name: string): ((args: HostJson[]) => HostJson | undefined) | undefined;
}

export type BuiltinImpl = (args: readonly Value[], ctx: BuiltinContext) => Value | undefined;

export interface BuiltinDefinition {
  /** Full dotted name as written in Rego: 'count', 'strings.replace_n', 'time.now_ns'. */
  readonly name: string;
  /** Number of input arguments (not counting the optional output argument), or 'variadic' (print). */
  readonly arity: number | 'variadic';
  readonly impl: BuiltinImpl;
  /** The builtin yields several outputs (impl returns an array of them); see header. */
  readonly relation?: boolean;
  /** Non-deterministic (time.now_ns, rand.intn, uuid.rfc4122, http.send): never constant-folded. */
  readonly nondeterministic?: boolean;
}

export type BuiltinErrorCode = 'eval_type_error' | 'eval_builtin_error';

/** Error thrown by builtin implementations. */
export class BuiltinError extends TrusteeError<BuiltinErrorCode> {
  /** Abort the evaluation even in non-strict mode. */
  readonly halt: boolean;
  constructor(code: BuiltinErrorCode, message: string, options?: { halt?: boolean }) {
    super(code, message);
    this.halt = options?.halt ?? false;
  }
}

/**
 * OPA-style operand type error: `operandError('count', 1, 'one of {array, object, set, string}', 5)`
 * → eval_type_error "count: operand 1 must be one of {array, object, set, string} but got number".
 * `got` may be a Value (its type name is used) or an explicit string via `gotText`.
 */
export function operandError(fn: string, position: number, expected: string, got: Value): BuiltinError {
  return new BuiltinError('eval_type_error', `${fn}: operand ${position} must be ${expected} but got ${typeName(got)}`);
}

/** eval_type_error with a free-form text after "<fn>: operand <n> ". */
export function operandErrorText(fn: string, position: number, text: string): BuiltinError {
  return new BuiltinError('eval_type_error', `${fn}: operand ${position} ${text}`);
}

/** eval_builtin_error "<fn>: <message>". */
export function builtinError(fn: string, message: string, options?: { halt?: boolean }): BuiltinError {
  return new BuiltinError('eval_builtin_error', `${fn}: ${message}`, options);
}

/**
 * A resource limit reached inside a builtin (size, count, time): aborts the WHOLE evaluation as
 * `eval_budget_exceeded`, strict mode or not. Never a BuiltinError: that would make the call
 * undefined in non-strict mode, and `not` would turn the overrun into a success.
 */
export function limitError(fn: string, message: string): RegoError {
  return new RegoError('eval_budget_exceeded', `${fn}: ${message}`);
}

/** JavaScript's own resource exhaustion (stack, string/array/BigInt size, allocation). */
export function isResourceExhaustion(error: unknown): error is RangeError {
  return error instanceof RangeError
    && /call stack|invalid (string|array|typed array) length|maximum bigint size|allocation failed|out of memory/i.test(error.message);
}

/** The builtins a program may call, by full dotted name (see header). */
export type BuiltinTable = ReadonlyMap<string, BuiltinDefinition>;
