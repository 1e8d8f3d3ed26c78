/**
 * rego.parse_module(filename, source): parses Rego with this engine's parser and renders the
 * module in OPA's AST JSON shape (package path terms, imports, rules with head/body, expression
 * `terms` with call operators as refs), so policies can inspect modules the way they do in OPA.
 * Parse errors surface as eval_builtin_error carrying the parser's rego_parse_error text.
 */
import type { Body, Literal, Module, Rule, Term } from '../ast.ts';
import { builtinError, type BuiltinDefinition } from '../builtinContract.ts';
import { parseModule } from '../parser.ts';
import { BigDecimal, ObjectValue, SetValue, isNumber, type Value } from '../value.ts';
import { stringArg } from './args.ts';

const node = (record: Record<string, Value>): ObjectValue => ObjectValue.fromRecord(record);

function valueTerm(v: Value): Value {
  if (v === null) return node({ type: 'null' });
  if (typeof v === 'boolean') return node({ type: 'boolean', value: v });
  if (isNumber(v) || v instanceof BigDecimal) return node({ type: 'number', value: v });
  if (typeof v === 'string') return node({ type: 'string', value: v });
  if (Array.isArray(v)) return node({ type: 'array', value: v.map(valueTerm) });
  if (v instanceof SetValue) return node({ type: 'set', value: v.values().map(valueTerm) });
  return node({ type: 'object', value: (v as ObjectValue).entries().map(([k, val]) => [valueTerm(k), valueTerm(val)]) });
}

/** An operator or function name as OPA's ref term: `io.jwt.decode` → [var io, "jwt", "decode"]. */
function nameRef(name: string): Value {
  const [head = '', ...rest] = name.split('.');
  return node({ type: 'ref', value: [node({ type: 'var', value: head }), ...rest.map((p) => node({ type: 'string', value: p }))] });
}

function operatorRef(fn: Term): Value {
  if (fn.t === 'var') return nameRef(fn.name);
  if (fn.t === 'val' && typeof fn.v === 'string') return nameRef(fn.v);
  return term(fn);
}

function term(t: Term, depth = 0): Value {
  if (depth > 500) throw new RangeError('module nests too deeply');
  const sub = (x: Term): Value => term(x, depth + 1);
  switch (t.t) {
    case 'val': return valueTerm(t.v);
    case 'var': return node({ type: 'var', value: t.name });
    case 'ref': return node({ type: 'ref', value: [sub(t.head), ...t.path.map(sub)] });
    case 'arr': return node({ type: 'array', value: t.items.map(sub) });
    case 'set': return node({ type: 'set', value: t.items.map(sub) });
    case 'obj': return node({ type: 'object', value: t.entries.map(([k, v]) => [sub(k), sub(v)]) });
    case 'acomp': return node({ type: 'arraycomprehension', value: node({ term: sub(t.term), body: body(t.body, depth + 1) }) });
    case 'scomp': return node({ type: 'setcomprehension', value: node({ term: sub(t.term), body: body(t.body, depth + 1) }) });
    case 'ocomp': return node({ type: 'objectcomprehension', value: node({ key: sub(t.key), value: sub(t.value), body: body(t.body, depth + 1) }) });
    case 'call': return node({ type: 'call', value: [operatorRef(t.fn), ...t.args.map(sub)] });
    case 'tmpl': {
      const parts = t.parts.map((p) => (typeof p === 'string' ? valueTerm(p) : sub(p)));
      return node({ type: 'call', value: [nameRef('internal.template_string'), node({ type: 'array', value: parts })] });
    }
  }
}

function expression(literal: Literal, index: number, depth: number): Value {
  const out = new ObjectValue();
  out.set('index', index);
  switch (literal.kind) {
    case 'expr':
      out.set('terms', literal.term.t === 'call'
        ? [operatorRef(literal.term.fn), ...literal.term.args.map((a) => term(a, depth + 1))]
        : term(literal.term, depth + 1));
      break;
    case 'some':
      out.set('terms', node({ symbols: literal.vars.map((v) => term(v, depth + 1)) }));
      break;
    case 'somein': {
      const args = [...(literal.key === undefined ? [] : [literal.key]), literal.value, literal.domain].map((a) => term(a, depth + 1));
      const member = literal.key === undefined ? 'internal.member_2' : 'internal.member_3';
      out.set('terms', node({ symbols: [node({ type: 'call', value: [nameRef(member), ...args] })] }));
      break;
    }
    case 'every': {
      const every = new ObjectValue();
      if (literal.key !== undefined) every.set('key', term(literal.key, depth + 1));
      every.set('value', term(literal.value, depth + 1));
      every.set('domain', term(literal.domain, depth + 1));
      every.set('body', body(literal.body, depth + 1));
      out.set('terms', every);
      break;
    }
    case 'notbody':
      out.set('terms', node({ body: body(literal.body, depth + 1) }));
      break;
  }
  if (literal.negated) out.set('negated', true);
  if (literal.with.length > 0) {
    out.set('with', literal.with.map((w) => node({ target: term(w.target, depth + 1), value: term(w.value, depth + 1) })));
  }
  return out;
}

function body(b: Body, depth = 0): Value {
  if (b.length === 0) return [node({ index: 0, terms: valueTerm(true) })];
  return b.map((literal, i) => expression(literal, i, depth));
}

function rule(r: Rule): Value {
  const head = new ObjectValue();
  const [first] = r.ref;
  if (first?.t === 'var') head.set('name', first.name);
  head.set('ref', r.ref.map((t) => term(t)));
  if (r.args !== undefined) head.set('args', r.args.map((t) => term(t)));
  if (r.key !== undefined) head.set('key', term(r.key));
  if (r.kind !== 'multi' || r.key === undefined) head.set('value', term(r.value));
  const out = new ObjectValue();
  out.set('head', head);
  out.set('body', body(r.body));
  if (r.isDefault) out.set('default', true);
  if (r.elses.length > 0) {
    // OPA nests else branches: rule.else.else...
    let chained: ObjectValue | undefined;
    for (const e of [...r.elses].reverse()) {
      const branch = node({ head: node({ name: head.get('name') ?? '', value: term(e.value) }), body: body(e.body) });
      if (chained !== undefined) branch.set('else', chained);
      chained = branch;
    }
    if (chained !== undefined) out.set('else', chained);
  }
  return out;
}

function moduleJson(m: Module): Value {
  const out = new ObjectValue();
  out.set('package', node({ path: [node({ type: 'var', value: 'data' }), ...m.pkg.map((p) => valueTerm(p))] }));
  if (m.imports.length > 0) {
    out.set('imports', m.imports.map((i) => {
      const imp = node({ path: term(i.path) });
      if (i.alias !== undefined) imp.set('alias', i.alias);
      return imp;
    }));
  }
  if (m.rules.length > 0) out.set('rules', m.rules.map(rule));
  return out;
}

export const regoParseModuleBuiltins: BuiltinDefinition[] = [
  {
    name: 'rego.parse_module', arity: 2,
    impl: ([f, s], ctx) => {
      const file = stringArg(ctx.name, f as Value, 1);
      const source = stringArg(ctx.name, s as Value, 2);
      ctx.charge(Math.ceil(source.length / 16) + 1);
      let parsed: Module;
      try {
        parsed = parseModule(source, file, { v1: true });
      } catch (error) {
        if (error instanceof Error && error.name === 'RegoError') throw builtinError(ctx.name, error.message);
        throw error;
      }
      return moduleJson(parsed);
    },
  },
];
