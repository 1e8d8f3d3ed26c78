/**
 * Compiler: resolves names (rules of the package, imports, locals), renames nested locals,
 * reorders body literals so every var is bound before it is needed (as OPA does), and builds
 * the rule tree under `data`.
 */
import type { Body, Literal, Loc, Module, Rule, Term, VarTerm, With } from './ast.ts';
import type { BuiltinTable } from './builtinContract.ts';
import { RegoError } from './errors.ts';
import { checkRecursion } from './recursion.ts';
import { ObjectValue, SetValue, equals, keyOf, type Value } from './value.ts';

/** Names the evaluator implements itself (operators and language-level calls). */
export const CORE_OPERATORS: Record<string, number> = {
  eq: 2,
  assign: 2,
  equal: 2,
  neq: 2,
  lt: 2,
  lte: 2,
  gt: 2,
  gte: 2,
  plus: 2,
  minus: 2,
  mul: 2,
  div: 2,
  rem: 2,
  and: 2,
  or: 2,
  'internal.member_2': 2,
  'internal.member_3': 3,
  'internal.template_with': 1,
  'rego.metadata.rule': 0,
  'rego.metadata.chain': 0,
  print: -1,
};

export interface CompiledRule {
  readonly rule: Rule;
  /** Package path (below data) of the module defining the rule. */
  readonly pkg?: Value[];
  /** Head terms after the node's static path (vars or other non-constant terms first). */
  readonly suffix: Term[];
  readonly node: RuleNode;
  /** Module-level info for error messages. */
  readonly file: string;
}

export class RuleNode {
  readonly children = new Map<string, RuleNode>();
  readonly complete: CompiledRule[] = [];
  readonly multi: CompiledRule[] = [];
  readonly dynamic: CompiledRule[] = [];
  readonly funcs: CompiledRule[] = [];
  defaultRule: CompiledRule | undefined;
  /** Whether this node or any descendant holds rules (non-function) or is a package. */
  hasVirtual = false;
  /** A package is declared at this path (its document exists, possibly empty). */
  isPackage = false;
  constructor(
    readonly path: Value[],
    readonly key: Value,
  ) {}
  hasRules(): boolean {
    return this.complete.length > 0 || this.multi.length > 0 || this.dynamic.length > 0 || this.defaultRule !== undefined;
  }
  child(key: Value): RuleNode {
    const k = keyOf(key);
    let c = this.children.get(k);
    if (!c) {
      c = new RuleNode([...this.path, key], key);
      this.children.set(k, c);
    }
    return c;
  }
}

export interface CompileContext {
  readonly hostFunctions: ReadonlySet<string>;
  /** The builtins the program may call; the evaluator calls them from the same table. */
  readonly builtins: BuiltinTable;
}

export class CompiledProgram {
  readonly root = new RuleNode([], 'data');
  /** User functions by full dotted name 'data.pkg.f'. */
  readonly functions = new Map<string, CompiledRule[]>();
  /** Evaluator's memo of function arities by name. */
  readonly arityCache = new Map<string, number>();
  /** `# METADATA` annotations of packages, by keyOf(package path). */
  readonly packageAnnotations = new Map<string, Value>();
  constructor(
    readonly modules: Module[],
    readonly ctx: CompileContext,
  ) {}
}

let fresh = 0;
function freshName(base: string): string {
  return `${base}$${++fresh}`;
}

function isWildcard(name: string): boolean {
  return name === '_' || name.startsWith('_$');
}

/** Vars that are user-visible query outputs (not wildcards or generated names). */
export function isUserVar(name: string): boolean {
  return !name.includes('$') && name !== '_';
}

// ---------------------------------------------------------------------------------------------
// Scope handling

interface Scope {
  /** Local name → internal name, for declarations already seen (in source order). */
  readonly locals: Map<string, string>;
  /** Declarations (`:=`, `some`) of this body not reached yet, name → internal name. */
  readonly pending?: Map<string, string>;
  readonly parent: Scope | undefined;
}

/** Names a literal declares (`some x`, `x := ...`, `some k, v in ...`). */
function declaredBy(lit: Literal, f: (name: string) => void): void {
  if (lit.kind === 'some') for (const v of lit.vars) f(v.name);
  else if (lit.kind === 'somein') {
    if (lit.key) patternVarNames(lit.key, f);
    patternVarNames(lit.value, f);
  } else if (lit.kind === 'expr' && lit.term.t === 'call' && lit.term.fn.t === 'var' && lit.term.fn.name === 'assign') {
    patternVarNames(lit.term.args[0] as Term, f);
  }
}

function lookupLocal(scope: Scope | undefined, name: string): string | undefined {
  for (let s = scope; s; s = s.parent) {
    const v = s.locals.get(name);
    if (v !== undefined) return v;
  }
  return undefined;
}

interface ModuleEnv {
  readonly module: Module;
  readonly pkgPath: Value[];
  /** Rule (and function) head names of the package (across all modules of the package). */
  readonly ruleNames: Set<string>;
  /** Import alias → path term. */
  readonly imports: Map<string, Term>;
  readonly program: CompiledProgram;
  readonly allFunctionNames: Set<string>;
}

function dataRef(path: Value[], loc: Loc): Term {
  return { t: 'ref', head: { t: 'var', name: 'data', loc }, path: path.map((p) => ({ t: 'val', v: p, loc }) as Term), loc };
}

