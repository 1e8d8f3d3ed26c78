/**
 * Compiled policy objects: parsing, compiling, the bounded compile cache, and evaluation entry
 * points returning internal Values (index.ts wraps them as JSON).
 */
import { createHash } from 'node:crypto';
import type { Body, Module, Term } from './ast.ts';
import { isResourceExhaustion, type BuiltinTable } from './builtinContract.ts';
import { DEFAULT_BUILTINS } from './builtins/index.ts';
import { CORE_OPERATORS, compileModules, compileQuery, isUserVar, type CompiledProgram } from './compiler.ts';
import { RegoError } from './errors.ts';
import { Evaluator, type HostFn } from './evaluator.ts';
import { explainRulePath, type ExplainLimits, type RuleExplanation } from './explain.ts';
import { parseModule, parseQuery } from './parser.ts';
import { ObjectValue, fromJson, type Value } from './value.ts';
import { metered } from './workMeter.ts';

export interface SourceModule {
  readonly name: string;
  readonly source: string;
}

export interface EngineCompileOptions {
  readonly regoVersion?: 'v0' | 'v1';
  readonly hostFunctionNames?: readonly string[];
  /** The builtins policies may call; default DEFAULT_BUILTINS (every family in builtins/). */
  readonly builtins?: BuiltinTable;
}

export interface EngineEvalOptions {
  readonly input?: Value | undefined;
  readonly data?: Value | undefined;
  readonly maxSteps?: number | undefined;
  readonly timeoutMs?: number | undefined;
  readonly strictBuiltinErrors?: boolean | undefined;
  readonly hostFunctions?: ReadonlyMap<string, HostFn> | undefined;
  readonly print?: ((line: string) => void) | undefined;
  readonly maxDepth?: number | undefined;
}

export const DEFAULT_MAX_STEPS = 1_000_000;
export const DEFAULT_TIMEOUT_MS = 1000;

const EMPTY_DATA = new ObjectValue();
const NO_HOST_FUNCTIONS: ReadonlyMap<string, HostFn> = new Map();

export class Program {
  private readonly queryCache = new Map<string, Body>();
  constructor(
    readonly hash: string,
    readonly program: CompiledProgram,
    private readonly hostFunctionNames: ReadonlySet<string>,
    private readonly sources: ReadonlyMap<string, string> = new Map(),
  ) {}

  /** Explains the complete rule at `path` below `data` (see explain.ts); undefined when absent. */
  explain(path: readonly string[], options: EngineEvalOptions = {}, limits: ExplainLimits = {}): RuleExplanation | undefined {
    const ev = this.evaluator(options);
    return explainRulePath({ program: this.program, sources: this.sources, evaluator: ev, guard: (f) => guardStack(ev, f) }, path, limits);
  }

  compileQueryText(query: string): Body {
    let body = this.queryCache.get(query);
    if (body === undefined) {
      body = guardCompile(() => compileQuery(parseQuery(query, { v1: true }), this.program, (name) => this.arity(name)));
      if (this.queryCache.size > 256) this.queryCache.clear();
      this.queryCache.set(query, body);
    }
    return body;
  }

  private arity(name: string): number | undefined {
    const core = CORE_OPERATORS[name];
    if (core !== undefined) return core;
    if (name.startsWith('data.')) return this.program.functions.get(name)?.[0]?.rule.args?.length;
    if (this.hostFunctionNames.has(name)) return -1;
    const b = this.program.ctx.builtins.get(name);
    if (b === undefined) return undefined;
    return b.arity === 'variadic' ? -1 : b.arity;
  }

  /** Runs a compiled query, returning one Map of user-visible bindings per solution. */
  run(body: Body, options: EngineEvalOptions = {}): Array<Map<string, Value>> {
    const ev = this.evaluator(options);
    const out: Array<Map<string, Value>> = [];
    guardStack(ev, () =>
      ev.query(body, (env) => {
        const row = new Map<string, Value>();
        for (const [k, v] of env) if (isUserVar(k)) row.set(k, v);
        out.push(row);
      }),
    );
    return out;
  }

  /** Evaluates one term (e.g. a rule ref); the first value or undefined. */
  evalTerm(term: Term, options: EngineEvalOptions = {}): Value | undefined {
    const ev = this.evaluator(options);
    let result: Value | undefined;
    guardStack(ev, () =>
      ev.evalTerm(term, new Map(), (v) => {
        result = v;
        return true;
      }),
    );
    return result;
  }

  private evaluator(options: EngineEvalOptions): Evaluator {
    // one object literal of a fixed shape (no conditional spreads): this runs once per evaluation
    return new Evaluator(this.program, {
      input: options.input,
      data: options.data ?? EMPTY_DATA,
      maxSteps: options.maxSteps ?? DEFAULT_MAX_STEPS,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      strict: options.strictBuiltinErrors ?? false,
      hostFunctions: options.hostFunctions ?? NO_HOST_FUNCTIONS,
      print: options.print,
      maxDepth: options.maxDepth,
    });
  }
}

/** Runs an evaluation with its work meter active; JS resource exhaustion ends as a budget error. */
function guardStack<T>(ev: Evaluator, f: () => T): T {
  try {
    return metered((units) => ev.budget.charge(units), f);
  } catch (e) {
    if (isResourceExhaustion(e)) throw new RegoError('eval_budget_exceeded', /call stack/i.test(e.message) ? 'maximum call stack size exceeded' : e.message);
    throw e;
  }
}

/** Parsing/compiling hostile sources must fail with a typed error, never a raw RangeError. */
export function guardCompile<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof RegoError) throw e;
    if (e instanceof RangeError) throw new RegoError('rego_compile_error', `policy too complex to compile (${e.message})`);
    throw e;
  }
}

/** Detects the Rego version of a module: `import rego.v1` makes it v1 regardless of the default. */
function parseWithVersion(m: SourceModule, version: 'v0' | 'v1'): Module {
  return parseModule(m.source, m.name, { v1: version === 'v1' });
}

const CACHE_LIMIT = 64;
const cache = new Map<string, Program>();
/** Cache-key component per builtin table (tables are compared by identity). */
const tableIds = new WeakMap<BuiltinTable, number>();
let nextTableId = 0;

function tableId(table: BuiltinTable): number {
  let id = tableIds.get(table);
  if (id === undefined) tableIds.set(table, (id = nextTableId++));
  return id;
}

export function compileProgram(modules: readonly SourceModule[], options: EngineCompileOptions = {}): Program {
  const version = options.regoVersion ?? 'v1';
  const hostNames = [...(options.hostFunctionNames ?? [])].sort();
  const builtins = options.builtins ?? DEFAULT_BUILTINS;
  const h = createHash('sha256');
  for (const m of modules) h.update(m.name).update('\0').update(m.source).update('\0');
  const hash = h.digest('hex');
  const cacheKey = `${hash}|${version}|${tableId(builtins)}|${hostNames.join(',')}`;
  const hit = cache.get(cacheKey);
  if (hit) {
    cache.delete(cacheKey);
    cache.set(cacheKey, hit);
    return hit;
  }
  const hostSet = new Set(hostNames);
  const compiled = guardCompile(() => compileModules(modules.map((m) => parseWithVersion(m, version)), { hostFunctions: hostSet, builtins }));
  const program = new Program(hash, compiled, hostSet, new Map(modules.map((m) => [m.name, m.source])));
  cache.set(cacheKey, program);
  if (cache.size > CACHE_LIMIT) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  return program;
}

export function toValue(x: unknown): Value {
  return fromJson(x);
}
