/**
 * Value-level operations on documents: indexing (virtual and base documents), placing a value at
 * a path, and building the objects that hold the documents of ref-head rules and packages.
 */
import { RegoError } from '../errors.ts';
import { ObjectValue, SetValue, equals, type Value } from '../value.ts';

export function index(v: Value, key: Value): Value | undefined {
  if (v instanceof ObjectValue) return v.get(key);
  if (Array.isArray(v)) {
    if (typeof key === 'number' && Number.isInteger(key) && key >= 0 && key < v.length) return v[key];
    return undefined;
  }
  if (v instanceof SetValue) return v.has(key) ? key : undefined;
  return undefined;
}

/** Indexing inside base documents: OPA's store addresses object members by string, so 2 finds "2". */
export function baseIndex(v: Value, key: Value): Value | undefined {
  const x = index(v, key);
  if (x === undefined && typeof key === 'number' && v instanceof ObjectValue) return v.get(String(key));
  return x;
}

/** Returns a copy of `doc` with `value` placed at `path` (creating objects as needed). */
export function upsert(doc: Value | undefined, path: Value[], value: Value): Value {
  if (path.length === 0) return value;
  const obj = doc instanceof ObjectValue ? doc.clone() : new ObjectValue();
  const [head, ...rest] = path as [Value, ...Value[]];
  obj.set(head, upsert(obj.get(head), rest, value));
  return obj;
}

export function startsWith(path: readonly Value[], prefix: readonly Value[]): boolean {
  if (prefix.length > path.length) return false;
  for (let i = 0; i < prefix.length; i++) if (!equals(path[i] as Value, prefix[i] as Value)) return false;
  return true;
}

/**
 * Objects that only exist to hold the documents of ref-head rules and packages (as opposed to
 * object VALUES produced by a rule): only these may be merged with other rules' documents.
 */
const structural = new WeakSet<ObjectValue>();

export function structuralObject(o: ObjectValue = new ObjectValue()): ObjectValue {
  structural.add(o);
  return o;
}

export function isStructural(o: ObjectValue): boolean {
  return structural.has(o);
}

/** Merges two rule-produced documents at the same path (objects deeply, sets by union). */
export function mergeDocs(a: Value, b: Value): Value {
  if (a instanceof ObjectValue && b instanceof ObjectValue && structural.has(a) && structural.has(b)) {
    const out = structuralObject(a.clone());
    for (const [k, v] of b.entries()) {
      const prev = out.get(k);
      out.set(k, prev === undefined ? v : mergeDocs(prev, v));
    }
    return out;
  }
  if (a instanceof SetValue && b instanceof SetValue) {
    const out = a.clone();
    for (const v of b.values()) out.add(v);
    return out;
  }
  if (equals(a, b)) return a;
  throw new RegoError('eval_conflict_error', 'object keys must be unique');
}

/** Inserts one solution of a ref-head rule (`keys` below the rule's node) into its document. */
export function insertPath(out: ObjectValue, keys: Value[], v: Value, multi: boolean, rule: { loc: { row: number; col: number; file: string } }): void {
  let cur = out;
  const last = multi ? keys.length : keys.length - 1;
  for (let i = 0; i < last; i++) {
    const key = keys[i] as Value;
    let next = cur.get(key);
    if (next === undefined) {
      next = structuralObject();
      cur.set(key, next);
    } else if (!(next instanceof ObjectValue)) {
      if (multi && i === last - 1 && next instanceof SetValue) break;
      throw new RegoError('eval_conflict_error', 'object keys must be unique', rule.loc, true);
    }
    cur = next as ObjectValue;
  }
  if (multi) {
    if (keys.length === 0) return;
    // the set lives at the full key path
    let parent = out;
    for (let i = 0; i < keys.length - 1; i++) parent = parent.get(keys[i] as Value) as ObjectValue;
    const lastKey = keys[keys.length - 1] as Value;
    const existing = parent.get(lastKey);
    let set: SetValue;
    if (existing instanceof SetValue) set = existing;
    else if (existing === undefined || (existing instanceof ObjectValue && existing.size === 0)) {
      set = new SetValue();
      parent.set(lastKey, set);
    } else throw new RegoError('eval_conflict_error', 'object keys must be unique', rule.loc, true);
    set.add(v);
    return;
  }
  const key = keys[keys.length - 1] as Value;
  const prev = cur.get(key);
  if (prev !== undefined && !equals(prev, v)) throw new RegoError('eval_conflict_error', 'object keys must be unique', rule.loc, true);
  cur.set(key, v);
}