// ---------------------------------------------------------------------------------------------
// Rewriting

class Rewriter {
  constructor(private readonly env: ModuleEnv) {}

  term(t: Term, scope: Scope | undefined): Term {
    switch (t.t) {
      case 'val':
        return t;
      case 'var':
        return this.var(t, scope);
      case 'ref': {
        const head = this.term(t.head, scope);
        const path = t.path.map((p) => this.term(p, scope));
        if (head.t === 'ref') return { t: 'ref', head: head.head, path: [...head.path, ...path], loc: t.loc };
        return { t: 'ref', head, path, loc: t.loc };
      }
      case 'arr':
        return foldConstant({ t: 'arr', items: t.items.map((i) => this.term(i, scope)), loc: t.loc });
      case 'set':
        return foldConstant({ t: 'set', items: t.items.map((i) => this.term(i, scope)), loc: t.loc });
      case 'obj':
        return foldConstant({ t: 'obj', entries: t.entries.map(([k, v]) => [this.term(k, scope), this.term(v, scope)] as [Term, Term]), loc: t.loc });
      case 'acomp':
      case 'scomp': {
        const inner = this.newScope(t.body, scope);
        const body = this.body(t.body, inner);
        return { t: t.t, term: this.term(t.term, inner), body, loc: t.loc };
      }
      case 'ocomp': {
        const inner = this.newScope(t.body, scope);
        const body = this.body(t.body, inner);
        return { t: 'ocomp', key: this.term(t.key, inner), value: this.term(t.value, inner), body, loc: t.loc };
      }
      case 'call':
        return this.call(t, scope);
      case 'tmpl':
        return { t: 'tmpl', parts: t.parts.map((p) => (typeof p === 'string' ? p : this.term(p, scope))), loc: t.loc };
    }
  }

  private var(t: VarTerm, scope: Scope | undefined): Term {
    const name = t.name;
    if (name === '_') return { t: 'var', name: freshName('_'), loc: t.loc };
    const local = lookupLocal(scope, name);
    if (local !== undefined) return local === name ? t : { t: 'var', name: local, loc: t.loc };
    const own = scope?.pending?.get(name);
    if (own !== undefined) return own === name ? t : { t: 'var', name: own, loc: t.loc };
    if (scope) {
      // declared LATER in an enclosing body: here it is a separate local (OPA scoping)
      for (let s = scope.parent; s; s = s.parent) {
        if (s.pending?.has(name)) {
          const fresh = freshName(name);
          scope.locals.set(name, fresh);
          return { t: 'var', name: fresh, loc: t.loc };
        }
      }
    }
    if (name === 'input' || name === 'data') return t;
    const imp = this.env.imports.get(name);
    if (imp !== undefined) return imp;
    if (this.env.ruleNames.has(name)) return dataRef([...this.env.pkgPath, name], t.loc);
    return t;
  }

  /** Resolves the callee to a builtin/core name or a user function 'data.x.f'. */
  resolveFunctionName(fn: Term, scope: Scope | undefined, loc: Loc): string {
    let parts: Value[] | undefined;
    if (fn.t === 'var') parts = fn.name.split('.');
    else if (fn.t === 'ref') {
      const r = this.term(fn, scope);
      if (r.t === 'ref' && r.head.t === 'var' && r.head.name === 'data' && r.path.every((p) => p.t === 'val')) parts = ['data', ...r.path.map((p) => (p as { v: Value }).v)];
    }
    if (parts === undefined) throw new RegoError('rego_type_error', 'invalid function call target', loc);
    const first = parts[0] as string;
    const full = parts.join('.');
    if (first !== 'data' && CORE_OPERATORS[full] !== undefined) return full;
    if (first !== 'data' && lookupLocal(scope, first) === undefined) {
      const imp = this.env.imports.get(first);
      if (imp !== undefined && imp.t === 'ref' && imp.head.t === 'var' && imp.head.name === 'data') {
        const path = ['data', ...imp.path.map((p) => (p as { v: Value }).v), ...parts.slice(1)];
        return path.join('.');
      }
      if (this.env.ruleNames.has(first) && this.env.allFunctionNames.has(['data', ...this.env.pkgPath, ...parts].join('.'))) {
        return ['data', ...this.env.pkgPath, ...parts].join('.');
      }
      if (this.env.program.ctx.hostFunctions.has(full)) return full;
      if (this.env.program.ctx.builtins.has(full)) return full;
      if (this.env.ruleNames.has(first)) return ['data', ...this.env.pkgPath, ...parts].join('.');
    }
    if (first === 'data') return full;
    throw new RegoError('rego_type_error', `undefined function ${full}`, loc);
  }

  private call(t: Extract<Term, { t: 'call' }>, scope: Scope | undefined): Term {
    const name = this.resolveFunctionName(t.fn, scope, t.loc);
    if (name.startsWith('data.') && !this.env.allFunctionNames.has(name)) {
      throw new RegoError('rego_type_error', `undefined function ${name}`, t.loc);
    }
    const args = t.args.map((a) => this.term(a, scope));
    return { t: 'call', fn: { t: 'var', name, loc: t.fn.loc }, args, loc: t.loc };
  }

