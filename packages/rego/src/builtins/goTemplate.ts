/**
 * A subset of Go's text/template for `strings.render_template`: text, `{{.a.b}}`, variables
 * (`$`, `$x := ...`), `if`/`else if`/`else`, `range` (with `$i, $v :=`), `with`, trim markers
 * (`{{-`, `-}}`), comments, literals, pipelines and the functions len, index, print, printf,
 * println, eq, ne, lt, le, gt, ge, and, or, not. A key missing from the variables renders as
 * `<undefined>` (OPA's behaviour).
 */
import { builtinError, type BuiltinContext } from '../builtinContract.ts';
import {
  BigDecimal, ObjectValue, SetValue, compare, equals, isNumber, numberToString, toBigInt, type Value,
} from '../value.ts';
import { goSprintf, type GoArg } from './goFormat.ts';
import { errorClassWithCode } from '@trustee/errors';

class TemplateError extends errorClassWithCode('invalid_template') {}

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipe: Pipeline }
  | { kind: 'if'; pipe: Pipeline; then: Node[]; otherwise: Node[] }
  | { kind: 'with'; pipe: Pipeline; then: Node[]; otherwise: Node[] }
  | { kind: 'range'; pipe: Pipeline; keyVar?: string; valueVar?: string; then: Node[]; otherwise: Node[] };

interface Pipeline { declare?: string[]; commands: Operand[][] }

type Operand =
  | { kind: 'field'; base: 'dot' | string; path: string[] }
  | { kind: 'literal'; value: TemplateValue }
  | { kind: 'ident'; name: string }
  | { kind: 'pipe'; pipe: Pipeline };

class Missing {}
const UNDEFINED = new Missing();
type TemplateValue = Value | Missing;

// ---------------------------------------------------------------------------------------------
// Lexing into text / action chunks

interface Chunk { text?: string; action?: string }

function chunks(source: string): Chunk[] {
  const out: Chunk[] = [];
  let i = 0;
  let trimNext = false;
  while (i < source.length) {
    const open = source.indexOf('{{', i);
    let text = open < 0 ? source.slice(i) : source.slice(i, open);
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, '');
    trimNext = false;
    if (open < 0) {
      out.push({ text });
      break;
    }
    let start = open + 2;
    if (source.startsWith('- ', start) || source.startsWith('-\t', start) || source.startsWith('-\n', start)) {
      text = text.replace(/[ \t\r\n]+$/, '');
      start += 1;
    }
    out.push({ text });
    const close = findClose(source, start);
    if (close < 0) throw new TemplateError('unclosed action');
    let end = close;
    if (/[ \t\r\n]-$/.test(source.slice(start, close))) {
      end = close - 1;
      trimNext = true;
    }
    out.push({ action: source.slice(start, end).trim() });
    i = close + 2;
  }
  return out;
}

