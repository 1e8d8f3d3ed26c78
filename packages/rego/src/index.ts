/**
 * @trustee/rego — a Rego (OPA v1) interpreter in TypeScript.
 *
 * ```ts
 * const policy = compilePolicy('package policy\ndefault allow := false\nallow if input.x == 1');
 * policy.evaluateRule('data.policy.allow', { input: { x: 1 } }); // true
 * ```
 */
import type { Term } from './ast.ts';
import { RegoError } from './errors.ts';
import { compileProgram, guardCompile, type Program } from './engine.ts';
import type { HostFn } from './evaluator.ts';
import { parseModule, parseTermText } from './parser.ts';
import { fromJsonLazy, toJson, type RegoJson } from './value.ts';

export { RegoError } from './errors.ts';
export { ALL_BUILTINS, DEFAULT_BUILTINS, SKIPPED_BUILTINS, builtinTable } from './builtins/index.ts';
export type { BuiltinContext, BuiltinDefinition, BuiltinTable } from './builtinContract.ts';
import type { BuiltinTable } from './builtinContract.ts';
export type { RegoErrorCode, RegoLocation } from './errors.ts';
export type { RegoJson } from './value.ts';
export type { BodyExplanation, ComparedValue, ExplainLimits, FailedExpression, RuleExplanation } from './explain.ts';
import type { ExplainLimits, RuleExplanation } from './explain.ts';

export interface PolicyModule {
  readonly name: string;
  readonly source: string;
}

export type HostFunction = (args: RegoJson[]) => RegoJson | undefined;

export interface CompileOptions {
  /** Default 'v1'; modules importing rego.v1 are v1 anyway. */
  readonly regoVersion?: 'v0' | 'v1';
  readonly hostFunctions?: Readonly<Record<string, HostFunction>>;
  /** The builtins the policy may call (see builtinTable); default DEFAULT_BUILTINS. */
  readonly builtins?: BuiltinTable;
}

export interface EvalOptions {
  /** Checked up front, converted as the policy reads it: it must not change during the call. */
  readonly input?: RegoJson;
  /** Base document merged under data. */
  readonly data?: RegoJson;
  /** Default 1,000,000 steps. */
  readonly maxSteps?: number;
  /** Default 1000 ms. */
  readonly timeoutMs?: number;
  /** Per-evaluation override/addition of host functions. */
  readonly hostFunctions?: Readonly<Record<string, HostFunction>>;
  /** Builtin errors abort evaluation (OPA strict mode) instead of making the expression undefined. */
  readonly strictBuiltinErrors?: boolean;
  /** Sink for `print` output. */
  readonly print?: (line: string) => void;
}

export interface CompiledPolicy {
  /** Hex sha256 of the module sources. */
  readonly hash: string;
  /** Evaluates a rule reference such as 'data.policy.allow'; returns its JSON value (sets as arrays) or undefined. */
  evaluateRule(ref: string, options?: EvalOptions): RegoJson | undefined;
  /** Evaluates a query string; returns the result set like OPA (one binding map per solution). */
  evaluateQuery(query: string, options?: EvalOptions): Array<Record<string, RegoJson>>;
  /**
   * Explains a complete rule such as 'data.policy.allow': per definition, whether its body held,
   * else the expression that failed with the values it compared (bounded; see explain.ts).
   * Undefined when there is no such rule. Budget errors throw RegoError like evaluation does.
   */
  explainRule(ref: string, options?: EvalOptions, limits?: ExplainLimits): RuleExplanation | undefined;
}

function normalizeModules(modules: string | readonly PolicyModule[]): readonly PolicyModule[] {
  return typeof modules === 'string' ? [{ name: 'policy.rego', source: modules }] : modules;
}

class Policy implements CompiledPolicy {
  private readonly refCache = new Map<string, Term>();
  private readonly hosts = new Map<string, HostFn>();
  constructor(
    private readonly program: Program,
    private readonly hostFunctions: Readonly<Record<string, HostFunction>>,
  ) {
    for (const [k, f] of Object.entries(hostFunctions)) this.hosts.set(k, f as HostFn);
  }

  get hash(): string {
    return this.program.hash;
  }

  evaluateRule(ref: string, options: EvalOptions = {}): RegoJson | undefined {
    return guardDepth(() => this.evaluateRuleUnguarded(ref, options));
  }

  evaluateQuery(query: string, options: EvalOptions = {}): Array<Record<string, RegoJson>> {
    return guardDepth(() => this.evaluateQueryUnguarded(query, options));
  }

