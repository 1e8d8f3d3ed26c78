/**
 * Top-down evaluator with backtracking in continuation-passing style: every enumerating step
 * calls its continuation once per solution; a continuation returns true to stop the search.
 * Bindings live in one Map per rule/function invocation and are undone after each continuation.
 */
import type { Body, Literal, Term } from './ast.ts';
import type { CompiledProgram, CompiledRule } from './compiler.ts';
import { RegoError } from './errors.ts';
import { ObjectValue, SetValue, equals, toRegoText, type Value } from './value.ts';
import { Budget } from './eval/budget.ts';
import { evalCall, arity, callFunction, type EvalBuiltinContext } from './eval/calls.ts';
import { evalComprehension, evalEvery } from './eval/comprehensions.ts';
import { evalRef, evalDataRef, refValue } from './eval/refs.ts';
import { MULTI, type Env, type EvalSettings, type K, type KV } from './eval/types.ts';
import { evalWith, initialScope, type Scope } from './eval/with.ts';

export type { EvalSettings, HostFn } from './eval/types.ts';

/**
 * One evaluation: its program, settings, budget and `with` scope, and the core of the search
 * (bodies, literals, unification, terms). References, rules, calls, comprehensions and `with`
 * live in eval/*.ts as functions of the Evaluator.
 */
export class Evaluator {
  readonly budget: Budget;
  /** What `with` replaces (see eval/with.ts). */
  scope: Scope;
  /** Rules and functions being evaluated (recursion check, eval/rules.ts). */
  readonly inProgress = new Set<unknown>();
  /** Rules being evaluated, innermost last (for rego.metadata.rule/chain). */
  readonly ruleStack: Array<{ readonly cr: CompiledRule; readonly path: Value[] }> = [];
  /** The evaluation's one BuiltinContext, made at the first builtin call (eval/calls.ts). */
  builtinCtx: EvalBuiltinContext | undefined;

  constructor(
    readonly program: CompiledProgram,
    readonly settings: EvalSettings,
  ) {
    this.budget = new Budget(settings.maxSteps, settings.timeoutMs, settings.maxDepth ?? 400);
    this.scope = initialScope(settings.input);
  }

  // ------------------------------------------------------------------------------------------
  // queries

  /** Runs a compiled query body; calls onSolution with the bindings for each solution. */
  query(body: Body, onSolution: (env: Env) => void): void {
    const env: Env = new Map();
    this.evalBody(body, 0, env, () => {
      onSolution(env);
      return false;
    });
  }

  // ------------------------------------------------------------------------------------------
  // bodies and literals

  evalBody(body: Body, i: number, env: Env, k: K): boolean {
    // Straight-line literals with a single value (checks, `x := <single value>`) run in a loop:
    // long bodies then cost no stack, and the common case allocates no continuation.
    let bound: string[] | undefined;
    try {
      for (; i < body.length; i++) {
        const lit = body[i] as Literal;
        if (lit.with.length > 0 || lit.kind !== 'expr') break;
        const t = lit.term;
        if (t.t === 'call' && t.fn.t === 'var' && (t.fn.name === 'assign' || t.fn.name === 'eq')) {
          if (lit.negated) break;
          const a = t.args[0] as Term;
          const b = t.args[1] as Term;
          if (a.t === 'var' && a.name !== 'input' && a.name !== 'data' && !env.has(a.name)) {
            const v = this.evalOne(b, env);
            if (v === MULTI) break;
            this.budget.step();
            if (v === undefined) return false;
            env.set(a.name, v);
            (bound ??= []).push(a.name);
            continue;
          }
          if (this.hasUnbound(a, env) || this.hasUnbound(b, env)) break;
          const va = this.evalOne(a, env);
          if (va === MULTI) break;
          const vb = this.evalOne(b, env);
          if (vb === MULTI) break;
          this.budget.step();
          if (va === undefined || vb === undefined || !equals(va, vb)) return false;
          continue;
        }
        const v = this.evalOne(t, env);
        if (v === MULTI) break;
        this.budget.step();
        const ok = v !== undefined && v !== false;
        if (ok === lit.negated) return false;
      }
      if (i === body.length) return k();
      this.budget.step();
      const lit = body[i] as Literal;
      const next: K = i + 1 === body.length ? k : () => this.evalBody(body, i + 1, env, k);
      if (lit.with.length > 0) return evalWith(this, lit, env, next);
      return this.evalLiteral(lit, env, next);
    } finally {
      if (bound !== undefined) for (const name of bound) env.delete(name);
    }
  }