function findClose(source: string, from: number): number {
  let i = from;
  while (i < source.length) {
    const c = source[i];
    if (c === '"' || c === '`' || c === "'") {
      const quote = c;
      i++;
      while (i < source.length && source[i] !== quote) i += source[i] === '\\' && quote !== '`' ? 2 : 1;
      i++;
      continue;
    }
    if (source.startsWith('}}', i)) return i;
    i++;
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// Parsing actions

function tokenize(action: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < action.length) {
    const c = action[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"' || c === '`' || c === "'") {
      let j = i + 1;
      while (j < action.length && action[j] !== c) j += action[j] === '\\' && c !== '`' ? 2 : 1;
      tokens.push(action.slice(i, j + 1));
      i = j + 1;
      continue;
    }
    if (c === '(' || c === ')' || c === '|' || c === ',') {
      tokens.push(c);
      i++;
      continue;
    }
    if (action.startsWith(':=', i) || (c === '=' )) {
      const op = action.startsWith(':=', i) ? ':=' : '=';
      tokens.push(op);
      i += op.length;
      continue;
    }
    let j = i;
    while (j < action.length && !/[\s()|,]/.test(action[j] as string) && !action.startsWith(':=', j)) j++;
    tokens.push(action.slice(i, j));
    i = j;
  }
  return tokens;
}

function parsePipeline(tokens: string[]): Pipeline {
  let pos = 0;
  const pipeline: Pipeline = { commands: [] };
  // Declarations: $x := ..., $i, $v := ...
  const assign = tokens.findIndex((t) => t === ':=' || t === '=');
  if (assign > 0 && tokens.slice(0, assign).every((t) => t.startsWith('$') || t === ',')) {
    pipeline.declare = tokens.slice(0, assign).filter((t) => t !== ',');
    pos = assign + 1;
  }
  const parseCommand = (): Operand[] => {
    const operands: Operand[] = [];
    while (pos < tokens.length && tokens[pos] !== '|' && tokens[pos] !== ')') {
      const token = tokens[pos++] as string;
      if (token === '(') {
        const inner: string[] = [];
        let depth = 1;
        while (pos < tokens.length) {
          const t = tokens[pos++] as string;
          if (t === '(') depth++;
          if (t === ')' && --depth === 0) break;
          inner.push(t);
        }
        operands.push({ kind: 'pipe', pipe: parsePipeline(inner) });
      } else {
        operands.push(parseOperand(token));
      }
    }
    return operands;
  };
  while (pos < tokens.length) {
    pipeline.commands.push(parseCommand());
    if (tokens[pos] === '|') pos++;
    else if (pos < tokens.length) throw new TemplateError(`unexpected ${tokens[pos]}`);
  }
  if (pipeline.commands.length === 0 || pipeline.commands.some((c) => c.length === 0)) throw new TemplateError('missing value for command');
  return pipeline;
}

function parseOperand(token: string): Operand {
  if (token === '.') return { kind: 'field', base: 'dot', path: [] };
  if (token.startsWith('.')) return { kind: 'field', base: 'dot', path: token.slice(1).split('.') };
  if (token.startsWith('$')) {
    const [name = '$', ...path] = token.split('.');
    return { kind: 'field', base: name, path };
  }
  if (token === 'true' || token === 'false') return { kind: 'literal', value: token === 'true' };
  if (token === 'nil') return { kind: 'literal', value: null };
  if (token.startsWith('"')) return { kind: 'literal', value: JSON.parse(token) as string };
  if (token.startsWith('`')) return { kind: 'literal', value: token.slice(1, -1) };
  if (/^[+-]?[0-9]/.test(token)) {
    const n = Number(token);
    if (!Number.isFinite(n)) throw new TemplateError(`bad number syntax: ${token}`);
    return { kind: 'literal', value: n };
  }
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(token)) return { kind: 'ident', name: token };
  throw new TemplateError(`unexpected "${token}" in command`);
}

function parse(source: string): Node[] {
  const list = chunks(source);
  let pos = 0;
  const parseList = (terminators: string[]): { nodes: Node[]; end: string } => {
    const nodes: Node[] = [];
    while (pos < list.length) {
      const chunk = list[pos++] as Chunk;
      if (chunk.text !== undefined) {
        if (chunk.text !== '') nodes.push({ kind: 'text', text: chunk.text });
        continue;
      }
      const action = chunk.action ?? '';
      if (action.startsWith('/*')) continue;
      const keyword = /^(if|else|end|range|with)\b/.exec(action)?.[1];
      if (keyword === 'end' || keyword === 'else') {
        if (!terminators.includes(keyword)) throw new TemplateError(`unexpected {{${keyword}}}`);
        return { nodes, end: action };
      }
      if (keyword === 'if' || keyword === 'with' || keyword === 'range') {
        nodes.push(parseControl(keyword, action.slice(keyword.length).trim()));
        continue;
      }
      nodes.push({ kind: 'action', pipe: parsePipeline(tokenize(action)) });
    }
    if (terminators.length > 0) throw new TemplateError('unexpected EOF');
    return { nodes, end: '' };
  };
  const parseControl = (keyword: 'if' | 'with' | 'range', rest: string): Node => {
    const pipe = parsePipeline(tokenize(rest));
    const body = parseList(['end', 'else']);
    let otherwise: Node[] = [];
    if (body.end.startsWith('else')) {
      const elseRest = body.end.slice(4).trim();
      if (elseRest.startsWith('if ') && keyword === 'if') {
        otherwise = [parseControl('if', elseRest.slice(3).trim())];
      } else {
        otherwise = parseList(['end']).nodes;
      }
    }
    if (keyword === 'range') {
      const node: Node = { kind: 'range', pipe, then: body.nodes, otherwise };
      const declared = pipe.declare ?? [];
      if (declared.length === 1) node.valueVar = declared[0] as string;
      if (declared.length === 2) {
        node.keyVar = declared[0] as string;
        node.valueVar = declared[1] as string;
      }
      delete pipe.declare;
      return node;
    }
    return { kind: keyword, pipe, then: body.nodes, otherwise };
  };
  return parseList([]).nodes;
}