  /** Pre-scans a body for declarations and creates the nested scope (renaming them). */
  newScope(body: Body, parent: Scope | undefined, rename = true): Scope {
    const pending = new Map<string, string>();
    const declare = (name: string): void => {
      if (name === '_' || pending.has(name)) return;
      pending.set(name, rename ? freshName(name) : name);
    };
    for (const lit of body) declaredBy(lit, declare);
    return { locals: new Map(), pending, parent };
  }

  body(body: Body, scope: Scope): Body {
    const declaredHere = new Set<string>();
    return body.map((lit) => {
      declaredBy(lit, (name) => {
        if (name === '_') return;
        // OPA: a var is declared (`:=`, `some`) once per body, and never over a function argument
        if (declaredHere.has(name) || (scope.locals.has(name) && !scope.pending?.has(name))) {
          throw new RegoError('rego_compile_error', `var ${name} assigned above`, lit.loc);
        }
        declaredHere.add(name);
        const internal = scope.pending?.get(name);
        if (internal !== undefined && !scope.locals.has(name)) scope.locals.set(name, internal);
      });
      return this.literal(lit, scope);
    });
  }

  private withs(ws: With[], scope: Scope | undefined): With[] {
    return ws.map((w) => ({ target: this.withTarget(w.target, scope), value: this.withValue(w.value, scope), loc: w.loc }));
  }

  private withTarget(t: Term, scope: Scope | undefined): Term {
    // input/data paths (also through imports and rule names) stay refs, unless they name a
    // user function; anything else names a builtin to mock
    const rewritten = t.t === 'var' || t.t === 'ref' ? this.term(t, undefined) : t;
    const root = rewritten.t === 'var' ? rewritten.name : rewritten.t === 'ref' && rewritten.head.t === 'var' ? rewritten.head.name : undefined;
    if (root === 'input' || root === 'data') {
      const dotted = rewritten.t === 'ref' ? refDotted(rewritten) : root;
      if (root === 'data' && dotted !== undefined && this.env.allFunctionNames.has(dotted)) {
        return { t: 'call', fn: { t: 'var', name: dotted, loc: t.loc }, args: [], loc: t.loc };
      }
      return rewritten;
    }
    const name = t.t === 'var' ? t.name : t.t === 'ref' ? refDotted(t) : undefined;
    if (name === undefined) throw new RegoError('rego_type_error', 'invalid with target', t.loc);
    const resolved = this.resolveFunctionName({ t: 'var', name, loc: t.loc }, scope, t.loc);
    return { t: 'call', fn: { t: 'var', name: resolved, loc: t.loc }, args: [], loc: t.loc };
  }

  private withValue(t: Term, scope: Scope | undefined): Term {
    // a function (builtin or user) given by name replaces the mocked function
    const name = t.t === 'var' ? t.name : t.t === 'ref' ? refDotted(t) : undefined;
    if (name !== undefined && lookupLocal(scope, name.split('.')[0] as string) === undefined) {
      try {
        const resolved = this.resolveFunctionName({ t: 'var', name, loc: t.loc }, scope, t.loc);
        const isFn = resolved.startsWith('data.') ? this.env.allFunctionNames.has(resolved) : CORE_OPERATORS[resolved] !== undefined || this.env.program.ctx.builtins.has(resolved) || this.env.program.ctx.hostFunctions.has(resolved);
        if (isFn) return { t: 'call', fn: { t: 'var', name: resolved, loc: t.loc }, args: [], loc: t.loc };
      } catch {
        // not a function: a value
      }
    }
    return this.term(t, scope);
  }

  literal(lit: Literal, scope: Scope): Literal {
    const w = this.withs(lit.with, scope);
    switch (lit.kind) {
      case 'expr':
        return { kind: 'expr', negated: lit.negated, term: this.term(lit.term, scope), with: w, loc: lit.loc };
      case 'some':
        return { kind: 'some', vars: lit.vars.map((v) => this.var(v, scope) as VarTerm), with: w, loc: lit.loc, negated: lit.negated };
      case 'somein':
        return {
          kind: 'somein',
          key: lit.key ? this.term(lit.key, scope) : undefined,
          value: this.term(lit.value, scope),
          domain: this.term(lit.domain, scope),
          with: w,
          loc: lit.loc,
          negated: lit.negated,
        };
      case 'every': {
        const inner: Scope = { locals: new Map(), parent: scope };
        const declare = (name: string): void => {
          if (name !== '_') inner.locals.set(name, freshName(name));
        };
        if (lit.key) patternVarNames(lit.key, declare);
        patternVarNames(lit.value, declare);
        const bodyScope = this.newScope(lit.body, inner);
        return {
          kind: 'every',
          key: lit.key ? this.term(lit.key, inner) : undefined,
          value: this.term(lit.value, inner),
          domain: this.term(lit.domain, scope),
          body: this.body(lit.body, bodyScope),
          with: w,
          loc: lit.loc,
          negated: lit.negated,
        };
      }
      case 'notbody': {
        const inner = this.newScope(lit.body, scope);
        return { kind: 'notbody', body: this.body(lit.body, inner), with: w, loc: lit.loc, negated: lit.negated };
      }
    }
  }
}

/**
 * Composite literals made only of constants become one constant (built once at compile time,
 * and no per-element evaluation at run time). Objects with duplicate keys of different values
 * are left alone so the evaluator raises the conflict.
 */
