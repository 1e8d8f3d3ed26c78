/**
 * json.filter, json.remove (paths as "a/b/0" strings or arrays of segments) and json.patch
 * (RFC 6902 operations over RFC 6901 pointers). A failing patch raises eval_builtin_error.
 */
import { operandError, operandErrorText, type BuiltinContext, type BuiltinDefinition } from '../builtinContract.ts';
import { ObjectValue, SetValue, equals, keyOf, typeName, type Value } from '../value.ts';
import { collectionElements, objectArg } from './args.ts';
import { errorClassWithCode } from '@trustee/errors';

interface PathTree { leaf: boolean; children: Map<string, PathTree> }

/** Tree key of a path segment: typed, so the number 1 selects a set member or object key 1 while an array index is selected by the string "1". */
function segmentKey(v: Value): string {
  return keyOf(v);
}

function unescapePointer(s: string): string {
  return s.replaceAll('~1', '/').replaceAll('~0', '~');
}

function pathSegments(fn: string, p: Value): string[] {
  if (typeof p === 'string') {
    const trimmed = p.startsWith('/') ? p.slice(1) : p;
    return trimmed === '' ? [] : trimmed.split('/').map(unescapePointer);
  }
  if (Array.isArray(p)) return p.map(segmentKey);
  throw operandErrorText(fn, 2, `must be one of {set, array} containing string paths or array of path segments but got ${typeName(p)}`);
}

function buildTree(fn: string, paths: Value, position: number): PathTree {
  const elements = collectionElements(paths);
  if (elements === undefined) throw operandError(fn, position, 'one of {set, array}', paths);
  const root: PathTree = { leaf: false, children: new Map() };
  for (const p of elements) {
    let node = root;
    for (const segment of pathSegments(fn, p)) {
      let child = node.children.get(segment);
      if (child === undefined) {
        child = { leaf: false, children: new Map() };
        node.children.set(segment, child);
      }
      node = child;
    }
    node.leaf = true;
  }
  return root;
}

function removePaths(value: Value, tree: PathTree): Value {
  if (value instanceof ObjectValue) {
    const out = new ObjectValue();
    for (const [k, v] of value.entries()) {
      const child = tree.children.get(segmentKey(k));
      if (child === undefined) out.set(k, v);
      else if (!child.leaf) out.set(k, removePaths(v, child));
    }
    return out;
  }
  if (Array.isArray(value)) {
    const out: Value[] = [];
    value.forEach((v, i) => {
      const child = tree.children.get(segmentKey(String(i)));
      if (child === undefined) out.push(v);
      else if (!child.leaf) out.push(removePaths(v, child));
    });
    return out;
  }
  if (value instanceof SetValue) {
    const out = new SetValue();
    for (const v of value.values()) {
      const child = tree.children.get(segmentKey(v));
      if (child === undefined) out.add(v);
      else if (!child.leaf) out.add(removePaths(v, child));
    }
    return out;
  }
  return value;
}