  evalLiteral(lit: Literal, env: Env, k: K): boolean {
    if (lit.negated) {
      let found = false;
      this.evalPositive(lit, env, () => {
        found = true;
        return true;
      });
      return found ? false : k();
    }
    return this.evalPositive(lit, env, k);
  }

  private evalPositive(lit: Literal, env: Env, k: K): boolean {
    switch (lit.kind) {
      case 'expr':
        return this.evalExpr(lit.term, env, k);
      case 'some':
        return k();
      case 'somein':
        return this.evalTerm(lit.domain, env, (coll) =>
          this.iterate(coll, (key, val) => {
            if (lit.key === undefined) return this.unifyValue(lit.value, val, env, k);
            return this.unifyValue(lit.key, key, env, () => this.unifyValue(lit.value, val, env, k));
          }),
        );
      case 'every':
        return evalEvery(this, lit, env, k);
      case 'notbody':
        return this.evalBody(lit.body, 0, env, k);
    }
  }

  /** Iterates a collection as (key, value): arrays by index, objects by key, sets as (v, v). */
  iterate(coll: Value, f: (k: Value, v: Value) => boolean): boolean {
    if (Array.isArray(coll)) {
      for (let i = 0; i < coll.length; i++) {
        this.budget.step();
        if (f(i, coll[i] as Value)) return true;
      }
    } else if (coll instanceof ObjectValue) {
      for (const [key, v] of coll.entries()) {
        this.budget.step();
        if (f(key, v)) return true;
      }
    } else if (coll instanceof SetValue) {
      for (const v of coll.values()) {
        this.budget.step();
        if (f(v, v)) return true;
      }
    }
    return false;
  }

  private evalExpr(t: Term, env: Env, k: K): boolean {
    if (t.t === 'call' && t.fn.t === 'var') {
      const name = t.fn.name;
      if (name === 'eq' || name === 'assign') return this.unify(t.args[0] as Term, t.args[1] as Term, env, k);
    }
    return this.evalTerm(t, env, (v) => (v === false ? false : k()));
  }

  // ------------------------------------------------------------------------------------------
  // unification

  private unify(a: Term, b: Term, env: Env, k: K): boolean {
    const pa = this.hasUnbound(a, env);
    if (pa) {
      const pb = this.hasUnbound(b, env);
      if (pb) {
        if (a.t === 'arr' && b.t === 'arr') {
          if (a.items.length !== b.items.length) return false;
          return this.unifyItems(a.items, b.items, 0, env, k);
        }
        if (a.t === 'var' && b.t !== 'var') return this.evalTerm(b, env, (v) => this.unifyValue(a, v, env, k));
        if (b.t === 'var' && a.t !== 'var') return this.evalTerm(a, env, (v) => this.unifyValue(b, v, env, k));
        if (a.t === 'obj' && b.t === 'obj') {
          if (a.entries.length !== b.entries.length) return false;
          return this.evalItems(a.entries.map((e) => e[0]), 0, [], env, (ka) =>
            this.evalItems(b.entries.map((e) => e[0]), 0, [], env, (kb) => {
              const left: Term[] = [];
              const right: Term[] = [];
              for (let i = 0; i < ka.length; i++) {
                const j = kb.findIndex((x) => equals(x, ka[i] as Value));
                if (j < 0) return false;
                left.push((a.entries[i] as [Term, Term])[1]);
                right.push((b.entries[j] as [Term, Term])[1]);
              }
              return this.unifyItems(left, right, 0, env, k);
            }),
          );
        }
        throw new RegoError('rego_unsafe_var_error', 'unification of two unbound terms', a.loc);
      }
      return this.evalTerm(b, env, (v) => this.unifyValue(a, v, env, k));
    }
    return this.evalTerm(a, env, (v) => this.unifyValue(b, v, env, k));
  }