// ---------------------------------------------------------------------------------------------
// Execution

function truth(v: TemplateValue): boolean {
  if (v instanceof Missing || v === null || v === false) return false;
  if (isNumber(v)) return !equals(v, 0);
  if (typeof v === 'string') return v !== '';
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof ObjectValue || v instanceof SetValue) return v.size > 0;
  return true;
}

/** Go's fmt %v rendering of the JSON-ish values templates see. */
function printValue(v: TemplateValue): string {
  if (v instanceof Missing) return '<undefined>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (isNumber(v)) return numberToString(v);
  if (Array.isArray(v)) return `[${v.map(printValue).join(' ')}]`;
  if (v instanceof SetValue) return `[${v.values().map(printValue).join(' ')}]`;
  return `map[${v.entries().map(([k, val]) => `${printValue(k)}:${printValue(val)}`).join(' ')}]`;
}

function toGoArg(v: TemplateValue): GoArg {
  if (typeof v === 'string') return { kind: 'string', value: v };
  if (!(v instanceof Missing) && isNumber(v)) {
    const i = toBigInt(v);
    if (i !== undefined) return { kind: 'int', value: i, big: false };
    if (!(v instanceof BigDecimal)) return { kind: 'float', value: v as number };
  }
  return { kind: 'string', value: printValue(v) };
}

interface Scope { dot: TemplateValue; vars: Map<string, TemplateValue> }

function execute(nodes: readonly Node[], scope: Scope, out: string[], ctx: BuiltinContext): void {
  for (const node of nodes) {
    ctx.charge(1);
    switch (node.kind) {
      case 'text': out.push(node.text); break;
      case 'action': {
        const value = evalPipeline(node.pipe, scope, ctx);
        if (node.pipe.declare === undefined) out.push(printValue(value));
        break;
      }
      case 'if': case 'with': {
        const value = evalPipeline(node.pipe, scope, ctx);
        const inner: Scope = { dot: node.kind === 'with' ? value : scope.dot, vars: new Map(scope.vars) };
        execute(truth(value) ? node.then : node.otherwise, truth(value) ? inner : scope, out, ctx);
        break;
      }
      case 'range': {
        const value = evalPipeline(node.pipe, scope, ctx);
        const pairs: Array<[Value, Value]> = [];
        if (Array.isArray(value)) value.forEach((v, i) => pairs.push([i, v]));
        else if (value instanceof SetValue) value.values().forEach((v, i) => pairs.push([i, v]));
        else if (value instanceof ObjectValue) for (const [k, v] of value.entries()) pairs.push([k, v]);
        else if (!(value instanceof Missing) && isNumber(value)) {
          const n = Math.min(Number(toBigInt(value) ?? 0n), 1_000_000);
          for (let i = 0; i < n; i++) pairs.push([i, i]);
        } else if (!(value instanceof Missing) && value !== null) throw new TemplateError(`range can't iterate over ${printValue(value)}`);
        if (pairs.length === 0) {
          execute(node.otherwise, scope, out, ctx);
          break;
        }
        for (const [k, v] of pairs) {
          const vars = new Map(scope.vars);
          if (node.keyVar !== undefined) vars.set(node.keyVar, k);
          if (node.valueVar !== undefined) vars.set(node.valueVar, v);
          execute(node.then, { dot: v, vars }, out, ctx);
        }
        break;
      }
    }
  }
}

function fieldOf(v: TemplateValue, key: string): TemplateValue {
  if (v instanceof ObjectValue) return v.get(key) ?? UNDEFINED;
  if (v instanceof Missing) return UNDEFINED;
  throw new TemplateError(`can't evaluate field ${key} in type ${printValue(v)}`);
}

function evalOperand(op: Operand, scope: Scope, ctx: BuiltinContext, finalArg: TemplateValue | undefined): TemplateValue {
  switch (op.kind) {
    case 'literal': return op.value;
    case 'pipe': return evalPipeline(op.pipe, scope, ctx);
    case 'field': {
      let v: TemplateValue;
      if (op.base === 'dot') v = scope.dot;
      else {
        const bound = scope.vars.get(op.base);
        if (bound === undefined) throw new TemplateError(`undefined variable: ${op.base}`);
        v = bound;
      }
      for (const key of op.path) v = fieldOf(v, key);
      return v;
    }
    case 'ident': return callFunction(op.name, [], finalArg);
  }
}

