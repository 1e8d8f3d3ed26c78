/**
 * Function calls: core operators, user functions (eval/rules.ts), host functions and the
 * builtins of the program's table, with `with` mocks, strict/non-strict builtin errors, the
 * work charged for each builtin call, and `print`.
 */
import type { Term } from '../ast.ts';
import { BuiltinError, isResourceExhaustion, type BuiltinContext, type HostJson } from '../builtinContract.ts';
import { CORE_OPERATORS } from '../compiler.ts';
import { RegoError, type RegoErrorCode } from '../errors.ts';
import type { Evaluator } from '../evaluator.ts';
import { arith, compareOp } from '../operators.ts';
import { ObjectValue, SetValue, equals, fromJson, isInteger, toJson, toRegoText, type Value } from '../value.ts';
import { evalFunction, metadataChain } from './rules.ts';
import type { Env, HostFn, KV } from './types.ts';

export function evalCall(ev: Evaluator, t: Extract<Term, { t: 'call' }>, env: Env, k: KV): boolean {
  const name = (t.fn as { name: string }).name;
  if (name === 'print') return evalPrint(ev, t, env, k);
  const n = arity(ev, name);
  const inputs = n >= 0 && t.args.length === n + 1 ? t.args.slice(0, n) : t.args;
  const out = n >= 0 && t.args.length === n + 1 ? t.args[n] : undefined;
  const deferred = inputs.some((a) => a.t === 'var' && !env.has(a.t === 'var' ? a.name : '') && a.name !== 'input' && a.name !== 'data');
  if (deferred) {
    // a bare var bound by a ref in another argument (`x == xs[x]`): evaluate the others first
    const order = inputs.map((a, idx) => [a, idx] as const).sort((p, q) => Number(p[0].t === 'var') - Number(q[0].t === 'var'));
    return ev.evalItems(
      order.map((o) => o[0]),
      0,
      [],
      env,
      (vals) => {
        const args: Value[] = new Array<Value>(vals.length);
        order.forEach((o, j) => (args[o[1]] = vals[j] as Value));
        return callFunction(ev, name, args, t, (result) => (out === undefined ? k(result) : ev.unifyValue(out, result, env, () => k(true))));
      },
    );
  }
  return ev.evalItems(inputs, 0, [], env, (args) =>
    callFunction(ev, name, args, t, (result) => {
      if (out === undefined) return k(result);
      return ev.unifyValue(out, result, env, () => k(true));
    }),
  );
}

export function arity(ev: Evaluator, name: string): number {
  let n = ev.program.arityCache.get(name);
  if (n === undefined) {
    n = computeArity(ev, name);
    ev.program.arityCache.set(name, n);
  }
  return n;
}

function computeArity(ev: Evaluator, name: string): number {
  const core = CORE_OPERATORS[name];
  if (core !== undefined) return core;
  if (name.startsWith('data.')) return ev.program.functions.get(name)?.[0]?.rule.args?.length ?? -1;
  const b = ev.program.ctx.builtins.get(name);
  if (b) return b.arity === 'variadic' ? -1 : b.arity;
  return -1;
}

/** Calls a function by resolved name with evaluated args; k gets each result. */
export function callFunction(ev: Evaluator, name: string, args: Value[], t: Term, k: KV): boolean {
  const mock = ev.scope.mocks.size > 0 ? ev.scope.mocks.get(name) : undefined;
  if (mock) {
    if (mock.kind === 'value') return k(mock.value);
    if (mock.name !== name) {
      const saved = ev.scope;
      // a mock runs against the original functions (it neither calls itself nor other mocks)
      ev.scope = { ...saved, mocks: new Map() };
      try {
        return callFunction(ev, mock.name, args, t, k);
      } finally {
        ev.scope = saved;
      }
    }
  }
  ev.budget.step();
  switch (name) {
    case 'equal':
      return k(equals(args[0] as Value, args[1] as Value));
    case 'neq':
      return k(!equals(args[0] as Value, args[1] as Value));
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte':
      return k(compareOp(name, args[0] as Value, args[1] as Value));
    case 'plus':
    case 'minus':
    case 'mul':
    case 'div':
    case 'rem':
    case 'and':
    case 'or': {
      const r = guard(ev, name, t, () => arith(name, args[0] as Value, args[1] as Value));
      return r === undefined ? false : k(r);
    }
    case 'internal.member_2':
      return k(member(args[0] as Value, args[1] as Value));
    case 'internal.member_3':
      return k(member3(args[0] as Value, args[1] as Value, args[2] as Value));
    case 'rego.metadata.rule': {
      const ann = ev.ruleStack[ev.ruleStack.length - 1]?.cr.rule.annotations;
      return k(ann instanceof ObjectValue && ann.get('scope') === 'rule' ? ann : new ObjectValue());
    }
    case 'rego.metadata.chain':
      return k(metadataChain(ev));
    case 'internal.template_with': {
      const set = args[0];
      if (!(set instanceof SetValue) || set.size === 0) return false;
      if (set.size > 1) throw new RegoError('eval_conflict_error', 'template expression produced multiple outputs', t.loc, true);
      return k(set.values()[0] as Value);
    }
    case 'eq':
      return k(equals(args[0] as Value, args[1] as Value));
    case 'assign':
      return k(equals(args[0] as Value, args[1] as Value));
  }
  if (name.startsWith('data.')) {
    const r = evalFunction(ev, name, args, t);
    return r === undefined ? false : k(r);
  }
  const host = ev.settings.hostFunctions.get(name);
  if (host) {
    let r: HostJson | undefined;
    try {
      r = host(args.map((a) => toJson(a)));
    } catch (e) {
      if (e instanceof RegoError) throw e;
      throw new RegoError('eval_builtin_error', `${name}: ${e instanceof Error ? e.message : String(e)}`, t.loc);
    }
    return r === undefined ? false : k(fromJson(r));
  }
  const def = ev.program.ctx.builtins.get(name);
  if (!def) throw new RegoError('eval_undefined_function', `undefined function ${name}`, t.loc);
  ev.budget.charge(inputUnits(args));
  const r = guard(ev, name, t, () => def.impl(args, builtinContext(ev, name)));
  // What the builtin built is charged, and the clock read, after every call: a loop of calls
  // that each stay under their own charge still ends at the deadline.
  ev.budget.charge(outputUnits(r));
  ev.budget.checkClock(0);
  if (r === undefined) return false;
  if (def.relation) {
    if (!Array.isArray(r)) return false;
    for (const x of r) if (k(x)) return true;
    return false;
  }
  return k(r);
}