function foldConstant(t: Term): Term {
  switch (t.t) {
    case 'arr':
      if (!t.items.every((i) => i.t === 'val')) return t;
      return { t: 'val', v: t.items.map((i) => (i as { v: Value }).v), loc: t.loc };
    case 'set':
      if (!t.items.every((i) => i.t === 'val')) return t;
      return { t: 'val', v: SetValue.of(t.items.map((i) => (i as { v: Value }).v)), loc: t.loc };
    case 'obj': {
      if (!t.entries.every(([k, v]) => k.t === 'val' && v.t === 'val')) return t;
      const o = new ObjectValue();
      for (const [k, v] of t.entries) {
        const key = (k as { v: Value }).v;
        const val = (v as { v: Value }).v;
        const prev = o.get(key);
        if (prev !== undefined && !equals(prev, val)) return t;
        o.set(key, val);
      }
      return { t: 'val', v: o, loc: t.loc };
    }
    default:
      return t;
  }
}

function refDotted(t: Extract<Term, { t: 'ref' }>): string | undefined {
  if (t.head.t !== 'var') return undefined;
  const parts = [t.head.name];
  for (const p of t.path) {
    if (p.t !== 'val' || typeof p.v !== 'string') return undefined;
    parts.push(p.v);
  }
  return parts.join('.');
}

/** Calls `f` for every var in pattern position of a term (var, array items, object values). */
function patternVarNames(t: Term, f: (name: string) => void): void {
  if (t.t === 'var') f(t.name);
  else if (t.t === 'arr') for (const i of t.items) patternVarNames(i, f);
  else if (t.t === 'obj') for (const [, v] of t.entries) patternVarNames(v, f);
}

// ---------------------------------------------------------------------------------------------
// Safety analysis and reordering

const ROOTS = new Set(['input', 'data']);

/** Vars that must be bound to evaluate a term as a value (comprehension interiors: free vars). */
function needVars(t: Term, out: Set<string>, outer: ReadonlySet<string>): void {
  switch (t.t) {
    case 'val':
      return;
    case 'var':
      if (!ROOTS.has(t.name)) out.add(t.name);
      return;
    case 'ref':
      needVars(t.head, out, outer);
      for (const p of t.path) if (p.t !== 'var') patternNeeds(p, out, outer);
      return;
    case 'arr':
    case 'set':
      for (const i of t.items) needVars(i, out, outer);
      return;
    case 'obj':
      for (const [k, v] of t.entries) {
        needVars(k, out, outer);
        needVars(v, out, outer);
      }
      return;
    case 'call':
      for (const a of t.args) needVars(a, out, outer);
      return;
    case 'tmpl':
      for (const p of t.parts) if (typeof p !== 'string') needVars(p, out, outer);
      return;
    case 'acomp':
    case 'scomp':
    case 'ocomp': {
      const inner = new Set<string>();
      allVars(t, inner);
      for (const v of inner) if (outer.has(v)) out.add(v);
      return;
    }
  }
}

/** Every var occurring in a term (including comprehension bodies). */
export function allVars(t: Term, out: Set<string>): void {
  termVars(t, out, true);
}

/** Vars of a term outside comprehension interiors. */
function shallowVars(t: Term, out: Set<string>): void {
  termVars(t, out, false);
}

/** One traversal for both: `deep` decides whether comprehension interiors count. */
function termVars(t: Term, out: Set<string>, deep: boolean): void {
  switch (t.t) {
    case 'val':
      return;
    case 'var':
      if (!ROOTS.has(t.name)) out.add(t.name);
      return;
    case 'ref':
      termVars(t.head, out, deep);
      for (const p of t.path) termVars(p, out, deep);
      return;
    case 'arr':
    case 'set':
      for (const i of t.items) termVars(i, out, deep);
      return;
    case 'obj':
      for (const [k, v] of t.entries) {
        termVars(k, out, deep);
        termVars(v, out, deep);
      }
      return;
    case 'call':
      for (const a of t.args) termVars(a, out, deep);
      return;
    case 'tmpl':
      for (const p of t.parts) if (typeof p !== 'string') termVars(p, out, deep);
      return;
    case 'acomp':
    case 'scomp':
      if (!deep) return;
      termVars(t.term, out, true);
      for (const l of t.body) literalVars(l, out);
      return;
    case 'ocomp':
      if (!deep) return;
      termVars(t.key, out, true);
      termVars(t.value, out, true);
      for (const l of t.body) literalVars(l, out);
      return;
  }
}

function literalVars(l: Literal, out: Set<string>, shallow = false): void {
  const allVars = shallow ? shallowVars : allVarsDeep;
  switch (l.kind) {
    case 'expr':
      allVars(l.term, out);
      break;
    case 'some':
      for (const v of l.vars) out.add(v.name);
      break;
    case 'somein':
      if (l.key) allVars(l.key, out);
      allVars(l.value, out);
      allVars(l.domain, out);
      break;
    case 'every':
      if (!shallow && l.key) allVars(l.key, out);
      if (!shallow) allVars(l.value, out);
      allVars(l.domain, out);
      if (!shallow) for (const b of l.body) literalVars(b, out);
      break;
    case 'notbody':
      if (!shallow) for (const b of l.body) literalVars(b, out);
      break;
  }
  for (const w of l.with) {
    allVars(w.value, out);
  }
}

