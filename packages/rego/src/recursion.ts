/**
 * Compile-time recursion check, like OPA's (rego_recursion_error): a rule or function that can
 * reach itself through the documents and functions it refers to is refused when the policy is
 * compiled, so a recursive policy is refused at upload instead of failing every evaluation.
 *
 * Vertices are rule documents (RuleNode) and user functions (by name); a reference to
 * `data...` depends on the rule documents it can read (see dataRef in dependencies).
 */
import type { Literal, Term } from './ast.ts';
import type { CompiledProgram, CompiledRule, RuleNode } from './compiler.ts';
import { RegoError } from './errors.ts';
import { keyOf } from './value.ts';

type Vertex = RuleNode | string;

function rulesOf(node: RuleNode): CompiledRule[] {
  return [...node.complete, ...node.multi, ...node.dynamic, ...(node.defaultRule ? [node.defaultRule] : [])];
}

function vertexName(v: Vertex): string {
  return typeof v === 'string' ? v : ['data', ...v.path.map(String)].join('.');
}

/** The nodes holding rules at or below `root`, depth first. */
function ruleNodes(root: RuleNode): RuleNode[] {
  const out: RuleNode[] = [];
  const stack = [root];
  for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
    if (n.hasRules()) out.push(n);
    for (const child of n.children.values()) stack.push(child);
  }
  return out;
}

type AstNode = Term | Literal | undefined;

/**
 * The children of a term or literal that a rule reads, in source order. `with` targets are
 * replaced, not read; their replacement values are read. `some x` declares and reads nothing.
 */
function readChildren(node: Term | Literal): AstNode[] {
  if ('kind' in node) {
    const replacements = node.with.map((w) => w.value);
    switch (node.kind) {
      case 'expr':
        return [...replacements, node.term];
      case 'some':
        return replacements;
      case 'somein':
        return [...replacements, node.key, node.value, node.domain];
      case 'every':
        return [...replacements, node.key, node.value, node.domain, ...node.body];
      case 'notbody':
        return [...replacements, ...node.body];
    }
  }
  switch (node.t) {
    case 'val':
    case 'var':
      return [];
    case 'ref':
      return [node.head, ...node.path];
    case 'arr':
    case 'set':
      return node.items;
    case 'obj':
      return node.entries.flat();
    case 'acomp':
    case 'scomp':
      return [node.term, ...node.body];
    case 'ocomp':
      return [node.key, node.value, ...node.body];
    case 'call':
      return node.args;
    case 'tmpl':
      return node.parts.filter((p): p is Term => typeof p !== 'string');
  }
}

/**
 * The rule documents (RuleNode) and functions (by name) the rules of one vertex read: one walk,
 * in source order with an explicit stack (no recursion on the policy's nesting), over the terms
 * and literals of every rule's head, arguments, bodies and else branches.
 */
function dependencies(program: CompiledProgram, rules: readonly CompiledRule[]): Set<Vertex> {
  const found = new Set<Vertex>();
  /**
   * The rule documents a reference can read, matched position by position as OPA does: a
   * variable segment matches any key, constant segments must match, a rule on the path's
   * prefix defines what is below it, and everything under the full path is read.
   */
  const dataRef = (path: readonly Term[], node: RuleNode, i: number): void => {
    if (node.hasRules()) found.add(node);
    if (i === path.length) {
      for (const n of ruleNodes(node)) found.add(n);
      return;
    }
    const segment = path[i] as Term;
    if (segment.t === 'val') {
      const child = node.children.get(keyOf(segment.v));
      if (child !== undefined) dataRef(path, child, i + 1);
      return;
    }
    for (const child of node.children.values()) dataRef(path, child, i + 1);
  };
  const pending: AstNode[] = [];
  const push = (nodes: readonly AstNode[]): void => {
    for (let i = nodes.length - 1; i >= 0; i--) pending.push(nodes[i]);
  };
  for (const cr of rules) {
    const r = cr.rule;
    push([...r.ref.slice(1), ...(r.args ?? []), r.key, r.value, ...r.body, ...r.elses.flatMap((e) => [e.value, ...e.body])]);
    while (pending.length > 0) {
      const node = pending.pop();
      if (node === undefined) continue;
      if (!('kind' in node)) {
        if (node.t === 'var' && node.name === 'data') dataRef([], program.root, 0);
        else if (node.t === 'ref' && node.head.t === 'var' && node.head.name === 'data') {
          dataRef(node.path, program.root, 0);
          push(node.path);
          continue;
        } else if (node.t === 'call' && node.fn.t === 'var' && program.functions.has(node.fn.name)) found.add(node.fn.name);
      }
      push(readChildren(node));
    }
  }
  return found;
}

/** Throws rego_recursion_error when a rule or function can reach itself. */
export function checkRecursion(program: CompiledProgram): void {
  const rulesByVertex = new Map<Vertex, CompiledRule[]>();
  for (const n of ruleNodes(program.root)) rulesByVertex.set(n, rulesOf(n));
  for (const [name, rules] of program.functions) rulesByVertex.set(name, rules);

  const edges = new Map<Vertex, Vertex[]>();
  for (const [vertex, rules] of rulesByVertex) edges.set(vertex, [...dependencies(program, rules)]);

  // Iterative depth-first search; a back edge to a vertex on the current path is a cycle.
  const done = new Set<Vertex>();
  const onPath = new Map<Vertex, number>();
  for (const start of rulesByVertex.keys()) {
    if (done.has(start)) continue;
    const path: Vertex[] = [start];
    const next: number[] = [0];
    onPath.set(start, 0);
    while (path.length > 0) {
      const top = path.length - 1;
      const v = path[top] as Vertex;
      const out = edges.get(v) ?? [];
      const i = next[top] as number;
      if (i >= out.length) {
        path.pop();
        next.pop();
        onPath.delete(v);
        done.add(v);
        continue;
      }
      next[top] = i + 1;
      const w = out[i] as Vertex;
      const at = onPath.get(w);
      if (at !== undefined) {
        const cycle = [...path.slice(at), w].map(vertexName);
        const first = (rulesByVertex.get(w) ?? [])[0];
        throw new RegoError('rego_recursion_error', `rule ${vertexName(w)} is recursive: ${cycle.join(' -> ')}`, first?.rule.loc);
      }
      if (done.has(w)) continue;
      onPath.set(w, path.length);
      path.push(w);
      next.push(0);
    }
  }
}