  explainRule(ref: string, options: EvalOptions = {}, limits: ExplainLimits = {}): RuleExplanation | undefined {
    const parts = ref.split('.');
    if (parts[0] !== 'data' || parts.length < 2 || parts.some((p) => p.length === 0)) throw new RegoError('rego_parse_error', `not a rule reference: ${ref}`);
    return guardDepth(() => this.program.explain(parts.slice(1), this.evalOptions(options), limits));
  }

  private evaluateRuleUnguarded(ref: string, options: EvalOptions): RegoJson | undefined {
    let term = this.refCache.get(ref);
    if (term === undefined) {
      const parsed = guardCompile(() => parseTermText(ref));
      if (parsed.t !== 'ref' && parsed.t !== 'var') throw new RegoError('rego_parse_error', `not a rule reference: ${ref}`);
      const body = this.program.compileQueryText(ref);
      const lit = body[0];
      if (body.length !== 1 || lit === undefined || lit.kind !== 'expr') throw new RegoError('rego_parse_error', `not a rule reference: ${ref}`);
      term = lit.term;
      if (this.refCache.size > 256) this.refCache.clear();
      this.refCache.set(ref, term);
    }
    const v = this.program.evalTerm(term, this.evalOptions(options));
    return v === undefined ? undefined : toJson(v);
  }

  private evaluateQueryUnguarded(query: string, options: EvalOptions): Array<Record<string, RegoJson>> {
    const body = this.program.compileQueryText(query);
    return this.program.run(body, this.evalOptions(options)).map((row) => {
      const out: Record<string, RegoJson> = {};
      for (const [k, v] of row) out[k] = toJson(v);
      return out;
    });
  }

  private evalOptions(options: EvalOptions): Parameters<Program['run']>[1] {
    let hosts = this.hosts;
    if (options.hostFunctions) {
      hosts = new Map(this.hosts);
      for (const [k, f] of Object.entries(options.hostFunctions)) hosts.set(k, f as HostFn);
    }
    // one object literal of a fixed shape (no conditional spreads): this runs once per evaluation
    return {
      input: options.input === undefined ? undefined : fromJsonLazy(options.input),
      data: options.data === undefined ? undefined : fromJsonLazy(options.data),
      maxSteps: options.maxSteps,
      timeoutMs: options.timeoutMs,
      strictBuiltinErrors: options.strictBuiltinErrors,
      print: options.print,
      hostFunctions: hosts,
    };
  }
}

/** Hostile inputs (absurdly deep or cyclic JSON) end as a typed error, not a raw RangeError. */
function guardDepth<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof RangeError) throw new RegoError('eval_budget_exceeded', `input or result too deeply nested (${e.message})`);
    throw e;
  }
}

/** Compiles (or fetches from the bounded cache) a policy. Throws RegoError on bad Rego. */
export function compilePolicy(modules: string | readonly PolicyModule[], options: CompileOptions = {}): CompiledPolicy {
  const hostFunctions = options.hostFunctions ?? {};
  const program = compileProgram(normalizeModules(modules), {
    ...(options.regoVersion ? { regoVersion: options.regoVersion } : {}),
    ...(options.builtins ? { builtins: options.builtins } : {}),
    hostFunctionNames: Object.keys(hostFunctions),
  });
  return new Policy(program, hostFunctions);
}

/** Parses a module; throws RegoError (rego_parse_error) with line:column on bad syntax. */
export function checkPolicySyntax(source: string, options: CompileOptions = {}): void {
  guardCompile(() => parseModule(source, 'policy.rego', { v1: (options.regoVersion ?? 'v1') === 'v1' }));
}

/**
 * The names of the functions a module calls (builtins, user functions, host functions), sorted;
 * for upload checks that refuse builtins a policy must not use. Throws RegoError on bad syntax.
 */
export function calledFunctions(source: string, options: CompileOptions = {}): string[] {
  const module = guardCompile(() => parseModule(source, 'policy.rego', { v1: (options.regoVersion ?? 'v1') === 'v1' }));
  const names = new Set<string>();
  const stack: unknown[] = [module.rules];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      for (const item of node) stack.push(item);
    } else if (typeof node === 'object' && node !== null) {
      const record = node as Record<string, unknown>;
      if (record['t'] === 'call') {
        const fn = record['fn'] as Term;
        if (fn.t === 'var') names.add(fn.name);
      }
      if (record['t'] === 'val') continue;
      for (const value of Object.values(record)) if (typeof value === 'object' && value !== null) stack.push(value);
    }
  }
  return [...names].sort();
}
