/**
 * Rule and function evaluation: the value of a rule node (complete, multi-value and ref-head
 * rules, defaults, else chains) cached per `with` scope, single keys of partial rules, user
 * functions, recursion and conflict errors, and the rule stack behind rego.metadata.*.
 */
import type { Body, Term } from '../ast.ts';
import type { CompiledRule, RuleNode } from '../compiler.ts';
import { RegoError } from '../errors.ts';
import type { Evaluator } from '../evaluator.ts';
import { ObjectValue, SetValue, equals, keyOf, type Value } from '../value.ts';
import { index, insertPath, structuralObject } from './documents.ts';
import { UNDEF, type Env, type K } from './types.ts';

export function nodeValue(ev: Evaluator, node: RuleNode): Value | undefined {
  const cached = ev.scope.cache.get(node);
  if (cached !== undefined) return cached === UNDEF ? undefined : cached;
  if (ev.inProgress.has(node)) throw new RegoError('rego_recursion_error', `rule data.${node.path.map(String).join('.')} is recursive`);
  ev.inProgress.add(node);
  ev.budget.enter();
  let result: Value | undefined;
  try {
    result = computeNode(ev, node);
  } finally {
    ev.inProgress.delete(node);
    ev.budget.leave();
  }
  ev.scope.cache.set(node, result === undefined ? UNDEF : result);
  return result;
}