function filterPaths(value: Value, tree: PathTree): Value {
  if (tree.leaf) return value;
  if (value instanceof ObjectValue) {
    const out = new ObjectValue();
    for (const [k, v] of value.entries()) {
      const child = tree.children.get(segmentKey(k));
      if (child !== undefined) out.set(k, filterPaths(v, child));
    }
    return out;
  }
  if (Array.isArray(value)) {
    const out: Value[] = [];
    value.forEach((v, i) => {
      const child = tree.children.get(segmentKey(String(i)));
      if (child !== undefined) out.push(filterPaths(v, child));
    });
    return out;
  }
  if (value instanceof SetValue) {
    const out = new SetValue();
    for (const v of value.values()) {
      const child = tree.children.get(segmentKey(v));
      if (child !== undefined) out.add(filterPaths(v, child));
    }
    return out;
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// JSON Patch

class PatchError extends errorClassWithCode('invalid_patch') {}

function parsePointer(path: Value): string[] {
  // Array-form patch paths may index arrays with numbers.
  if (Array.isArray(path)) return path.map((p) => (typeof p === 'number' && Number.isInteger(p) ? String(p) : segmentKey(p)));
  if (typeof path !== 'string') throw new PatchError('path must be a string');
  if (path === '' || path === '/') return [];
  // OPA also accepts pointers without the leading slash ("foo/b").
  return (path.startsWith('/') ? path.slice(1) : path).split('/').map(unescapePointer);
}

function arrayIndex(segment: string, length: number, allowEnd: boolean): number {
  if (allowEnd && segment === '-') return length;
  if (!/^(0|[1-9][0-9]*)$/.test(segment)) throw new PatchError(`invalid array index ${JSON.stringify(segment)}`);
  const i = Number(segment);
  if (i > length || (!allowEnd && i === length)) throw new PatchError(`array index ${segment} out of bounds`);
  return i;
}

function getAt(doc: Value, path: readonly string[]): Value {
  let current = doc;
  for (const segment of path) {
    if (current instanceof ObjectValue) {
      const next = current.get(segment);
      if (next === undefined) throw new PatchError(`path not found: ${segment}`);
      current = next;
    } else if (Array.isArray(current)) {
      current = current[arrayIndex(segment, current.length, false)] as Value;
    } else if (current instanceof SetValue) {
      current = setMember(current, segment);
    } else {
      throw new PatchError(`cannot traverse into ${segment}`);
    }
  }
  return current;
}

/** The member of a set addressed by a pointer segment (its string form). */
function setMember(set: SetValue, segment: string): Value {
  const member = set.values().find((m) => segmentKey(m) === segment);
  if (member === undefined) throw new PatchError(`path not found: ${segment}`);
  return member;
}

/** Returns a copy of doc with `update` applied to the container holding the last segment. */
function updateAt(doc: Value, path: readonly string[], update: (container: Value, last: string) => Value): Value {
  if (path.length === 0) throw new PatchError('empty path');
  const [head, ...rest] = path as [string, ...string[]];
  if (rest.length === 0) return update(doc, head);
  if (doc instanceof ObjectValue) {
    const child = doc.get(head);
    if (child === undefined) throw new PatchError(`path not found: ${head}`);
    return doc.clone().set(head, updateAt(child, rest, update));
  }
  if (Array.isArray(doc)) {
    const i = arrayIndex(head, doc.length, false);
    const copy = [...doc];
    copy[i] = updateAt(doc[i] as Value, rest, update);
    return copy;
  }
  if (doc instanceof SetValue) {
    const member = setMember(doc, head);
    const copy = doc.clone();
    copy.delete(member);
    return copy.add(updateAt(member, rest, update));
  }
  throw new PatchError(`cannot traverse into ${head}`);
}

function addAt(doc: Value, path: readonly string[], value: Value): Value {
  if (path.length === 0) return value;
  return updateAt(doc, path, (container, last) => {
    if (container instanceof ObjectValue) return container.clone().set(last, value);
    if (Array.isArray(container)) {
      const i = arrayIndex(last, container.length, true);
      return [...container.slice(0, i), value, ...container.slice(i)];
    }
    if (container instanceof SetValue) {
      if (segmentKey(value) !== last) throw new PatchError('set member does not match its path');
      return container.clone().add(value);
    }
    throw new PatchError('cannot add to a scalar');
  });
}

function removeAt(doc: Value, path: readonly string[]): Value {
  if (path.length === 0) throw new PatchError('cannot remove the whole document');
  return updateAt(doc, path, (container, last) => {
    if (container instanceof ObjectValue) {
      if (!container.has(last)) throw new PatchError(`path not found: ${last}`);
      const copy = container.clone();
      copy.delete(last);
      return copy;
    }
    if (Array.isArray(container)) {
      const i = arrayIndex(last, container.length, false);
      return [...container.slice(0, i), ...container.slice(i + 1)];
    }
    if (container instanceof SetValue) {
      const copy = container.clone();
      copy.delete(setMember(container, last));
      return copy;
    }
    throw new PatchError('cannot remove from a scalar');
  });
}

/** Applies RFC 6902 operations; undefined when the document itself was removed. */
function applyPatch(doc: Value, patch: Value, ctx: BuiltinContext): Value | undefined {
  const ops = collectionElements(patch);
  if (ops === undefined) throw new PatchError('patch must be an array');
  let document: Value | undefined = doc;
  for (const op of ops) {
    ctx.charge(1);
    if (!(op instanceof ObjectValue)) throw new PatchError('operation must be an object');
    const kind = op.get('op');
    const path = op.get('path');
    if (path === undefined) throw new PatchError('missing path');
    const target = parsePointer(path);
    const value = (): Value => {
      const v = op.get('value');
      if (v === undefined) throw new PatchError(`missing value for ${String(kind)}`);
      return v;
    };
    const from = (): string[] => {
      const f = op.get('from');
      if (f === undefined) throw new PatchError(`missing from for ${String(kind)}`);
      return parsePointer(f);
    };
    if (document === undefined) {
      // Only a whole-document add can follow the removal of the document.
      if (kind === 'add' && target.length === 0) {
        document = value();
        continue;
      }
      throw new PatchError('the document was removed');
    }
    let current: Value = document;
    switch (kind) {
      case 'add': current = addAt(current, target, value()); break;
      case 'remove':
        if (target.length === 0) {
          document = undefined;
          continue;
        }
        current = removeAt(current, target);
        break;
      case 'replace':
        getAt(current, target);
        current = target.length === 0 ? value() : addAt(removeAt(current, target), target, value());
        break;
      case 'move': {
        const source = from();
        if (target.length > source.length && source.every((s, i) => target[i] === s)) throw new PatchError('cannot move into own child');
        const moved = getAt(current, source);
        current = addAt(removeAt(current, source), target, moved);
        break;
      }
      case 'copy': current = addAt(current, target, getAt(current, from())); break;
      case 'test':
        if (!equals(getAt(current, target), value())) throw new PatchError('test operation failed');
        break;
      default: throw new PatchError(`unknown operation ${JSON.stringify(kind ?? null)}`);
    }
    document = current;
  }
  return document;
}

export const jsonOpsBuiltins: BuiltinDefinition[] = [
  {
    name: 'json.filter', arity: 2,
    impl: ([o, p], ctx) => filterPaths(objectArg(ctx.name, o as Value, 1), buildTree(ctx.name, p as Value, 2)),
  },
  {
    name: 'json.remove', arity: 2,
    impl: ([o, p], ctx) => removePaths(objectArg(ctx.name, o as Value, 1), buildTree(ctx.name, p as Value, 2)),
  },
  {
    name: 'json.patch', arity: 2,
    impl: ([d, p], ctx) => {
      try {
        return applyPatch(d as Value, p as Value, ctx);
      } catch (error) {
        // OPA: a patch that cannot be applied makes the call undefined.
        if (error instanceof PatchError) return undefined;
        throw error;
      }
    },
  },
];
