/**
 * walk (relation over every [path, value] of a document), graph.reachable and
 * graph.reachable_paths (OPA's breadth-first reachability and path enumeration).
 */
import { limitError, operandError, type BuiltinContext, type BuiltinDefinition } from '../builtinContract.ts';
import { ObjectValue, SetValue, type Value } from '../value.ts';
import { collectionElements, objectArg } from './args.ts';

const MAX_PATHS = 1_000_000;

function walk(root: Value, ctx: BuiltinContext): Value[] {
  const out: Value[] = [];
  const visit = (path: Value[], value: Value): void => {
    ctx.charge(20 + path.length);
    out.push([path, value]);
    if (Array.isArray(value)) value.forEach((child, i) => visit([...path, i], child));
    else if (value instanceof ObjectValue) for (const [k, child] of value.entries()) visit([...path, k], child);
    else if (value instanceof SetValue) for (const member of value.values()) visit([...path, member], member);
  };
  visit([], root);
  return out;
}

function initialNodes(fn: string, v: Value): readonly Value[] {
  const nodes = collectionElements(v);
  if (nodes === undefined) throw operandError(fn, 2, '{array, set}', v);
  return nodes;
}

function edgesOf(edges: Value): readonly Value[] {
  return collectionElements(edges) ?? [];
}

function reachable(fn: string, ctx: BuiltinContext, g: Value, initial: Value): SetValue {
  const graph = objectArg(fn, g, 1);
  const queue: Value[] = [...initialNodes(fn, initial)];
  const reached = new SetValue();
  for (let i = 0; i < queue.length; i++) {
    ctx.charge(1);
    const node = queue[i] as Value;
    const edges = graph.get(node);
    if (edges === undefined || reached.has(node)) continue;
    reached.add(node);
    for (const neighbor of edgesOf(edges)) if (!reached.has(neighbor)) queue.push(neighbor);
  }
  return reached;
}

function reachablePaths(fn: string, ctx: BuiltinContext, g: Value, initial: Value): SetValue {
  const graph = objectArg(fn, g, 1);
  const result = new SetValue();
  const build = (root: Value, path: Value[], reached: SetValue): void => {
    ctx.charge(1);
    if (result.size > MAX_PATHS) throw limitError(fn, 'too many paths');
    const edges = graph.get(root);
    if (edges === undefined) {
      result.add(path);
      return;
    }
    const extended = [...path, root];
    const neighbors = edgesOf(edges);
    if (neighbors.length === 0) {
      result.add(extended);
      return;
    }
    // OPA's reached set is shared by the whole subtree below one first-level neighbor, and
    // leaves (no edges) are never marked reached: siblings see each other's interior nodes.
    reached.add(root);
    for (const neighbor of neighbors) {
      if (reached.has(neighbor)) result.add(extended);
      else build(neighbor, extended, reached);
    }
  };
  for (const node of initialNodes(fn, initial)) {
    const edges = graph.get(node);
    if (edges === undefined) continue;
    const neighbors = edgesOf(edges);
    if (neighbors.length === 0) result.add([node]);
    else for (const neighbor of neighbors) build(neighbor, [node], SetValue.of([node]));
  }
  return result;
}

export const graphBuiltins: BuiltinDefinition[] = [
  { name: 'walk', arity: 1, relation: true, impl: ([v], ctx) => walk(v as Value, ctx) },
  { name: 'graph.reachable', arity: 2, impl: ([g, i], ctx) => reachable(ctx.name, ctx, g as Value, i as Value) },
  { name: 'graph.reachable_paths', arity: 2, impl: ([g, i], ctx) => reachablePaths(ctx.name, ctx, g as Value, i as Value) },
];