function compareValues(a: TemplateValue, b: TemplateValue): number {
  if (a instanceof Missing || b instanceof Missing) throw new TemplateError('incompatible types for comparison');
  return compare(a as Value, b as Value);
}

function callFunction(name: string, args: TemplateValue[], finalArg: TemplateValue | undefined): TemplateValue {
  const all = finalArg === undefined ? args : [...args, finalArg];
  switch (name) {
    case 'len': {
      const v = all[0];
      if (typeof v === 'string') return Buffer.byteLength(v);
      if (Array.isArray(v)) return v.length;
      if (v instanceof ObjectValue || v instanceof SetValue) return v.size;
      throw new TemplateError('len of invalid value');
    }
    case 'index': {
      let v = all[0] ?? UNDEFINED;
      for (const key of all.slice(1)) {
        if (Array.isArray(v) && !(key instanceof Missing) && isNumber(key)) v = v[Number(toBigInt(key) ?? -1)] ?? UNDEFINED;
        else if (v instanceof ObjectValue && !(key instanceof Missing)) v = v.get(key) ?? UNDEFINED;
        else throw new TemplateError("can't index item");
      }
      return v;
    }
    case 'print': return all.map(printValue).join('');
    case 'println': return `${all.map(printValue).join(' ')}\n`;
    case 'printf': {
      const [format, ...rest] = all;
      if (typeof format !== 'string') throw new TemplateError('printf format must be a string');
      return goSprintf(format, rest.map(toGoArg));
    }
    case 'eq': {
      const [a, ...others] = all;
      return others.some((b) => !(a instanceof Missing) && a !== undefined && !(b instanceof Missing) && equals(a, b));
    }
    case 'ne': {
      const [a, b] = all;
      return !(a !== undefined && b !== undefined && !(a instanceof Missing) && !(b instanceof Missing) && equals(a, b));
    }
    case 'lt': return compareValues(all[0] ?? UNDEFINED, all[1] ?? UNDEFINED) < 0;
    case 'le': return compareValues(all[0] ?? UNDEFINED, all[1] ?? UNDEFINED) <= 0;
    case 'gt': return compareValues(all[0] ?? UNDEFINED, all[1] ?? UNDEFINED) > 0;
    case 'ge': return compareValues(all[0] ?? UNDEFINED, all[1] ?? UNDEFINED) >= 0;
    case 'and': return all.find((v) => !truth(v)) ?? all[all.length - 1] ?? UNDEFINED;
    case 'or': return all.find((v) => truth(v)) ?? all[all.length - 1] ?? UNDEFINED;
    case 'not': return !truth(all[0] ?? UNDEFINED);
    default: throw new TemplateError(`function "${name}" not defined`);
  }
}

function evalPipeline(pipe: Pipeline, scope: Scope, ctx: BuiltinContext): TemplateValue {
  let previous: TemplateValue | undefined;
  for (const command of pipe.commands) {
    const [head, ...rest] = command;
    if (head === undefined) throw new TemplateError('empty command');
    if (head.kind === 'ident') {
      previous = callFunction(head.name, rest.map((op) => evalOperand(op, scope, ctx, undefined)), previous);
    } else {
      if (rest.length > 0 || previous !== undefined) throw new TemplateError("can't give argument to non-function");
      previous = evalOperand(head, scope, ctx, undefined);
    }
  }
  const value = previous ?? UNDEFINED;
  if (pipe.declare !== undefined) for (const name of pipe.declare) scope.vars.set(name, value);
  return value;
}

/** Renders a Go text/template with the given variables; template errors become eval_builtin_error. */
export function renderTemplate(fn: string, source: string, data: ObjectValue, ctx: BuiltinContext): string {
  try {
    const nodes = parse(source);
    const out: string[] = [];
    execute(nodes, { dot: data, vars: new Map<string, TemplateValue>([['$', data]]) }, out, ctx);
    return out.join('');
  } catch (error) {
    if (error instanceof TemplateError || error instanceof SyntaxError || error instanceof RangeError) {
      throw builtinError(fn, `template: ${error.message}`);
    }
    throw error;
  }
}