  private unifyItems(a: Term[], b: Term[], i: number, env: Env, k: K): boolean {
    if (i === a.length) return k();
    return this.unify(a[i] as Term, b[i] as Term, env, () => this.unifyItems(a, b, i + 1, env, k));
  }

  /** Does the term use any unbound var (anywhere, comprehensions excluded)? */
  hasFreeVars(t: Term, env: Env): boolean {
    switch (t.t) {
      case 'var':
        return t.name !== 'input' && t.name !== 'data' && !env.has(t.name);
      case 'ref':
        return this.hasFreeVars(t.head, env) || t.path.some((p) => this.hasFreeVars(p, env));
      case 'arr':
      case 'set':
        return t.items.some((i) => this.hasFreeVars(i, env));
      case 'obj':
        return t.entries.some(([k, v]) => this.hasFreeVars(k, env) || this.hasFreeVars(v, env));
      case 'call':
        return t.args.some((a) => this.hasFreeVars(a, env));
      case 'tmpl':
        return t.parts.some((p) => typeof p !== 'string' && this.hasFreeVars(p, env));
      default:
        return false;
    }
  }

  /** Does the term contain a var that is not bound (in pattern positions or refs)? */
  hasUnbound(t: Term, env: Env): boolean {
    switch (t.t) {
      case 'var':
        return t.name !== 'input' && t.name !== 'data' && !env.has(t.name);
      case 'arr':
        return t.items.some((i) => this.hasUnbound(i, env));
      case 'obj':
        return t.entries.some(([, v]) => this.hasUnbound(v, env));
      default:
        return false;
    }
  }

  unifyValue(t: Term, v: Value, env: Env, k: K): boolean {
    switch (t.t) {
      case 'var': {
        if (t.name === 'input' || t.name === 'data') return this.evalTerm(t, env, (x) => (equals(x, v) ? k() : false));
        const cur = env.get(t.name);
        if (cur !== undefined) return equals(cur, v) ? k() : false;
        env.set(t.name, v);
        try {
          return k();
        } finally {
          env.delete(t.name);
        }
      }
      case 'val':
        return equals(t.v, v) ? k() : false;
      case 'arr': {
        if (!Array.isArray(v) || v.length !== t.items.length) return false;
        const go = (i: number): boolean => (i === v.length ? k() : this.unifyValue(t.items[i] as Term, v[i] as Value, env, () => go(i + 1)));
        return go(0);
      }
      case 'obj': {
        if (!(v instanceof ObjectValue) || v.size !== t.entries.length) return false;
        const go = (i: number): boolean => {
          if (i === t.entries.length) return k();
          const [kt, vt] = t.entries[i] as [Term, Term];
          return this.evalTerm(kt, env, (key) => {
            const x = v.get(key);
            if (x === undefined) return false;
            return this.unifyValue(vt, x, env, () => go(i + 1));
          });
        };
        return go(0);
      }
      default:
        return this.evalTerm(t, env, (x) => (equals(x, v) ? k() : false));
    }
  }

  // ------------------------------------------------------------------------------------------
  // terms

  /**
   * Fast path for terms with at most one value (no unbound vars to enumerate): returns the
   * value, undefined, or MULTI when the general CPS evaluation is needed.
   */
  evalOne(t: Term, env: Env): Value | undefined | typeof MULTI {
    switch (t.t) {
      case 'val':
        return t.v;
      case 'var': {
        const v = env.get(t.name);
        if (v !== undefined) return v;
        if (t.name === 'input') return this.scope.input;
        return MULTI;
      }
      case 'ref':
        return refValue(this, t, env);
      case 'call': {
        const name = (t.fn as { name: string }).name;
        if (name === 'print' || name === 'eq' || name === 'assign') return MULTI;
        const n = arity(this, name);
        if (n >= 0 && t.args.length !== n) return MULTI;
        if (n < 0 && !this.settings.hostFunctions.has(name)) return MULTI;
        const args: Value[] = [];
        for (const a of t.args) {
          const v = this.evalOne(a, env);
          if (v === MULTI || v === undefined) return v;
          args.push(v);
        }
        let result: Value | undefined;
        let count = 0;
        callFunction(this, name, args, t, (v) => {
          result = v;
          count++;
          return false;
        });
        if (count > 1) return MULTI;
        return result;
      }
      case 'arr': {
        const out: Value[] = [];
        for (const item of t.items) {
          const v = this.evalOne(item, env);
          if (v === MULTI || v === undefined) return v;
          out.push(v);
        }
        return out;
      }
      case 'set': {
        const out = new SetValue();
        for (const item of t.items) {
          const v = this.evalOne(item, env);
          if (v === MULTI || v === undefined) return v;
          out.add(v);
        }
        return out;
      }
      case 'obj': {
        const out = new ObjectValue();
        for (const [kt, vt] of t.entries) {
          const key = this.evalOne(kt, env);
          if (key === MULTI || key === undefined) return key;
          const v = this.evalOne(vt, env);
          if (v === MULTI || v === undefined) return v;
          const prev = out.get(key);
          if (prev !== undefined && !equals(prev, v)) throw new RegoError('eval_conflict_error', 'object keys must be unique', kt.loc, true);
          out.set(key, v);
        }
        return out;
      }
      default:
        return MULTI;
    }
  }