function allVarsDeep(t: Term, out: Set<string>): void {
  allVars(t, out);
}


/** Vars a term can bind as a side effect of evaluation (ref index vars, anywhere). */
function genVars(t: Term, out: Set<string>): void {
  switch (t.t) {
    case 'ref':
      genVars(t.head, out);
      for (const p of t.path) {
        if (p.t === 'var') out.add(p.name);
        else if (p.t === 'arr' || p.t === 'obj') {
          patternVarNames(p, (n) => out.add(n));
          genVars(p, out);
        } else genVars(p, out);
      }
      return;
    case 'arr':
    case 'set':
      for (const i of t.items) genVars(i, out);
      return;
    case 'obj':
      for (const [k, v] of t.entries) {
        genVars(k, out);
        genVars(v, out);
      }
      return;
    case 'call':
      for (const a of t.args) genVars(a, out);
      return;
    case 'tmpl':
      return;
    default:
      return;
  }
}

/** Needs of the "pattern" side of a unification: pattern positions need nothing. */
function patternNeeds(t: Term, out: Set<string>, outer: ReadonlySet<string>): void {
  if (t.t === 'var') return;
  if (t.t === 'arr') {
    for (const i of t.items) patternNeeds(i, out, outer);
    return;
  }
  if (t.t === 'obj') {
    for (const [k, v] of t.entries) {
      needVars(k, out, outer);
      patternNeeds(v, out, outer);
    }
    return;
  }
  needVars(t, out, outer);
}

function subset(a: Set<string>, bound: ReadonlySet<string>): boolean {
  for (const v of a) if (!bound.has(v)) return false;
  return true;
}

export interface FunctionArity {
  (name: string): number | undefined;
}

/**
 * Can the literal run with `bound` vars bound? Returns the vars it binds, or undefined.
 * `outer` = vars considered bound from enclosing scopes plus every var of the enclosing body
 * (used to tell closure vars of comprehensions apart from their own locals).
 */
function literalPlan(lit: Literal, bound: ReadonlySet<string>, outer: ReadonlySet<string>, arity: FunctionArity): Set<string> | undefined {
  const need = new Set<string>();
  const outs = new Set<string>();
  for (const w of lit.with) needVars(w.value, need, outer);
  if (lit.negated) {
    if (lit.kind === 'expr') {
      const vs = new Set<string>();
      needVars(lit.term, vs, outer);
      const gens = new Set<string>();
      genVars(lit.term, gens);
      for (const v of vs) need.add(v);
      for (const g of gens) if (!isWildcard(g) && outer.has(g) && !bound.has(g)) need.add(g);
    } else if (lit.kind === 'notbody') {
      for (const b of lit.body) {
        const vs = new Set<string>();
        literalVars(b, vs);
        for (const v of vs) if (outer.has(v)) need.add(v);
      }
    }
    return subset(need, bound) ? outs : undefined;
  }
  switch (lit.kind) {
    case 'some':
      return outs;
    case 'somein': {
      needVars(lit.domain, need, outer);
      genVars(lit.domain, outs);
      if (lit.key) {
        patternNeeds(lit.key, need, outer);
        allVars(lit.key, outs);
      }
      patternNeeds(lit.value, need, outer);
      allVars(lit.value, outs);
      break;
    }
    case 'every': {
      needVars(lit.domain, need, outer);
      for (const b of lit.body) {
        const vs = new Set<string>();
        literalVars(b, vs);
        for (const v of vs) if (outer.has(v)) need.add(v);
      }
      break;
    }
    case 'notbody':
      break;
    case 'expr': {
      const t = lit.term;
      if (t.t === 'call' && t.fn.t === 'var') {
        const name = t.fn.name;
        const [a, b] = t.args as [Term, Term];
        if (name === 'eq') {
          const na = new Set<string>();
          const pa = new Set<string>();
          needVars(a, na, outer);
          patternNeeds(a, pa, outer);
          const nb = new Set<string>();
          const pb = new Set<string>();
          needVars(b, nb, outer);
          patternNeeds(b, pb, outer);
          const ok = (subset(na, bound) && subset(pb, bound)) || (subset(nb, bound) && subset(pa, bound)) || (bothPatterns(a, b) && subset(pa, bound) && subset(pb, bound));
          if (!ok) return undefined;
          allVars(a, outs);
          allVars(b, outs);
          return outs;
        }
        if (name === 'assign') {
          patternNeeds(a, need, outer);
          needVars(b, need, outer);
          allVars(a, outs);
          genVars(b, outs);
          break;
        }
        const n = arity(name);
        if (n !== undefined && n >= 0 && t.args.length === n + 1) {
          for (let i = 0; i < n; i++) {
            needVars(t.args[i] as Term, need, outer);
            genVars(t.args[i] as Term, outs);
          }
          const last = t.args[n] as Term;
          patternNeeds(last, need, outer);
          allVars(last, outs);
          break;
        }
      }
      needVars(t, need, outer);
      genVars(t, outs);
      // vars generated by a ref inside the same expression are safe (`x == xs[x]`)
      for (const g of outs) need.delete(g);
      break;
    }
  }
  return subset(need, bound) ? outs : undefined;
}

