/**
 * Compile-time recursion check, like OPA's (rego_recursion_error): a rule or function that can
 * reach itself through the documents and functions it refers to is refused when the policy is
 * compiled, so a recursive policy is refused at upload instead of failing every evaluation.
 *
 * Vertices are rule documents (RuleNode) and user functions (by name); a reference to
 * `data...` depends on the rule documents it can read (see DependencyCollector.dataRef).
 */
import type { Body, Literal, Term } from './ast.ts';
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

class DependencyCollector {
  readonly found = new Set<Vertex>();
  constructor(private readonly program: CompiledProgram) {}

  private subtree(node: RuleNode): void {
    const stack = [node];
    for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
      if (n.hasRules()) this.found.add(n);
      for (const child of n.children.values()) stack.push(child);
    }
  }

  /**
   * The rule documents a reference can read, matched position by position as OPA does: a
   * variable segment matches any key, constant segments must match, a rule on the path's
   * prefix defines what is below it, and everything under the full path is read.
   */
  private dataRef(path: readonly Term[], node: RuleNode = this.program.root, i = 0): void {
    if (node.hasRules()) this.found.add(node);
    if (i === path.length) {
      this.subtree(node);
      return;
    }
    const segment = path[i] as Term;
    if (segment.t === 'val') {
      const child = node.children.get(keyOf(segment.v));
      if (child !== undefined) this.dataRef(path, child, i + 1);
      return;
    }
    for (const child of node.children.values()) this.dataRef(path, child, i + 1);
  }

  term(t: Term | undefined): void {
    if (t === undefined) return;
    switch (t.t) {
      case 'val':
        return;
      case 'var':
        if (t.name === 'data') this.dataRef([]);
        return;
      case 'ref':
        if (t.head.t === 'var' && t.head.name === 'data') this.dataRef(t.path);
        else this.term(t.head);
        for (const p of t.path) this.term(p);
        return;
      case 'arr':
      case 'set':
        for (const i of t.items) this.term(i);
        return;
      case 'obj':
        for (const [k, v] of t.entries) {
          this.term(k);
          this.term(v);
        }
        return;
      case 'acomp':
      case 'scomp':
        this.term(t.term);
        this.body(t.body);
        return;
      case 'ocomp':
        this.term(t.key);
        this.term(t.value);
        this.body(t.body);
        return;
      case 'call':
        if (t.fn.t === 'var' && this.program.functions.has(t.fn.name)) this.found.add(t.fn.name);
        for (const a of t.args) this.term(a);
        return;
      case 'tmpl':
        for (const p of t.parts) if (typeof p !== 'string') this.term(p);
        return;
    }
  }

  body(body: Body): void {
    for (const lit of body) this.literal(lit);
  }

  private literal(lit: Literal): void {
    // `with` targets are replaced, not read; their replacement values are read.
    for (const w of lit.with) this.term(w.value);
    switch (lit.kind) {
      case 'expr':
        this.term(lit.term);
        return;
      case 'some':
        return;
      case 'somein':
        this.term(lit.key);
        this.term(lit.value);
        this.term(lit.domain);
        return;
      case 'every':
        this.term(lit.key);
        this.term(lit.value);
        this.term(lit.domain);
        this.body(lit.body);
        return;
      case 'notbody':
        this.body(lit.body);
        return;
    }
  }

  rule(cr: CompiledRule): void {
    const r = cr.rule;
    for (const t of r.ref.slice(1)) this.term(t);
    for (const a of r.args ?? []) this.term(a);
    this.term(r.key);
    this.term(r.value);
    this.body(r.body);
    for (const e of r.elses) {
      this.term(e.value);
      this.body(e.body);
    }
  }
}

/** Throws rego_recursion_error when a rule or function can reach itself. */
export function checkRecursion(program: CompiledProgram): void {
  const rulesByVertex = new Map<Vertex, CompiledRule[]>();
  const stack = [program.root];
  for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
    if (n.hasRules()) rulesByVertex.set(n, rulesOf(n));
    for (const child of n.children.values()) stack.push(child);
  }
  for (const [name, rules] of program.functions) rulesByVertex.set(name, rules);

  const edges = new Map<Vertex, Vertex[]>();
  for (const [vertex, rules] of rulesByVertex) {
    const collector = new DependencyCollector(program);
    for (const cr of rules) collector.rule(cr);
    edges.set(vertex, [...collector.found]);
  }

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
