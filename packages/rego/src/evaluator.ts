/**
 * Top-down evaluator with backtracking in continuation-passing style: every enumerating step
 * calls its continuation once per solution; a continuation returns true to stop the search.
 * Bindings live in one Map per rule/function invocation and are undone after each continuation.
 */
import type { Body, Literal, Term } from './ast.ts';
import { BuiltinError, isResourceExhaustion, type BuiltinContext, type HostJson } from './builtinContract.ts';
import { CORE_OPERATORS, type CompiledProgram, type CompiledRule, type RuleNode } from './compiler.ts';
import { RegoError, type RegoErrorCode } from './errors.ts';
import { arith, compareOp } from './operators.ts';
import { ObjectValue, SetValue, compare, equals, fromJson, isInteger, keyOf, toJson, toRegoText, type Value } from './value.ts';
import { Budget } from './eval/budget.ts';
import { baseIndex, index, insertPath, isStructural, mergeDocs, startsWith, structuralObject, upsert } from './eval/documents.ts';
import { MULTI, UNDEF, type Env, type EvalSettings, type HostFn, type K, type KV } from './eval/types.ts';
import { evalWith, initialScope, overlayAt, overlaysBelow, type Scope } from './eval/with.ts';

export type { EvalSettings, HostFn } from './eval/types.ts';

export class Evaluator {
  readonly budget: Budget;
  /** What `with` replaces (see eval/with.ts). */
  scope: Scope;
  private readonly inProgress = new Set<unknown>();
  private builtinCacheMap: Map<string, unknown> | undefined;
  /** Rules being evaluated, innermost last (for rego.metadata.rule/chain). */
  private readonly ruleStack: Array<{ readonly cr: CompiledRule; readonly path: Value[] }> = [];
  private nowNsValue: bigint | undefined;

  constructor(
    readonly program: CompiledProgram,
    readonly settings: EvalSettings,
  ) {
    this.budget = new Budget(settings.maxSteps, settings.timeoutMs, settings.maxDepth ?? 400);
    this.scope = initialScope(settings.input);
  }

  /** time.now_ns is fixed for one evaluation (taken at first use). */
  private get nowNs(): bigint {
    if (this.nowNsValue === undefined) this.nowNsValue = this.settings.nowNs ?? BigInt(Date.now()) * 1_000_000n;
    return this.nowNsValue;
  }