function bothPatterns(a: Term, b: Term): boolean {
  return (a.t === 'arr' && b.t === 'arr' && a.items.length === b.items.length) || (a.t === 'obj' && b.t === 'obj');
}

/**
 * Reorders a body so each literal's needed vars are bound first (stable: keeps source order
 * whenever possible). Also reorders nested bodies. Throws rego_unsafe_var_error otherwise.
 */
export function reorderBody(body: Body, bound: ReadonlySet<string>, enclosing: ReadonlySet<string>, arity: FunctionArity): Body {
  const bodyVars = new Set<string>(enclosing);
  for (const l of body) literalVars(l, bodyVars, true);
  const outer = bodyVars;
  const boundNow = new Set(bound);
  const n = body.length;
  const placed = new Array<boolean>(n).fill(false);
  const out: Body = [];
  // Always place the first placeable literal in source order (OPA's choice). A literal that
  // cannot run yet is re-examined only when one of its vars becomes bound: O(n log n) instead
  // of rescanning the body after every placement (hostile policies have huge bodies).
  const heap = new MinHeap();
  for (let i = 0; i < n; i++) heap.push(i);
  const waiting = new Map<string, number[]>();
  while (out.length < n) {
    const i = heap.pop();
    if (i === undefined) {
      const first = placed.indexOf(false);
      const lit = body[first] as Literal;
      const vs = new Set<string>();
      literalVars(lit, vs);
      const unsafe = [...vs].filter((v) => !boundNow.has(v) && isUserVar(v)).sort();
      const name = unsafe[0] ?? [...vs].find((v) => !boundNow.has(v)) ?? '?';
      throw new RegoError('rego_unsafe_var_error', `var ${name.replace(/\$\d+$/, '')} is unsafe`, lit.loc);
    }
    if (placed[i]) continue;
    const lit = body[i] as Literal;
    const outs = literalPlan(lit, boundNow, outer, arity);
    if (outs === undefined) {
      const vs = new Set<string>();
      literalVars(lit, vs);
      for (const v of vs) {
        if (boundNow.has(v)) continue;
        let list = waiting.get(v);
        if (!list) waiting.set(v, (list = []));
        list.push(i);
      }
      continue;
    }
    placed[i] = true;
    out.push(reorderNested(lit, boundNow, outer, arity));
    for (const v of outs) {
      if (boundNow.has(v)) continue;
      boundNow.add(v);
      const list = waiting.get(v);
      if (list) {
        for (const j of list) if (!placed[j]) heap.push(j);
        waiting.delete(v);
      }
    }
  }
  return out;
}

