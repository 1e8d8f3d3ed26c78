/**
 * The `with` keyword: the scope a literal is evaluated in (input, `data` overlays, function
 * mocks, and the rule caches that depend on them), and how `with` replaces it for one literal.
 */
import type { Literal, Term } from '../ast.ts';
import { CORE_OPERATORS, type CompiledProgram, type RuleNode } from '../compiler.ts';
import { RegoError } from '../errors.ts';
import type { Evaluator } from '../evaluator.ts';
import { ObjectValue, SetValue, type Value } from '../value.ts';
import { startsWith, upsert } from './documents.ts';
import type { Cached, Env, HostFn, K } from './types.ts';

/** A `with data.a.b as v` replacement, path below `data`. */
export interface Overlay {
  readonly path: Value[];
  readonly value: Value;
}

/** A `with f as v` (always v) or `with f as g` (call g instead) replacement. */
export type Mock = { kind: 'value'; value: Value } | { kind: 'fn'; name: string };

/** What a `with` replaces; the rule caches are per scope, since rule values depend on it. */
export interface Scope {
  readonly input: Value | undefined;
  readonly overlays: readonly Overlay[];
  readonly mocks: ReadonlyMap<string, Mock>;
  readonly cache: Map<RuleNode, Cached>;
  readonly keyCache: Map<RuleNode, Map<string, Cached>>;
}

export function initialScope(input: Value | undefined): Scope {
  return { input, overlays: [], mocks: new Map(), cache: new Map(), keyCache: new Map() };
}

/** Evaluates a literal carrying `with` modifiers; the continuation runs in the outer scope. */
export function evalWith(ev: Evaluator, lit: Literal, env: Env, k: K): boolean {
  // evaluate the replacement values first (in the current context)
  const values: Array<{ target: Term; value: Value | Mock }> = [];
  for (const w of lit.with) {
    let v: Value | Mock | undefined;
    if (w.value.t === 'call' && w.value.args.length === 0 && w.value.fn.t === 'var' && isFunctionName(ev.program, w.value.fn.name, ev.settings.hostFunctions)) {
      v = { kind: 'fn', name: w.value.fn.name };
    } else {
      ev.evalTerm(w.value, env, (x) => {
        v = x;
        return true;
      });
    }
    if (v === undefined) return false;
    values.push({ target: w.target, value: v });
  }
  const outer = ev.scope;
  let input = outer.input;
  let overlays = outer.overlays;
  let mocks = outer.mocks;
  for (const { target, value } of values) {
    if (target.t === 'call' && target.fn.t === 'var') {
      const m: Mock = isMock(value) ? value : { kind: 'value', value };
      mocks = new Map(mocks).set(target.fn.name, m);
      continue;
    }
    const path = withPath(target);
    const val = isMock(value) ? null : value;
    if (path[0] === 'input') {
      input = path.length === 1 ? val : upsert(input, path.slice(1), val);
    } else {
      overlays = [...overlays.filter((o) => !startsWith(o.path, path.slice(1))), { path: path.slice(1), value: val }];
    }
  }
  const inner: Scope = { input, overlays, mocks, cache: new Map(), keyCache: new Map() };
  ev.scope = inner;
  try {
    return ev.evalLiteral(lit, env, () => {
      ev.scope = outer;
      try {
        return k();
      } finally {
        ev.scope = inner;
      }
    });
  } finally {
    ev.scope = outer;
  }
}

/** The overlay replacing exactly the document at `nodePath`, if any. */
export function overlayAt(scope: Scope, nodePath: readonly Value[]): Overlay | undefined {
  for (const o of scope.overlays) if (o.path.length === nodePath.length && startsWith(nodePath, o.path)) return o;
  return undefined;
}

/** Does an overlay replace a document strictly below `path`? */
export function overlaysBelow(scope: Scope, path: readonly Value[]): boolean {
  for (const o of scope.overlays) if (o.path.length > path.length && startsWith(o.path, path)) return true;
  return false;
}

function isMock(v: Value | Mock): v is Mock {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof ObjectValue) && !(v instanceof SetValue) && 'kind' in v && (v.kind === 'fn' || v.kind === 'value');
}

function isFunctionName(program: CompiledProgram, name: string, hosts: ReadonlyMap<string, HostFn>): boolean {
  if (name.startsWith('data.')) return program.functions.has(name);
  return CORE_OPERATORS[name] !== undefined || program.ctx.builtins.has(name) || hosts.has(name);
}

function withPath(t: Term): Value[] {
  if (t.t === 'var') return [t.name];
  if (t.t === 'ref' && t.head.t === 'var') return [t.head.name, ...t.path.map((p) => (p.t === 'val' ? p.v : '?'))];
  throw new RegoError('rego_type_error', 'invalid with target', t.loc);
}