  private get builtinCache(): Map<string, unknown> {
    if (this.builtinCacheMap === undefined) this.builtinCacheMap = new Map();
    return this.builtinCacheMap;
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
        return this.evalTerm(lit.domain, env, (coll) => {
          if (!(Array.isArray(coll) || coll instanceof ObjectValue || coll instanceof SetValue)) return false;
          let ok = true;
          this.iterate(coll, (key, val) => {
            let found = false;
            const inner = (): boolean => {
              this.evalBody(lit.body, 0, env, () => {
                found = true;
                return true;
              });
              return false;
            };
            if (lit.key === undefined) this.unifyValue(lit.value, val, env, inner);
            else this.unifyValue(lit.key, key, env, () => this.unifyValue(lit.value, val, env, inner));
            if (!found) {
              ok = false;
              return true;
            }
            return false;
          });
          return ok ? k() : false;
        });
      case 'notbody':
        return this.evalBody(lit.body, 0, env, k);
    }
  }

  /** Iterates a collection as (key, value): arrays by index, objects by key, sets as (v, v). */
  private iterate(coll: Value, f: (k: Value, v: Value) => boolean): boolean {
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
  private hasFreeVars(t: Term, env: Env): boolean {
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
  private hasUnbound(t: Term, env: Env): boolean {
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
  private evalOne(t: Term, env: Env): Value | undefined | typeof MULTI {
    switch (t.t) {
      case 'val':
        return t.v;
      case 'var': {
        const v = env.get(t.name);
        if (v !== undefined) return v;
        if (t.name === 'input') return this.scope.input;
        return MULTI;
      }
      case 'ref': {
        if (this.scope.overlays.length > 0) return MULTI;
        const keys: Value[] = [];
        for (const p of t.path) {
          if (p.t === 'val') keys.push(p.v);
          else {
            const v = this.evalOne(p, env);
            if (v === MULTI || v === undefined) return v;
            keys.push(v);
          }
        }
        const head = t.head;
        let cur: Value | undefined;
        let i = 0;
        let inBase = false;
        if (head.t === 'var' && head.name === 'data' && !env.has('data')) {
          let node: RuleNode | undefined = this.program.root;
          let base: Value | undefined = this.settings.data;
          for (; i < keys.length; i++) {
            if (!node || !node.hasVirtual) break;
            if (node.hasRules()) {
              if (node.dynamic.length > 0 && node.complete.length === 0 && node.multi.length === 0 && node.children.size === 0) {
                cur = this.nodeKeyValue(node, keys[i] as Value);
                i++;
                node = undefined;
                base = undefined;
                break;
              }
              break;
            }
            const key = keys[i] as Value;
            let nb: Value | undefined = base === undefined ? undefined : index(base, key);
            if (nb === undefined && base instanceof ObjectValue && typeof key === 'number') nb = base.get(String(key));
            base = nb;
            node = node.children.get(keyOf(key));
          }
          if (node || base !== undefined) {
            if (node && node.hasVirtual) cur = this.materialize(node, base, node.path);
            else {
              cur = base;
              inBase = true;
            }
          }
        } else {
          const h = this.evalOne(head, env);
          if (h === MULTI) return MULTI;
          cur = h;
        }
        for (; i < keys.length && cur !== undefined; i++) cur = inBase ? baseIndex(cur, keys[i] as Value) : index(cur, keys[i] as Value);
        return cur;
      }
      case 'call': {
        const name = (t.fn as { name: string }).name;
        if (name === 'print' || name === 'eq' || name === 'assign') return MULTI;
        const n = this.arity(name);
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
        this.callFunction(name, args, t, (v) => {
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
        if (t.name === 'data') return this.evalDataRef([], 0, env, k);
        throw new RegoError('rego_unsafe_var_error', `var ${t.name.replace(/\$\d+$/, '')} is unsafe`, t.loc);
      }
      case 'ref':
        return this.evalRef(t, env, k);
      case 'arr':
        return this.evalItems(t.items, 0, [], env, (items) => k(items));
      case 'set':
        return this.evalItems(t.items, 0, [], env, (items) => k(SetValue.of(items)));
      case 'obj':
        return this.evalEntries(t.entries, 0, new ObjectValue(), env, k);
      case 'acomp': {
        const out: Value[] = [];
        this.evalBody(t.body, 0, env, () =>
          this.evalTerm(t.term, env, (v) => {
            out.push(v);
            return false;
          }),
        );
        return k(out);
      }
      case 'scomp': {
        const out = new SetValue();
        this.evalBody(t.body, 0, env, () =>
          this.evalTerm(t.term, env, (v) => {
            out.add(v);
            return false;
          }),
        );
        return k(out);
      }
      case 'ocomp': {
        const out = new ObjectValue();
        this.evalBody(t.body, 0, env, () =>
          this.evalTerm(t.key, env, (key) =>
            this.evalTerm(t.value, env, (v) => {
              const prev = out.get(key);
              if (prev !== undefined && !equals(prev, v)) throw new RegoError('eval_conflict_error', 'object keys must be unique', t.loc, true);
              out.set(key, v);
              return false;
            }),
          ),
        );
        return k(out);
      }
      case 'call':
        return this.evalCall(t, env, k);
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

  private evalItems(items: Term[], i: number, acc: Value[], env: Env, k: (items: Value[]) => boolean): boolean {
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

  // ------------------------------------------------------------------------------------------
  // references

  private evalRef(t: Extract<Term, { t: 'ref' }>, env: Env, k: KV): boolean {
    const head = t.head;
    if (head.t === 'var') {
      if (head.name === 'data' && !env.has('data')) return this.evalDataRef(t.path, 0, env, k);
      if (head.name === 'input' && !env.has('input')) {
        if (this.scope.input === undefined) return false;
        return this.walkValue(this.scope.input, t.path, 0, env, k);
      }
    }
    return this.evalTerm(head, env, (v) => this.walkValue(v, t.path, 0, env, k));
  }

  private walkValue(v: Value, path: Term[], i: number, env: Env, k: KV, base = false): boolean {
    if (i === path.length) return k(v);
    const p = path[i] as Term;
    if (base) {
      if (this.isGroundable(p, env)) {
        return this.evalTerm(p, env, (key) => {
          const x = baseIndex(v, key);
          return x === undefined ? false : this.walkValue(x, path, i + 1, env, k, true);
        });
      }
      return this.iterate(v, (key, x) => this.unifyValue(p, key, env, () => this.walkValue(x, path, i + 1, env, k, true)));
    }
    if (p.t === 'val') {
      const x = index(v, p.v);
      return x === undefined ? false : this.walkValue(x, path, i + 1, env, k);
    }
    if (this.isGroundable(p, env)) {
      return this.evalTerm(p, env, (key) => {
        const x = index(v, key);
        return x === undefined ? false : this.walkValue(x, path, i + 1, env, k);
      });
    }
    return this.iterate(v, (key, x) => this.unifyValue(p, key, env, () => this.walkValue(x, path, i + 1, env, k)));
  }

  /** A path term can be evaluated as a value (no unbound vars in pattern positions). */
  private isGroundable(p: Term, env: Env): boolean {
    return !this.hasUnbound(p, env);
  }

  private evalDataRef(path: Term[], i: number, env: Env, k: KV): boolean {
    return this.walkData(this.program.root, this.settings.data, [], path, i, env, k);
  }

  private walkData(node: RuleNode | undefined, base: Value | undefined, cur: Value[], path: Term[], i: number, env: Env, k: KV): boolean {
    const overlaid = this.scope.overlays.length > 0;
    if (overlaid) {
      const o = overlayAt(this.scope, cur);
      if (o) return this.walkValue(o.value, path, i, env, k);
    }
    const below = overlaid && overlaysBelow(this.scope, cur);
    if ((!node || !node.hasVirtual) && !below) return base === undefined ? false : this.walkValue(base, path, i, env, k, true);
    if (node && node.hasRules() && !below) {
      // ground key into a partial rule: evaluate only that key
      const p = path[i];
      if (p !== undefined && node.dynamic.length > 0 && node.complete.length === 0 && node.multi.length === 0 && node.children.size === 0 && this.isGroundable(p, env)) {
        return this.evalTerm(p, env, (key) => {
          const v = this.nodeKeyValue(node, key);
          return v === undefined ? false : this.walkValue(v, path, i + 1, env, k);
        });
      }
      const v = this.materialize(node, base, cur);
      return v === undefined ? false : this.walkValue(v, path, i, env, k);
    }
    if (i === path.length || (node && node.hasRules())) {
      const v = this.materialize(node, base, cur);
      return v === undefined ? false : this.walkValue(v, path, i, env, k);
    }
    const p = path[i] as Term;
    const step = (key: Value): boolean => {
      const child = node?.children.get(keyOf(key));
      let childBase = base === undefined ? undefined : index(base, key);
      // OPA's store addresses base documents by string keys: data[2] finds "2"
      if (childBase === undefined && base instanceof ObjectValue && typeof key === 'number') childBase = base.get(String(key));
      return this.walkData(child, childBase, [...cur, key], path, i + 1, env, k);
    };
    if (p.t === 'val') return step(p.v);
    if (this.isGroundable(p, env)) return this.evalTerm(p, env, step);
    // enumerate virtual children, overlays and base keys
    const keys = new Map<string, Value>();
    if (node) for (const [kk, c] of node.children) if (c.hasVirtual || (overlaid && overlaysBelow(this.scope, c.path))) keys.set(kk, c.key);
    if (overlaid) for (const o of this.scope.overlays) if (o.path.length > cur.length && startsWith(o.path, cur)) keys.set(keyOf(o.path[cur.length] as Value), o.path[cur.length] as Value);
    if (base instanceof ObjectValue) for (const key of base.keys()) keys.set(keyOf(key), key);
    const sorted = [...keys.values()].sort(compare);
    for (const key of sorted) {
      this.budget.step();
      if (this.unifyValue(p, key, env, () => step(key))) return true;
    }
    return false;
  }

  /** Full value of a data subtree: base data with virtual documents and overlays merged in. */
  private materialize(node: RuleNode | undefined, base: Value | undefined, cur: Value[]): Value | undefined {
    const overlaid = this.scope.overlays.length > 0;
    if (overlaid) {
      const o = overlayAt(this.scope, cur);
      if (o) return o.value;
    }
    const below = overlaid && overlaysBelow(this.scope, cur);
    if ((!node || !node.hasVirtual) && !below) return base;
    let out: Value | undefined;
    // base data at the path of a rule shadows the rule's scalar value (OPA and regorus agree)
    if (node && node.hasRules() && base !== undefined && !(base instanceof ObjectValue)) return base;
    if (node && node.hasRules()) {
      out = this.nodeValue(node);
      if (out instanceof ObjectValue && (node.children.size > 0 || below)) out = isStructural(out) ? structuralObject(out.clone()) : out.clone();
      else return out;
    } else out = structuralObject(base instanceof ObjectValue ? base.clone() : new ObjectValue());
    const obj = out as ObjectValue;
    const baseObj = node && node.hasRules() ? undefined : base instanceof ObjectValue ? base : undefined;
    if (node) {
      for (const c of node.children.values()) {
        const cpath = [...cur, c.key];
        if (!c.hasVirtual && !(overlaid && (overlaysBelow(this.scope, cpath) || overlayAt(this.scope, cpath)))) continue;
        let cv = this.materialize(c, baseObj?.get(c.key), cpath);
        // OPA merges a package's extent over its base document; where a rule and base data both
        // define a non-object value, the base document wins
        const baseChild = baseObj?.get(c.key);
        if (cv !== undefined && baseChild !== undefined && c.hasRules() && !(cv instanceof ObjectValue && baseChild instanceof ObjectValue)) cv = baseChild;
        if (cv !== undefined) {
          const prev = node.hasRules() ? obj.get(c.key) : undefined;
          obj.set(c.key, prev === undefined ? cv : mergeDocs(prev, cv));
        } else if (!node.hasRules()) obj.delete(c.key);
      }
    }
    if (overlaid) {
      for (const o of this.scope.overlays) {
        if (o.path.length <= cur.length || !startsWith(o.path, cur)) continue;
        const key = o.path[cur.length] as Value;
        if (node?.children.has(keyOf(key))) continue;
        obj.set(key, upsert(obj.get(key), o.path.slice(cur.length + 1), o.value));
      }
    }
    return obj;
  }

  // ------------------------------------------------------------------------------------------
  // rules

  private nodeValue(node: RuleNode): Value | undefined {
    const cached = this.scope.cache.get(node);
    if (cached !== undefined) return cached === UNDEF ? undefined : cached;
    if (this.inProgress.has(node)) throw new RegoError('rego_recursion_error', `rule data.${node.path.map(String).join('.')} is recursive`);
    this.inProgress.add(node);
    this.budget.enter();
    let result: Value | undefined;
    try {
      result = this.computeNode(node);
    } finally {
      this.inProgress.delete(node);
      this.budget.leave();
    }
    this.scope.cache.set(node, result === undefined ? UNDEF : result);
    return result;
  }

  private computeNode(node: RuleNode): Value | undefined {
    if (node.complete.length > 0 || (node.defaultRule && node.multi.length === 0 && node.dynamic.length === 0)) {
      let value: Value | undefined;
      for (const cr of node.complete) {
        const v = this.evalCompleteRule(cr);
        if (v === undefined) continue;
        if (value !== undefined && !equals(value, v)) throw new RegoError('eval_conflict_error', 'complete rules must not produce multiple outputs', cr.rule.loc, true);
        value = v;
      }
      if (value === undefined && node.defaultRule) {
        this.evalTerm(node.defaultRule.rule.value, new Map(), (v) => {
          value = v;
          return true;
        });
      }
      return value;
    }
    if (node.multi.length > 0) {
      const out = new SetValue();
      for (const cr of node.multi) {
        const env: Env = new Map();
        this.inRule(cr, node.path, () =>
          this.evalBody(cr.rule.body, 0, env, () =>
            this.evalTerm(cr.rule.key as Term, env, (v) => {
              out.add(v);
              return false;
            }),
          ),
        );
      }
      return out;
    }
    // dynamic (ref-head / partial object) rules
    const out = structuralObject();
    for (const cr of node.dynamic) this.collectDynamic(cr, out, undefined);
    if (out.size === 0 && node.defaultRule) {
      let value: Value | undefined;
      this.evalTerm(node.defaultRule.rule.value, new Map(), (v) => {
        value = v;
        return true;
      });
      return value;
    }
    return out;
  }

  /** Evaluates a dynamic rule, inserting its solutions into `out` (optionally only for one key). */
  private collectDynamic(cr: CompiledRule, out: ObjectValue, onlyKey: Value | undefined): void {
    this.inRule(cr, cr.node.path, () => this.collectDynamicIn(cr, out, onlyKey));
  }

  private collectDynamicIn(cr: CompiledRule, out: ObjectValue, onlyKey: Value | undefined): void {
    const rule = cr.rule;
    const run = (body: Body, valueTerm: Term): boolean => {
      const env: Env = new Map();
      let any = false;
      const withKey = (k: K): boolean => (onlyKey === undefined ? k() : this.unifyValue(cr.suffix[0] as Term, onlyKey, env, k));
      withKey(() =>
        this.evalBody(body, 0, env, () =>
          this.evalItems(cr.suffix, 0, [], env, (keys) => {
            if (rule.kind === 'multi') {
              return this.evalTerm(rule.key as Term, env, (elem) => {
                any = true;
                insertPath(out, keys, elem, true, rule);
                return false;
              });
            }
            return this.evalTerm(valueTerm, env, (v) => {
              any = true;
              insertPath(out, keys, v, false, rule);
              return false;
            });
          }),
        ),
      );
      return any;
    };
    if (run(rule.body, rule.value)) return;
    for (const e of rule.elses) if (run(e.body, e.value)) return;
  }

  private nodeKeyValue(node: RuleNode, key: Value): Value | undefined {
    let m = this.scope.keyCache.get(node);
    if (!m) this.scope.keyCache.set(node, (m = new Map()));
    const kk = keyOf(key);
    const c = m.get(kk);
    if (c !== undefined) return c === UNDEF ? undefined : c;
    const full = this.scope.cache.get(node);
    if (full !== undefined) return full === UNDEF ? undefined : index(full, key);
    const marker = { node, kk };
    if (this.inProgress.has(node)) throw new RegoError('rego_recursion_error', `rule data.${node.path.map(String).join('.')} is recursive`);
    this.inProgress.add(node);
    this.budget.enter();
    const out = new ObjectValue();
    try {
      for (const cr of node.dynamic) this.collectDynamic(cr, out, key);
    } finally {
      this.inProgress.delete(node);
      this.budget.leave();
    }
    void marker;
    const v = out.get(key);
    m.set(kk, v === undefined ? UNDEF : v);
    return v;
  }

  private inRule<T>(cr: CompiledRule, path: Value[], f: () => T): T {
    this.ruleStack.push({ cr, path });
    try {
      return f();
    } finally {
      this.ruleStack.pop();
    }
  }

  private evalCompleteRule(cr: CompiledRule): Value | undefined {
    return this.inRule(cr, cr.node.path, () => this.evalCompleteRuleIn(cr));
  }

  private evalCompleteRuleIn(cr: CompiledRule): Value | undefined {
    const rule = cr.rule;
    const branches: Array<{ body: Body; value: Term }> = [{ body: rule.body, value: rule.value }, ...rule.elses];
    for (const br of branches) {
      let value: Value | undefined;
      const env: Env = new Map();
      // a constant value cannot conflict with itself: stop at the first solution (OPA's early exit)
      const constant = br.value.t === 'val';
      this.evalBody(br.body, 0, env, () =>
        this.evalTerm(br.value, env, (v) => {
          if (value !== undefined && !equals(value, v)) throw new RegoError('eval_conflict_error', 'complete rules must not produce multiple outputs', rule.loc, true);
          value = v;
          return constant;
        }),
      );
      if (value !== undefined) return value;
    }
    return undefined;
  }

  // ------------------------------------------------------------------------------------------
  // calls

  private evalCall(t: Extract<Term, { t: 'call' }>, env: Env, k: KV): boolean {
    const name = (t.fn as { name: string }).name;
    if (name === 'print') return this.evalPrint(t, env, k);
    const n = this.arity(name);
    const inputs = n >= 0 && t.args.length === n + 1 ? t.args.slice(0, n) : t.args;
    const out = n >= 0 && t.args.length === n + 1 ? t.args[n] : undefined;
    const deferred = inputs.some((a) => a.t === 'var' && !env.has(a.t === 'var' ? a.name : '') && a.name !== 'input' && a.name !== 'data');
    if (deferred) {
      // a bare var bound by a ref in another argument (`x == xs[x]`): evaluate the others first
      const order = inputs.map((a, idx) => [a, idx] as const).sort((p, q) => Number(p[0].t === 'var') - Number(q[0].t === 'var'));
      return this.evalItems(
        order.map((o) => o[0]),
        0,
        [],
        env,
        (vals) => {
          const args: Value[] = new Array<Value>(vals.length);
          order.forEach((o, j) => (args[o[1]] = vals[j] as Value));
          return this.callFunction(name, args, t, (result) => (out === undefined ? k(result) : this.unifyValue(out, result, env, () => k(true))));
        },
      );
    }
    return this.evalItems(inputs, 0, [], env, (args) =>
      this.callFunction(name, args, t, (result) => {
        if (out === undefined) return k(result);
        return this.unifyValue(out, result, env, () => k(true));
      }),
    );
  }

  private arity(name: string): number {
    let n = this.program.arityCache.get(name);
    if (n === undefined) {
      n = this.computeArity(name);
      this.program.arityCache.set(name, n);
    }
    return n;
  }

  private computeArity(name: string): number {
    const core = CORE_OPERATORS[name];
    if (core !== undefined) return core;
    if (name.startsWith('data.')) return this.program.functions.get(name)?.[0]?.rule.args?.length ?? -1;
    const b = this.program.ctx.builtins.get(name);
    if (b) return b.arity === 'variadic' ? -1 : b.arity;
    return -1;
  }

  /** Calls a function by resolved name with evaluated args; k gets each result. */
  private callFunction(name: string, args: Value[], t: Term, k: KV): boolean {
    const mock = this.scope.mocks.size > 0 ? this.scope.mocks.get(name) : undefined;
    if (mock) {
      if (mock.kind === 'value') return k(mock.value);
      if (mock.name !== name) {
        const saved = this.scope;
        // a mock runs against the original functions (it neither calls itself nor other mocks)
        this.scope = { ...saved, mocks: new Map() };
        try {
          return this.callFunction(mock.name, args, t, k);
        } finally {
          this.scope = saved;
        }
      }
    }
    this.budget.step();
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
        const r = this.guard(name, t, () => arith(name, args[0] as Value, args[1] as Value));
        return r === undefined ? false : k(r);
      }
      case 'internal.member_2':
        return k(member(args[0] as Value, args[1] as Value));
      case 'internal.member_3':
        return k(member3(args[0] as Value, args[1] as Value, args[2] as Value));
      case 'rego.metadata.rule': {
        const ann = this.ruleStack[this.ruleStack.length - 1]?.cr.rule.annotations;
        return k(ann instanceof ObjectValue && ann.get('scope') === 'rule' ? ann : new ObjectValue());
      }
      case 'rego.metadata.chain':
        return k(this.metadataChain());
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
      const r = this.evalFunction(name, args, t);
      return r === undefined ? false : k(r);
    }
    const host = this.settings.hostFunctions.get(name);
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
    const def = this.program.ctx.builtins.get(name);
    if (!def) throw new RegoError('eval_undefined_function', `undefined function ${name}`, t.loc);
    this.budget.charge(inputUnits(args));
    const r = this.guard(name, t, () => def.impl(args, this.builtinContext(name)));
    // What the builtin built is charged, and the clock read, after every call: a loop of calls
    // that each stay under their own charge still ends at the deadline.
    this.budget.charge(outputUnits(r));
    this.budget.checkClock(0);
    if (r === undefined) return false;
    if (def.relation) {
      if (!Array.isArray(r)) return false;
      for (const x of r) if (k(x)) return true;
      return false;
    }
    return k(r);
  }

  /** rego.metadata.chain(): the current rule's annotations, its document's, then its package's. */
  private metadataChain(): Value {
    const top = this.ruleStack[this.ruleStack.length - 1];
    if (!top) return [];
    const entry = (path: Value[], annotations: Value | undefined): Value => {
      const o = new ObjectValue().set('path', path);
      if (annotations !== undefined) o.set('annotations', annotations);
      return o;
    };
    const scopeOf = (a: Value | undefined): Value | undefined => (a instanceof ObjectValue ? a.get('scope') : undefined);
    const own = top.cr.rule.annotations;
    const chain: Value[] = [entry(top.path, scopeOf(own) === 'rule' ? own : undefined)];
    const siblings: CompiledRule[] = top.cr.rule.kind === 'func'
      ? (this.program.functions.get(['data', ...top.path].join('.')) ?? [])
      : [...top.cr.node.complete, ...top.cr.node.multi, ...top.cr.node.dynamic, ...(top.cr.node.defaultRule ? [top.cr.node.defaultRule] : [])];
    for (const s of siblings) {
      const a = s.rule.annotations;
      if (scopeOf(a) === 'document') chain.push(entry(top.path, a));
    }
    const pkg = top.cr.pkg;
    if (pkg !== undefined) {
      const pa = this.program.packageAnnotations.get(keyOf(pkg));
      if (pa !== undefined) chain.push(entry(pkg, pa));
    }
    return chain;
  }

  /** Runs a builtin, converting its errors according to strict mode. */
  private guard(name: string, t: Term, f: () => Value | undefined): Value | undefined {
    try {
      return f();
    } catch (e) {
      if (e instanceof RegoError) throw e;
      if (e instanceof BuiltinError) {
        if (this.settings.strict || e.halt) throw new RegoError(e.code, e.message, t.loc, true);
        return undefined;
      }
      if (isResourceExhaustion(e)) throw new RegoError('eval_budget_exceeded', `${name}: ${e.message}`, t.loc, true);
      const code: RegoErrorCode = 'eval_builtin_error';
      if (this.settings.strict) throw new RegoError(code, `${name}: ${e instanceof Error ? e.message : String(e)}`, t.loc, true);
      return undefined;
    }
  }

  private ctx: EvalBuiltinContext | undefined;

  /** One context object per evaluation, its `name` set before each builtin call. */
  private builtinContext(name: string): BuiltinContext {
    if (this.ctx === undefined) this.ctx = new EvalBuiltinContext(this, this.settings);
    this.ctx.name = name;
    return this.ctx;
  }

  /** @internal for EvalBuiltinContext */
  currentNowNs(): bigint {
    return this.nowNs;
  }

  /** @internal for EvalBuiltinContext */
  sharedBuiltinCache(): Map<string, unknown> {
    return this.builtinCache;
  }


  private evalFunction(name: string, args: Value[], t: Term): Value | undefined {
    const defs = this.program.functions.get(name);
    if (!defs || defs.length === 0) throw new RegoError('eval_undefined_function', `undefined function ${name}`, t.loc);
    if (this.inProgress.has(name)) throw new RegoError('rego_recursion_error', `function ${name} is recursive`, t.loc);
    this.inProgress.add(name);
    this.budget.enter();
    let result: Value | undefined;
    try {
      for (const cr of defs) {
        const rule = cr.rule;
        if (rule.isDefault) continue;
        const params = rule.args ?? [];
        if (params.length !== args.length) continue;
        const branches: Array<{ body: Body; value: Term }> = [{ body: rule.body, value: rule.value }, ...rule.elses];
        this.ruleStack.push({ cr, path: name.split('.').slice(1) });
        try {
          for (const br of branches) {
            let found = false;
            const env: Env = new Map();
            // params such as template strings may use vars only the body binds: compare them after it
            const deferred: number[] = [];
            const checkDeferred = (j: number, k: K): boolean => {
              if (j === deferred.length) return k();
              const idx = deferred[j] as number;
              return this.unifyValue(params[idx] as Term, args[idx] as Value, env, () => checkDeferred(j + 1, k));
            };
            const bindParams = (i: number): boolean => {
              if (i === params.length) {
                return this.evalBody(br.body, 0, env, () =>
                  checkDeferred(0, () =>
                  this.evalTerm(br.value, env, (v) => {
                    found = true;
                    if (result !== undefined && !equals(result, v)) throw new RegoError('eval_conflict_error', 'functions must not produce multiple outputs for same inputs', rule.loc, true);
                    result = v;
                    return br.value.t === 'val';
                  }),
                  ),
                );
              }
              const param = params[i] as Term;
              if ((param.t === 'tmpl' || param.t === 'call') && this.hasFreeVars(param, env)) {
                deferred.push(i);
                try {
                  return bindParams(i + 1);
                } finally {
                  deferred.pop();
                }
              }
              return this.unifyValue(param, args[i] as Value, env, () => bindParams(i + 1));
            };
            bindParams(0);
            if (found) break;
          }
        } finally {
          this.ruleStack.pop();
        }
      }
      if (result === undefined) {
        const def = defs.find((d) => d.rule.isDefault);
        if (def) {
          this.evalTerm(def.rule.value, new Map(), (v) => {
            result = v;
            return true;
          });
        }
      }
    } finally {
      this.inProgress.delete(name);
      this.budget.leave();
    }
    return result;
  }

  private evalPrint(t: Extract<Term, { t: 'call' }>, env: Env, k: KV): boolean {
    const parts: string[] = [];
    for (const a of t.args) {
      const vals: Value[] = [];
      this.evalTerm(a, env, (v) => {
        vals.push(v);
        return false;
      });
      if (vals.length === 0) parts.push('<undefined>');
      else parts.push(vals.map((v) => (typeof v === 'string' ? v : toRegoText(v))).join(' '));
    }
    this.settings.print?.(parts.join(' '));
    return k(true);
  }
}

// ---------------------------------------------------------------------------------------------
// helpers

class EvalBuiltinContext implements BuiltinContext {
  name = '';
  readonly strict: boolean;
  constructor(
    private readonly ev: Evaluator,
    private readonly settings: EvalSettings,
  ) {
    this.strict = settings.strict;
  }
  get nowNs(): bigint {
    return this.ev.currentNowNs();
  }
  get cache(): Map<string, unknown> {
    return this.ev.sharedBuiltinCache();
  }
  print(line: string): void {
    this.settings.print?.(line);
  }
  trace(note: string): void {
    this.settings.print?.(note);
  }
  charge(units: number): void {
    this.ev.budget.charge(units);
  }
  remainingMs(): number {
    return this.ev.budget.remainingMs();
  }
  hostFunction(name: string): HostFn | undefined {
    return this.settings.hostFunctions.get(name);
  }
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