/** Runs a builtin, converting its errors according to strict mode. */
function guard(ev: Evaluator, name: string, t: Term, f: () => Value | undefined): Value | undefined {
  try {
    return f();
  } catch (e) {
    if (e instanceof RegoError) throw e;
    if (e instanceof BuiltinError) {
      if (ev.settings.strict || e.halt) throw new RegoError(e.code, e.message, t.loc, true);
      return undefined;
    }
    if (isResourceExhaustion(e)) throw new RegoError('eval_budget_exceeded', `${name}: ${e.message}`, t.loc, true);
    const code: RegoErrorCode = 'eval_builtin_error';
    if (ev.settings.strict) throw new RegoError(code, `${name}: ${e instanceof Error ? e.message : String(e)}`, t.loc, true);
    return undefined;
  }
}

function evalPrint(ev: Evaluator, t: Extract<Term, { t: 'call' }>, env: Env, k: KV): boolean {
  const parts: string[] = [];
  for (const a of t.args) {
    const vals: Value[] = [];
    ev.evalTerm(a, env, (v) => {
      vals.push(v);
      return false;
    });
    if (vals.length === 0) parts.push('<undefined>');
    else parts.push(vals.map((v) => (typeof v === 'string' ? v : toRegoText(v))).join(' '));
  }
  ev.settings.print?.(parts.join(' '));
  return k(true);
}

/** The BuiltinContext of one evaluation: one object, its `name` set before each builtin call. */
export class EvalBuiltinContext implements BuiltinContext {
  name = '';
  readonly strict: boolean;
  private nowNsValue: bigint | undefined;
  private cacheMap: Map<string, unknown> | undefined;
  constructor(private readonly ev: Evaluator) {
    this.strict = ev.settings.strict;
  }
  /** time.now_ns is fixed for one evaluation (taken at first use). */
  get nowNs(): bigint {
    if (this.nowNsValue === undefined) this.nowNsValue = this.ev.settings.nowNs ?? BigInt(Date.now()) * 1_000_000n;
    return this.nowNsValue;
  }
  get cache(): Map<string, unknown> {
    if (this.cacheMap === undefined) this.cacheMap = new Map();
    return this.cacheMap;
  }
  print(line: string): void {
    this.ev.settings.print?.(line);
  }
  trace(note: string): void {
    this.ev.settings.print?.(note);
  }
  charge(units: number): void {
    this.ev.budget.charge(units);
  }
  remainingMs(): number {
    return this.ev.budget.remainingMs();
  }
  hostFunction(name: string): HostFn | undefined {
    return this.ev.settings.hostFunctions.get(name);
  }
}

function builtinContext(ev: Evaluator, name: string): BuiltinContext {
  const ctx = (ev.builtinCtx ??= new EvalBuiltinContext(ev));
  ctx.name = name;
  return ctx;
}

/**
 * Work units charged before a builtin runs: most builtins are linear in their arguments' shallow
 * size (about 10 ns a character, 20 ns an element); deeper work is metered by the traversals.
 */
function inputUnits(args: readonly Value[]): number {
  let units = 0;
  for (const a of args) {
    if (typeof a === 'string') units += a.length;
    else if (Array.isArray(a)) units += a.length * 2;
    else if (a instanceof ObjectValue || a instanceof SetValue) units += a.size * 2;
  }
  return units;
}

/** Work units for a builtin's result: what building it cost, shallowly (see workMeter.ts). */
function outputUnits(v: Value | undefined): number {
  if (typeof v === 'string') return v.length >> 3;
  if (Array.isArray(v)) return v.length * 2;
  if (v instanceof ObjectValue || v instanceof SetValue) return v.size * 4;
  return 0;
}

function member(x: Value, coll: Value): boolean {
  if (Array.isArray(coll)) return coll.some((e) => equals(e, x));
  if (coll instanceof SetValue) return coll.has(x);
  if (coll instanceof ObjectValue) return coll.values().some((e) => equals(e, x));
  return false;
}

function member3(key: Value, x: Value, coll: Value): boolean {
  if (Array.isArray(coll)) return isInteger(key) && typeof key === 'number' && key >= 0 && key < coll.length && equals(coll[key] as Value, x);
  if (coll instanceof ObjectValue) {
    const v = coll.get(key);
    return v !== undefined && equals(v, x);
  }
  if (coll instanceof SetValue) return equals(key, x) && coll.has(x);
  return false;
}