/** Minimal binary min-heap of literal indices. */
class MinHeap {
  private readonly items: number[] = [];
  push(x: number): void {
    const a = this.items;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((a[p] as number) <= x) break;
      a[i] = a[p] as number;
      i = p;
    }
    a[i] = x;
  }
  pop(): number | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0] as number;
    const last = a.pop() as number;
    if (a.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const r = l + 1;
        const c = r < a.length && (a[r] as number) < (a[l] as number) ? r : l;
        if ((a[c] as number) >= last) break;
        a[i] = a[c] as number;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

function reorderNested(lit: Literal, bound: ReadonlySet<string>, outer: ReadonlySet<string>, arity: FunctionArity): Literal {
  const rt = (t: Term): Term => reorderTerm(t, bound, outer, arity);
  const withs = lit.with.map((w) => ({ target: w.target, value: rt(w.value), loc: w.loc }));
  switch (lit.kind) {
    case 'expr':
      return { ...lit, term: rt(lit.term), with: withs };
    case 'somein':
      return { ...lit, domain: rt(lit.domain), with: withs };
    case 'every': {
      const inner = new Set(bound);
      if (lit.key) allVars(lit.key, inner);
      allVars(lit.value, inner);
      return { ...lit, domain: rt(lit.domain), body: reorderBody(lit.body, inner, outer, arity), with: withs };
    }
    case 'notbody':
      return { ...lit, body: reorderBody(lit.body, bound, outer, arity), with: withs };
    default:
      return { ...lit, with: withs };
  }
}

function reorderTerm(t: Term, bound: ReadonlySet<string>, outer: ReadonlySet<string>, arity: FunctionArity): Term {
  const r = (x: Term): Term => reorderTerm(x, bound, outer, arity);
  switch (t.t) {
    case 'ref':
      return { ...t, head: r(t.head), path: t.path.map(r) };
    case 'arr':
      return { ...t, items: t.items.map(r) };
    case 'set':
      return { ...t, items: t.items.map(r) };
    case 'obj':
      return { ...t, entries: t.entries.map(([k, v]) => [r(k), r(v)] as [Term, Term]) };
    case 'call':
      return { ...t, args: t.args.map(r) };
    case 'tmpl':
      return { ...t, parts: t.parts.map((p) => (typeof p === 'string' ? p : r(p))) };
    case 'acomp':
    case 'scomp':
      return { ...t, body: reorderBody(t.body, bound, outer, arity), term: t.term };
    case 'ocomp':
      return { ...t, body: reorderBody(t.body, bound, outer, arity) };
    default:
      return t;
  }
}

// ---------------------------------------------------------------------------------------------
// Program construction

export function compileModules(modules: Module[], ctx: CompileContext): CompiledProgram {
  const program = new CompiledProgram(modules, ctx);
  // names per package
  const pkgRuleNames = new Map<string, Set<string>>();
  const functionArity = new Map<string, number>();
  const allFunctionNames = new Set<string>();
  for (const m of modules) {
    const k = keyOf(m.pkg);
    let set = pkgRuleNames.get(k);
    if (!set) pkgRuleNames.set(k, (set = new Set()));
    for (const r of m.rules) {
      const head = r.ref[0];
      if (head?.t === 'var') set.add(head.name);
      if (r.kind === 'func') {
        const path = [...m.pkg, ...r.ref.map((x) => (x.t === 'var' ? x.name : x.t === 'val' ? x.v : '?'))];
        allFunctionNames.add(['data', ...path].join('.'));
      }
    }
  }
  const arity = (name: string): number | undefined => {
    const core = CORE_OPERATORS[name];
    if (core !== undefined) return core;
    if (name.startsWith('data.')) return functionArity.get(name);
    if (ctx.hostFunctions.has(name)) return -1;
    const b = ctx.builtins.get(name);
    if (b === undefined) return undefined;
    return b.arity === 'variadic' ? -1 : b.arity;
  };

  const pending: Array<{ rule: Rule; env: ModuleEnv }> = [];
  for (const m of modules) {
    const imports = new Map<string, Term>();
    for (const imp of m.imports) {
      const p = imp.path;
      const root = p.t === 'var' ? p.name : p.t === 'ref' && p.head.t === 'var' ? p.head.name : '';
      if (root !== 'data' && root !== 'input') continue;
      const last = p.t === 'var' ? p.name : p.t === 'ref' ? (p.path[p.path.length - 1] as { v: Value }).v : '';
      const alias = imp.alias ?? String(last);
      imports.set(alias, p);
    }
    const env: ModuleEnv = { module: m, pkgPath: m.pkg, ruleNames: pkgRuleNames.get(keyOf(m.pkg)) ?? new Set(), imports, program, allFunctionNames };
    for (const rule of m.rules) pending.push({ rule, env });
  }
  // first pass: register function arities (needed while reordering)
  for (const { rule } of pending) {
    const head = rule.ref[0];
    if (head?.t === 'var' && (head.name === 'input' || head.name === 'data')) throw new RegoError('rego_compile_error', `${head.name} cannot be shadowed`, rule.loc);
  }
  for (const { rule, env } of pending) {
    if (rule.kind !== 'func') continue;
    const name = ['data', ...env.pkgPath, ...rule.ref.map((x) => (x.t === 'var' ? x.name : x.t === 'val' ? x.v : '?'))].join('.');
    const list = program.functions.get(name) ?? [];
    if (list.length > 0 && (list[0]?.rule.args?.length ?? 0) !== (rule.args?.length ?? 0)) {
      throw new RegoError('rego_type_error', `conflicting rules ${name} found`, rule.loc);
    }
    list.push({ rule, suffix: [], node: program.root, file: env.module.file });
    program.functions.set(name, list);
    functionArity.set(name, rule.args?.length ?? 0);
  }
  for (const list of program.functions.values()) list.length = 0;
  for (const m of modules) {
    let node = program.root;
    for (const seg of m.pkg) node = node.child(seg);
    node.isPackage = true;
    if (m.annotations !== undefined) program.packageAnnotations.set(keyOf(m.pkg), m.annotations);
  }
  for (const { rule, env } of pending) {
    const compiled = compileRule(rule, env, arity);
    placeRule(program, env, compiled);
  }
  checkRuleKinds(program.root);
  markVirtual(program.root);
  checkRecursion(program);
  return program;
}

/** One document cannot be both a complete value, a set and an object built by partial rules. */
function checkRuleKinds(n: RuleNode): void {
  const objectRules = n.dynamic.some((r) => r.rule.kind === 'complete');
  const setRules = n.multi.length > 0;
  const kinds = Number(n.complete.length > 0) + Number(setRules) + Number(objectRules);
  if (kinds > 1) {
    const first = n.complete[0] ?? n.multi[0] ?? n.dynamic[0];
    throw new RegoError('rego_type_error', `conflicting rules data.${n.path.map(String).join('.')} found (rule has multiple types)`, first?.rule.loc);
  }
  for (const c of n.children.values()) checkRuleKinds(c);
}

function markVirtual(n: RuleNode): boolean {
  let any = n.hasRules() || n.isPackage;
  for (const c of n.children.values()) if (markVirtual(c)) any = true;
  n.hasVirtual = any;
  return any;
}

function compileRule(rule: Rule, env: ModuleEnv, arity: FunctionArity): Rule {
  const rw = new Rewriter(env);
  // function args and the whole body share one scope; args are declared locals
  const scope = rw.newScope(rule.body, undefined, false);
  const argNames = new Set<string>();
  if (rule.args) for (const a of rule.args) allVarsRaw(a, (n) => argNames.add(n));
  for (const n of argNames) if (n !== '_') scope.locals.set(n, n);
  // head ref vars are body locals (not rule references) when they appear in the body
  const headVars = new Set<string>();
  for (const t of rule.ref.slice(1)) allVarsRaw(t, (n) => headVars.add(n));
  if (rule.key) allVarsRaw(rule.key, (n) => headVars.add(n));
  allVarsRaw(rule.value, (n) => headVars.add(n));
  const bodyVarsRaw = new Set<string>();
  for (const l of rule.body) for (const n of rawLiteralVars(l)) bodyVarsRaw.add(n);
  for (const n of headVars) if (bodyVarsRaw.has(n) && !env.ruleNames.has(n) && !scope.locals.has(n) && !scope.pending?.has(n)) scope.locals.set(n, n);
  const args = rule.args?.map((a) => rw.term(a, scope));
  const body = rw.body(rule.body, scope);
  const ref = [rule.ref[0] as Term, ...rule.ref.slice(1).map((t) => rw.term(t, scope))];
  const key = rule.key ? rw.term(rule.key, scope) : undefined;
  const value = rw.term(rule.value, scope);
  const elses = rule.elses.map((e) => {
    const eScope = rw.newScope(e.body, undefined, false);
    for (const n of argNames) if (n !== '_') eScope.locals.set(n, n);
    const eb = rw.body(e.body, eScope);
    return { value: rw.term(e.value, eScope), body: eb, loc: e.loc, args: rule.args?.map((a) => rw.term(a, eScope)) };
  });
  // head vars must come out of the body: reorder with args bound
  const bound = new Set<string>();
  if (args) for (const a of args) allVars(a, bound);
  const headUse = new Set<string>();
  for (const t of ref.slice(1)) shallowVars(t, headUse);
  if (key) shallowVars(key, headUse);
  shallowVars(value, headUse);
  const headGen = new Set<string>();
  for (const t of ref.slice(1)) genVars(t, headGen);
  if (key) genVars(key, headGen);
  genVars(value, headGen);
  const reordered = reorderBody(body, bound, headUse, arity);
  // check head safety
  const after = new Set(bound);
  for (const l of reordered) literalVars(l, after);
  for (const v of headUse) {
    if (!after.has(v) && !headGen.has(v)) {
      throw new RegoError('rego_unsafe_var_error', `var ${v.replace(/\$\d+$/, '')} is unsafe`, rule.loc);
    }
  }
  const reorderedElses = elses.map((e) => {
    const eb = new Set<string>();
    if (e.args) for (const a of e.args) allVars(a, eb);
    const eu = new Set<string>();
    shallowVars(e.value, eu);
    return { value: reorderTerm(e.value, eb, eu, arity), body: reorderBody(e.body, eb, eu, arity), loc: e.loc };
  });
  return { ...rule, args, body: reordered, ref, key: key === undefined ? undefined : reorderTerm(key, after, after, arity), value: reorderTerm(value, after, after, arity), elses: reorderedElses };
}

function allVarsRaw(t: Term, f: (name: string) => void): void {
  const s = new Set<string>();
  allVars(t, s);
  for (const n of s) f(n);
}

function rawLiteralVars(l: Literal): Set<string> {
  const s = new Set<string>();
  literalVars(l, s);
  return s;
}

function placeRule(program: CompiledProgram, env: ModuleEnv, rule: Rule): void {
  const full: Term[] = [...env.pkgPath.map((p) => ({ t: 'val', v: p, loc: rule.loc }) as Term), { t: 'val', v: (rule.ref[0] as VarTerm).name, loc: rule.loc }, ...rule.ref.slice(1)];
  if (rule.kind === 'func') {
    // the objects enclosing a ref-head function exist in the package document (as {})
    let parent = program.root;
    for (const t of full.slice(0, -1)) {
      if (t.t !== 'val') break;
      parent = parent.child(t.v);
      parent.isPackage = true;
    }
    const name = ['data', ...full.map((t) => (t.t === 'val' ? t.v : '?'))].join('.');
    const list = program.functions.get(name) ?? [];
    list.push({ rule, pkg: env.pkgPath, suffix: [], node: program.root, file: env.module.file });
    program.functions.set(name, list);
    return;
  }
  let node = program.root;
  let i = 0;
  // static prefix: leading constant scalar terms; for multi-value rules the last term is the key
  for (; i < full.length; i++) {
    const t = full[i] as Term;
    if (t.t !== 'val') break;
    node = node.child(t.v);
  }
  const suffix = full.slice(i);
  const cr: CompiledRule = { rule, pkg: env.pkgPath, suffix, node, file: env.module.file };
  if (rule.isDefault) {
    if (node.defaultRule !== undefined) throw new RegoError('rego_type_error', `multiple default rules ${['data', ...node.path].join('.')} found`, rule.loc);
    node.defaultRule = cr;
    return;
  }
  if (suffix.length > 0) node.dynamic.push(cr);
  else if (rule.kind === 'multi') node.multi.push(cr);
  else node.complete.push(cr);
}

/** Compiles a query body against a program: name resolution in the given package context. */
export function compileQuery(body: Body, program: CompiledProgram, arity: FunctionArity, pkgPath: Value[] = [], imports: Map<string, Term> = new Map()): Body {
  const ruleNames = new Set<string>();
  const m: Module = { file: 'query', pkg: pkgPath, imports: [], rules: [], v1: true };
  const allFunctionNames = new Set(program.functions.keys());
  const env: ModuleEnv = { module: m, pkgPath, ruleNames, imports, program, allFunctionNames };
  const rw = new Rewriter(env);
  const scope = rw.newScope(body, undefined, false);
  const rewritten = rw.body(body, scope);
  return reorderBody(rewritten, new Set(), new Set(), arity);
}