  evalTerm(t: Term, env: Env, k: KV): boolean {
    if (t.t === 'ref' || t.t === 'call' || t.t === 'arr' || t.t === 'obj' || t.t === 'set') {
      const v = this.evalOne(t, env);
      if (v !== MULTI) return v === undefined ? false : k(v);
    }
    switch (t.t) {
      case 'val':
        return k(t.v);
      case 'var': {
        const v = env.get(t.name);
        if (v !== undefined) return k(v);
        if (t.name === 'input') return this.scope.input === undefined ? false : k(this.scope.input);
        if (t.name === 'data') return evalDataRef(this, [], 0, env, k);
        throw new RegoError('rego_unsafe_var_error', `var ${t.name.replace(/\$\d+$/, '')} is unsafe`, t.loc);
      }
      case 'ref':
        return evalRef(this, t, env, k);
      case 'arr':
        return this.evalItems(t.items, 0, [], env, (items) => k(items));
      case 'set':
        return this.evalItems(t.items, 0, [], env, (items) => k(SetValue.of(items)));
      case 'obj':
        return this.evalEntries(t.entries, 0, new ObjectValue(), env, k);
      case 'acomp':
      case 'scomp':
      case 'ocomp':
        return evalComprehension(this, t, env, k);
      case 'call':
        return evalCall(this, t, env, k);
      case 'tmpl': {
        let s = '';
        for (const p of t.parts) {
          if (typeof p === 'string') {
            s += p;
            continue;
          }
          const vals: Value[] = [];
          this.evalTerm(p, env, (v) => {
            vals.push(v);
            return false;
          });
          if (vals.length === 0) s += '<undefined>';
          else if (vals.length > 1) throw new RegoError('eval_conflict_error', 'template expression produced multiple outputs', t.loc);
          else s += typeof vals[0] === 'string' ? vals[0] : toRegoText(vals[0] as Value);
        }
        return k(s);
      }
    }
  }

  evalItems(items: Term[], i: number, acc: Value[], env: Env, k: (items: Value[]) => boolean): boolean {
    if (i === items.length) return k(acc.slice());
    return this.evalTerm(items[i] as Term, env, (v) => {
      acc.push(v);
      try {
        return this.evalItems(items, i + 1, acc, env, k);
      } finally {
        acc.pop();
      }
    });
  }

  private evalEntries(entries: Array<[Term, Term]>, i: number, acc: ObjectValue, env: Env, k: KV): boolean {
    if (i === entries.length) return k(acc.clone());
    const [kt, vt] = entries[i] as [Term, Term];
    return this.evalTerm(kt, env, (key) =>
      this.evalTerm(vt, env, (v) => {
        const had = acc.get(key);
        if (had !== undefined && !equals(had, v)) throw new RegoError('eval_conflict_error', 'object keys must be unique', kt.loc, true);
        acc.set(key, v);
        try {
          return this.evalEntries(entries, i + 1, acc, env, k);
        } finally {
          if (had === undefined) acc.delete(key);
          else acc.set(key, had);
        }
      }),
    );
  }
}
