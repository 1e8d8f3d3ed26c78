/**
 * Reference resolution: `input…`, `data…` and refs into values, walking base documents, the
 * rule tree (virtual documents, eval/rules.ts) and `with` overlays together, with enumeration
 * of unbound path variables.
 */
import type { Term } from '../ast.ts';
import type { RuleNode } from '../compiler.ts';
import type { Evaluator } from '../evaluator.ts';
import { ObjectValue, compare, keyOf, type Value } from '../value.ts';
import { baseIndex, index, isStructural, mergeDocs, startsWith, structuralObject, upsert } from './documents.ts';
import { nodeKeyValue, nodeValue } from './rules.ts';
import { MULTI, type Env, type KV } from './types.ts';
import { overlayAt, overlaysBelow } from './with.ts';

/**
 * The single-value fast path for a ref (see Evaluator.evalOne): its value, undefined, or MULTI
 * when a path element may have several values or `with` overlays are active.
 */
export function refValue(ev: Evaluator, t: Extract<Term, { t: 'ref' }>, env: Env): Value | undefined | typeof MULTI {
    if (ev.scope.overlays.length > 0) return MULTI;
    const keys: Value[] = [];
    for (const p of t.path) {
      if (p.t === 'val') keys.push(p.v);
      else {
        const v = ev.evalOne(p, env);
        if (v === MULTI || v === undefined) return v;
        keys.push(v);
      }
    }
    const head = t.head;
    let cur: Value | undefined;
    let i = 0;
    let inBase = false;
    if (head.t === 'var' && head.name === 'data' && !env.has('data')) {
      let node: RuleNode | undefined = ev.program.root;
      let base: Value | undefined = ev.settings.data;
      for (; i < keys.length; i++) {
        if (!node || !node.hasVirtual) break;
        if (node.hasRules()) {
          if (node.dynamic.length > 0 && node.complete.length === 0 && node.multi.length === 0 && node.children.size === 0) {
            cur = nodeKeyValue(ev, node, keys[i] as Value);
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
        if (node && node.hasVirtual) cur = materialize(ev, node, base, node.path);
        else {
          cur = base;
          inBase = true;
        }
      }
    } else {
      const h = ev.evalOne(head, env);
      if (h === MULTI) return MULTI;
      cur = h;
    }
    for (; i < keys.length && cur !== undefined; i++) cur = inBase ? baseIndex(cur, keys[i] as Value) : index(cur, keys[i] as Value);
    return cur;
}

export function evalRef(ev: Evaluator, t: Extract<Term, { t: 'ref' }>, env: Env, k: KV): boolean {
  const head = t.head;
  if (head.t === 'var') {
    if (head.name === 'data' && !env.has('data')) return evalDataRef(ev, t.path, 0, env, k);
    if (head.name === 'input' && !env.has('input')) {
      if (ev.scope.input === undefined) return false;
      return walkValue(ev, ev.scope.input, t.path, 0, env, k);
    }
  }
  return ev.evalTerm(head, env, (v) => walkValue(ev, v, t.path, 0, env, k));
}

function walkValue(ev: Evaluator, v: Value, path: Term[], i: number, env: Env, k: KV, base = false): boolean {
  if (i === path.length) return k(v);
  const p = path[i] as Term;
  if (base) {
    if (isGroundable(ev, p, env)) {
      return ev.evalTerm(p, env, (key) => {
        const x = baseIndex(v, key);
        return x === undefined ? false : walkValue(ev, x, path, i + 1, env, k, true);
      });
    }
    return ev.iterate(v, (key, x) => ev.unifyValue(p, key, env, () => walkValue(ev, x, path, i + 1, env, k, true)));
  }
  if (p.t === 'val') {
    const x = index(v, p.v);
    return x === undefined ? false : walkValue(ev, x, path, i + 1, env, k);
  }
  if (isGroundable(ev, p, env)) {
    return ev.evalTerm(p, env, (key) => {
      const x = index(v, key);
      return x === undefined ? false : walkValue(ev, x, path, i + 1, env, k);
    });
  }
  return ev.iterate(v, (key, x) => ev.unifyValue(p, key, env, () => walkValue(ev, x, path, i + 1, env, k)));
}

/** A path term can be evaluated as a value (no unbound vars in pattern positions). */
function isGroundable(ev: Evaluator, p: Term, env: Env): boolean {
  return !ev.hasUnbound(p, env);
}

export function evalDataRef(ev: Evaluator, path: Term[], i: number, env: Env, k: KV): boolean {
  return walkData(ev, ev.program.root, ev.settings.data, [], path, i, env, k);
}

function walkData(ev: Evaluator, node: RuleNode | undefined, base: Value | undefined, cur: Value[], path: Term[], i: number, env: Env, k: KV): boolean {
  const overlaid = ev.scope.overlays.length > 0;
  if (overlaid) {
    const o = overlayAt(ev.scope, cur);
    if (o) return walkValue(ev, o.value, path, i, env, k);
  }
  const below = overlaid && overlaysBelow(ev.scope, cur);
  if ((!node || !node.hasVirtual) && !below) return base === undefined ? false : walkValue(ev, base, path, i, env, k, true);
  if (node && node.hasRules() && !below) {
    // ground key into a partial rule: evaluate only that key
    const p = path[i];
    if (p !== undefined && node.dynamic.length > 0 && node.complete.length === 0 && node.multi.length === 0 && node.children.size === 0 && isGroundable(ev, p, env)) {
      return ev.evalTerm(p, env, (key) => {
        const v = nodeKeyValue(ev, node, key);
        return v === undefined ? false : walkValue(ev, v, path, i + 1, env, k);
      });
    }
    const v = materialize(ev, node, base, cur);
    return v === undefined ? false : walkValue(ev, v, path, i, env, k);
  }
  if (i === path.length || (node && node.hasRules())) {
    const v = materialize(ev, node, base, cur);
    return v === undefined ? false : walkValue(ev, v, path, i, env, k);
  }
  const p = path[i] as Term;
  const step = (key: Value): boolean => {
    const child = node?.children.get(keyOf(key));
    let childBase = base === undefined ? undefined : index(base, key);
    // OPA's store addresses base documents by string keys: data[2] finds "2"
    if (childBase === undefined && base instanceof ObjectValue && typeof key === 'number') childBase = base.get(String(key));
    return walkData(ev, child, childBase, [...cur, key], path, i + 1, env, k);
  };
  if (p.t === 'val') return step(p.v);
  if (isGroundable(ev, p, env)) return ev.evalTerm(p, env, step);
  // enumerate virtual children, overlays and base keys
  const keys = new Map<string, Value>();
  if (node) for (const [kk, c] of node.children) if (c.hasVirtual || (overlaid && overlaysBelow(ev.scope, c.path))) keys.set(kk, c.key);
  if (overlaid) for (const o of ev.scope.overlays) if (o.path.length > cur.length && startsWith(o.path, cur)) keys.set(keyOf(o.path[cur.length] as Value), o.path[cur.length] as Value);
  if (base instanceof ObjectValue) for (const key of base.keys()) keys.set(keyOf(key), key);
  const sorted = [...keys.values()].sort(compare);
  for (const key of sorted) {
    ev.budget.step();
    if (ev.unifyValue(p, key, env, () => step(key))) return true;
  }
  return false;
}

/** Full value of a data subtree: base data with virtual documents and overlays merged in. */
function materialize(ev: Evaluator, node: RuleNode | undefined, base: Value | undefined, cur: Value[]): Value | undefined {
  const overlaid = ev.scope.overlays.length > 0;
  if (overlaid) {
    const o = overlayAt(ev.scope, cur);
    if (o) return o.value;
  }
  const below = overlaid && overlaysBelow(ev.scope, cur);
  if ((!node || !node.hasVirtual) && !below) return base;
  let out: Value | undefined;
  // base data at the path of a rule shadows the rule's scalar value (OPA and regorus agree)
  if (node && node.hasRules() && base !== undefined && !(base instanceof ObjectValue)) return base;
  if (node && node.hasRules()) {
    out = nodeValue(ev, node);
    if (out instanceof ObjectValue && (node.children.size > 0 || below)) out = isStructural(out) ? structuralObject(out.clone()) : out.clone();
    else return out;
  } else out = structuralObject(base instanceof ObjectValue ? base.clone() : new ObjectValue());
  const obj = out as ObjectValue;
  const baseObj = node && node.hasRules() ? undefined : base instanceof ObjectValue ? base : undefined;
  if (node) {
    for (const c of node.children.values()) {
      const cpath = [...cur, c.key];
      if (!c.hasVirtual && !(overlaid && (overlaysBelow(ev.scope, cpath) || overlayAt(ev.scope, cpath)))) continue;
      let cv = materialize(ev, c, baseObj?.get(c.key), cpath);
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
    for (const o of ev.scope.overlays) {
      if (o.path.length <= cur.length || !startsWith(o.path, cur)) continue;
      const key = o.path[cur.length] as Value;
      if (node?.children.has(keyOf(key))) continue;
      obj.set(key, upsert(obj.get(key), o.path.slice(cur.length + 1), o.value));
    }
  }
  return obj;
}