function computeNode(ev: Evaluator, node: RuleNode): Value | undefined {
  if (node.complete.length > 0 || (node.defaultRule && node.multi.length === 0 && node.dynamic.length === 0)) {
    let value: Value | undefined;
    for (const cr of node.complete) {
      const v = evalCompleteRule(ev, cr);
      if (v === undefined) continue;
      if (value !== undefined && !equals(value, v)) throw new RegoError('eval_conflict_error', 'complete rules must not produce multiple outputs', cr.rule.loc, true);
      value = v;
    }
    if (value === undefined && node.defaultRule) {
      ev.evalTerm(node.defaultRule.rule.value, new Map(), (v) => {
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
      inRule(ev, cr, node.path, () =>
        ev.evalBody(cr.rule.body, 0, env, () =>
          ev.evalTerm(cr.rule.key as Term, env, (v) => {
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
  for (const cr of node.dynamic) collectDynamic(ev, cr, out, undefined);
  if (out.size === 0 && node.defaultRule) {
    let value: Value | undefined;
    ev.evalTerm(node.defaultRule.rule.value, new Map(), (v) => {
      value = v;
      return true;
    });
    return value;
  }
  return out;
}

/** Evaluates a dynamic rule, inserting its solutions into `out` (optionally only for one key). */
function collectDynamic(ev: Evaluator, cr: CompiledRule, out: ObjectValue, onlyKey: Value | undefined): void {
  inRule(ev, cr, cr.node.path, () => collectDynamicIn(ev, cr, out, onlyKey));
}

function collectDynamicIn(ev: Evaluator, cr: CompiledRule, out: ObjectValue, onlyKey: Value | undefined): void {
  const rule = cr.rule;
  const run = (body: Body, valueTerm: Term): boolean => {
    const env: Env = new Map();
    let any = false;
    const withKey = (k: K): boolean => (onlyKey === undefined ? k() : ev.unifyValue(cr.suffix[0] as Term, onlyKey, env, k));
    withKey(() =>
      ev.evalBody(body, 0, env, () =>
        ev.evalItems(cr.suffix, 0, [], env, (keys) => {
          if (rule.kind === 'multi') {
            return ev.evalTerm(rule.key as Term, env, (elem) => {
              any = true;
              insertPath(out, keys, elem, true, rule);
              return false;
            });
          }
          return ev.evalTerm(valueTerm, env, (v) => {
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

export function nodeKeyValue(ev: Evaluator, node: RuleNode, key: Value): Value | undefined {
  let m = ev.scope.keyCache.get(node);
  if (!m) ev.scope.keyCache.set(node, (m = new Map()));
  const kk = keyOf(key);
  const c = m.get(kk);
  if (c !== undefined) return c === UNDEF ? undefined : c;
  const full = ev.scope.cache.get(node);
  if (full !== undefined) return full === UNDEF ? undefined : index(full, key);
  if (ev.inProgress.has(node)) throw new RegoError('rego_recursion_error', `rule data.${node.path.map(String).join('.')} is recursive`);
  ev.inProgress.add(node);
  ev.budget.enter();
  const out = new ObjectValue();
  try {
    for (const cr of node.dynamic) collectDynamic(ev, cr, out, key);
  } finally {
    ev.inProgress.delete(node);
    ev.budget.leave();
  }
  const v = out.get(key);
  m.set(kk, v === undefined ? UNDEF : v);
  return v;
}

function inRule<T>(ev: Evaluator, cr: CompiledRule, path: Value[], f: () => T): T {
  ev.ruleStack.push({ cr, path });
  try {
    return f();
  } finally {
    ev.ruleStack.pop();
  }
}

function evalCompleteRule(ev: Evaluator, cr: CompiledRule): Value | undefined {
  return inRule(ev, cr, cr.node.path, () => evalCompleteRuleIn(ev, cr));
}

function evalCompleteRuleIn(ev: Evaluator, cr: CompiledRule): Value | undefined {
  const rule = cr.rule;
  const branches: Array<{ body: Body; value: Term }> = [{ body: rule.body, value: rule.value }, ...rule.elses];
  for (const br of branches) {
    let value: Value | undefined;
    const env: Env = new Map();
    // a constant value cannot conflict with itself: stop at the first solution (OPA's early exit)
    const constant = br.value.t === 'val';
    ev.evalBody(br.body, 0, env, () =>
      ev.evalTerm(br.value, env, (v) => {
        if (value !== undefined && !equals(value, v)) throw new RegoError('eval_conflict_error', 'complete rules must not produce multiple outputs', rule.loc, true);
        value = v;
        return constant;
      }),
    );
    if (value !== undefined) return value;
  }
  return undefined;
}

export function evalFunction(ev: Evaluator, name: string, args: Value[], t: Term): Value | undefined {
  const defs = ev.program.functions.get(name);
  if (!defs || defs.length === 0) throw new RegoError('eval_undefined_function', `undefined function ${name}`, t.loc);
  if (ev.inProgress.has(name)) throw new RegoError('rego_recursion_error', `function ${name} is recursive`, t.loc);
  ev.inProgress.add(name);
  ev.budget.enter();
  let result: Value | undefined;
  try {
    for (const cr of defs) {
      const rule = cr.rule;
      if (rule.isDefault) continue;
      const params = rule.args ?? [];
      if (params.length !== args.length) continue;
      const branches: Array<{ body: Body; value: Term }> = [{ body: rule.body, value: rule.value }, ...rule.elses];
      ev.ruleStack.push({ cr, path: name.split('.').slice(1) });
      try {
        for (const br of branches) {
          let found = false;
          const env: Env = new Map();
          // params such as template strings may use vars only the body binds: compare them after it
          const deferred: number[] = [];
          const checkDeferred = (j: number, k: K): boolean => {
            if (j === deferred.length) return k();
            const idx = deferred[j] as number;
            return ev.unifyValue(params[idx] as Term, args[idx] as Value, env, () => checkDeferred(j + 1, k));
          };
          const bindParams = (i: number): boolean => {
            if (i === params.length) {
              return ev.evalBody(br.body, 0, env, () =>
                checkDeferred(0, () =>
                ev.evalTerm(br.value, env, (v) => {
                  found = true;
                  if (result !== undefined && !equals(result, v)) throw new RegoError('eval_conflict_error', 'functions must not produce multiple outputs for same inputs', rule.loc, true);
                  result = v;
                  return br.value.t === 'val';
                }),
                ),
              );
            }
            const param = params[i] as Term;
            if ((param.t === 'tmpl' || param.t === 'call') && ev.hasFreeVars(param, env)) {
              deferred.push(i);
              try {
                return bindParams(i + 1);
              } finally {
                deferred.pop();
              }
            }
            return ev.unifyValue(param, args[i] as Value, env, () => bindParams(i + 1));
          };
          bindParams(0);
          if (found) break;
        }
      } finally {
        ev.ruleStack.pop();
      }
    }
    if (result === undefined) {
      const def = defs.find((d) => d.rule.isDefault);
      if (def) {
        ev.evalTerm(def.rule.value, new Map(), (v) => {
          result = v;
          return true;
        });
      }
    }
  } finally {
    ev.inProgress.delete(name);
    ev.budget.leave();
  }
  return result;
}

/** rego.metadata.chain(): the current rule's annotations, its document's, then its package's. */
export function metadataChain(ev: Evaluator): Value {
  const top = ev.ruleStack[ev.ruleStack.length - 1];
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
    ? (ev.program.functions.get(['data', ...top.path].join('.')) ?? [])
    : [...top.cr.node.complete, ...top.cr.node.multi, ...top.cr.node.dynamic, ...(top.cr.node.defaultRule ? [top.cr.node.defaultRule] : [])];
  for (const s of siblings) {
    const a = s.rule.annotations;
    if (scopeOf(a) === 'document') chain.push(entry(top.path, a));
  }
  const pkg = top.cr.pkg;
  if (pkg !== undefined) {
    const pa = ev.program.packageAnnotations.get(keyOf(pkg));
    if (pa !== undefined) chain.push(entry(pkg, pa));
  }
  return chain;
}
