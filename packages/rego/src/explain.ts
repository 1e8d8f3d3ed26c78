/**
 * "Why did this rule (not) hold?" — a bounded explanation of one complete rule (normally
 * `data.policy.allow`) for one input.
 *
 * For every definition (body) of the rule, the body's literals are evaluated as growing prefixes
 * of the compiled body (the order the evaluator runs them in): the first literal after the
 * longest prefix that still has a solution is the one that failed. Its operands are evaluated
 * under the bindings of that prefix's first solution and reported as the compared values; when
 * the failing literal is itself a reference to another rule of the program, that rule is
 * explained in turn (to a bounded depth). Everything runs on one evaluator, so the whole
 * explanation shares one step and time budget, and every reported value is bounded in size.
 */
import type { Body, Literal, Term } from './ast.ts';
import type { CompiledProgram, CompiledRule, RuleNode } from './compiler.ts';
import type { Evaluator } from './evaluator.ts';
import { keyOf, toJson, type RegoJson, type Value } from './value.ts';

export interface ExplainLimits {
  /** Nested rule explanations below the top rule (default 3). */
  readonly maxDepth?: number;
  /** Bodies explained in total, across all depths (default 64). */
  readonly maxBodies?: number;
  /** Characters of one reported value's JSON (default 512); longer values are cut. */
  readonly maxValueChars?: number;
}

/** One operand of the failing expression, as evaluated. */
export interface ComparedValue {
  /** The operand as Rego text, e.g. `input.submods.cpu0["ear.status"]`. */
  readonly expression: string;
  /** Whether the operand had a value (an undefined reference makes the expression fail). */
  readonly defined: boolean;
  /** The value's JSON, cut to `maxValueChars` (then `truncated` is true). */
  readonly value?: RegoJson;
  readonly truncated?: boolean;
}

export interface FailedExpression {
  /** The failing literal as Rego text (`not` included). */
  readonly expression: string;
  /** `file:row:col` of the literal. */
  readonly location: string;
  /** The source line of the literal, trimmed (when the source is known). */
  readonly source?: string;
  readonly values: readonly ComparedValue[];
  /** Explanations of the rules the expression refers to, when it is a reference to a rule. */
  readonly because?: readonly RuleExplanation[];
}

export interface BodyExplanation {
  /** `file:row:col` of the rule definition. */
  readonly location: string;
  readonly held: boolean;
  /** Absent when the body held. */
  readonly failed?: FailedExpression;
}

export interface RuleExplanation {
  /** The rule reference, e.g. `data.policy.allow`. */
  readonly rule: string;
  /** The rule's value for this input (undefined: no body held and there is no default). */
  readonly value?: RegoJson;
  readonly defined: boolean;
  /** The default value, when the rule has one. */
  readonly defaultValue?: RegoJson;
  readonly bodies: readonly BodyExplanation[];
  /** Some bodies or nested rules were left out (limits). */
  readonly truncated?: boolean;
}

const DEFAULT_MAX_DEPTH = 3;
const DEFAULT_MAX_BODIES = 64;
const DEFAULT_MAX_VALUE_CHARS = 512;
const MAX_EXPRESSION_CHARS = 300;

const INFIX: Readonly<Record<string, string>> = {
  equal: '==',
  neq: '!=',
  lt: '<',
  lte: '<=',
  gt: '>',
  gte: '>=',
  eq: '=',
  assign: ':=',
  plus: '+',
  minus: '-',
  mul: '*',
  div: '/',
  rem: '%',
  and: '&',
  or: '|',
  'internal.member_2': 'in',
};

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Compiler-generated names (`x$3`) read as the user's (`x`). */
function userName(name: string): string {
  const dollar = name.indexOf('$');
  return dollar > 0 ? name.slice(0, dollar) : name;
}

function cut(text: string, max = MAX_EXPRESSION_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Rego text of a term, for messages (not a round-trippable printer). */
export function formatTerm(t: Term): string {
  switch (t.t) {
    case 'val':
      return JSON.stringify(toJson(t.v)) ?? 'undefined';
    case 'var':
      return userName(t.name);
    case 'ref': {
      let out = formatTerm(t.head);
      for (const p of t.path) {
        if (p.t === 'val' && typeof p.v === 'string' && IDENT.test(p.v)) out += `.${p.v}`;
        else out += `[${formatTerm(p)}]`;
      }
      return out;
    }
    case 'arr':
      return `[${t.items.map(formatTerm).join(', ')}]`;
    case 'set':
      return t.items.length === 0 ? 'set()' : `{${t.items.map(formatTerm).join(', ')}}`;
    case 'obj':
      return `{${t.entries.map(([k, v]) => `${formatTerm(k)}: ${formatTerm(v)}`).join(', ')}}`;
    case 'acomp':
      return `[${formatTerm(t.term)} | …]`;
    case 'scomp':
      return `{${formatTerm(t.term)} | …}`;
    case 'ocomp':
      return `{${formatTerm(t.key)}: ${formatTerm(t.value)} | …}`;
    case 'call': {
      const name = t.fn.t === 'var' ? t.fn.name : formatTerm(t.fn);
      const infix = INFIX[name];
      if (infix !== undefined && t.args.length === 2) return `${formatTerm(t.args[0] as Term)} ${infix} ${formatTerm(t.args[1] as Term)}`;
      return `${name}(${t.args.map(formatTerm).join(', ')})`;
    }
    case 'tmpl':
      return '$"…"';
  }
}

function formatLiteral(lit: Literal): string {
  const prefix = lit.negated ? 'not ' : '';
  switch (lit.kind) {
    case 'expr':
      return prefix + formatTerm(lit.term);
    case 'some':
      return `some ${lit.vars.map(formatTerm).join(', ')}`;
    case 'somein':
      return `some ${lit.key === undefined ? '' : `${formatTerm(lit.key)}, `}${formatTerm(lit.value)} in ${formatTerm(lit.domain)}`;
    case 'every':
      return `every ${lit.key === undefined ? '' : `${formatTerm(lit.key)}, `}${formatTerm(lit.value)} in ${formatTerm(lit.domain)} { … }`;
    case 'notbody':
      return `not { ${lit.body.map(formatLiteral).join('; ')} }`;
  }
}

function location(loc: { row: number; col: number; file: string }): string {
  return `${loc.file}:${loc.row}:${loc.col}`;
}

export interface ExplainHost {
  readonly program: CompiledProgram;
  /** Source text by module file name (for the `source` lines). */
  readonly sources: ReadonlyMap<string, string>;
  /** A fresh evaluator for this explanation (its budget bounds the whole explanation). */
  readonly evaluator: Evaluator;
  /** Runs `f` under the evaluator's work meter (resource exhaustion → RegoError). */
  readonly guard: <T>(f: () => T) => T;
}

type Env = Map<string, Value>;

class Explainer {
  #bodiesLeft: number;
  readonly #maxDepth: number;
  readonly #maxValueChars: number;
  readonly #lines = new Map<string, string[]>();

  constructor(
    private readonly host: ExplainHost,
    limits: ExplainLimits,
  ) {
    this.#bodiesLeft = limits.maxBodies ?? DEFAULT_MAX_BODIES;
    this.#maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.#maxValueChars = limits.maxValueChars ?? DEFAULT_MAX_VALUE_CHARS;
  }

  node(path: readonly string[]): RuleNode | undefined {
    let node: RuleNode | undefined = this.host.program.root;
    for (const segment of path) {
      node = node.children.get(keyOf(segment));
      if (node === undefined) return undefined;
    }
    return node;
  }

  explainNode(node: RuleNode, depth: number): RuleExplanation {
    const rule = ['data', ...node.path.map((p) => (typeof p === 'string' ? p : JSON.stringify(toJson(p))))].join('.');
    const value = this.ruleValue(node);
    const bodies: BodyExplanation[] = [];
    let truncated = false;
    for (const cr of node.complete) {
      if (this.#bodiesLeft <= 0) {
        truncated = true;
        break;
      }
      this.#bodiesLeft -= 1;
      bodies.push(this.explainBody(cr, depth));
    }
    const defaultRule = node.defaultRule;
    const defaultValue = defaultRule !== undefined && defaultRule.rule.value.t === 'val' ? this.bounded(defaultRule.rule.value.v) : undefined;
    return {
      rule,
      defined: value !== undefined,
      ...(value === undefined ? {} : { value: this.bounded(value).value }),
      ...(defaultValue === undefined ? {} : { defaultValue: defaultValue.value }),
      bodies,
      ...(truncated ? { truncated: true } : {}),
    };
  }

  private ruleValue(node: RuleNode): Value | undefined {
    const ref: Term = {
      t: 'ref',
      head: { t: 'var', name: 'data', loc: { row: 0, col: 0, file: '' } },
      path: node.path.map((v) => ({ t: 'val' as const, v, loc: { row: 0, col: 0, file: '' } })),
      loc: { row: 0, col: 0, file: '' },
    };
    let result: Value | undefined;
    this.host.guard(() =>
      this.host.evaluator.evalTerm(ref, new Map(), (v) => {
        result = v;
        return true;
      }),
    );
    return result;
  }

  /** Whether `body[0..n)` has a solution; on success the first solution's bindings are copied out. */
  private solve(body: Body, n: number): Env | undefined {
    const env: Env = new Map();
    let found: Env | undefined;
    const prefix = body.slice(0, n);
    this.host.guard(() =>
      this.host.evaluator.evalBody(prefix, 0, env, () => {
        found = new Map(env);
        return true;
      }),
    );
    return found;
  }

  private explainBody(cr: CompiledRule, depth: number): BodyExplanation {
    const body = cr.rule.body;
    const loc = location(cr.rule.loc);
    if (this.solve(body, body.length) !== undefined) return { location: loc, held: true };
    // Longest prefix with a solution: the literal right after it failed.
    let env: Env = new Map();
    let failing = 0;
    for (let n = 1; n <= body.length; n++) {
      const solution = this.solve(body, n);
      if (solution === undefined) {
        failing = n - 1;
        break;
      }
      env = solution;
    }
    const lit = body[failing] as Literal;
    return { location: loc, held: false, failed: this.explainLiteral(lit, env, depth) };
  }

  private explainLiteral(lit: Literal, env: Env, depth: number): FailedExpression {
    const values: ComparedValue[] = [];
    const because: RuleExplanation[] = [];
    if (lit.kind === 'expr') {
      const t = lit.term;
      const operands = t.t === 'call' ? t.args : [t];
      for (const operand of operands) {
        if (operand.t === 'val') continue;
        values.push(this.compared(operand, env));
        if (values.length >= 8) break;
      }
      if (depth < this.#maxDepth) {
        for (const operand of operands) {
          const node = this.ruleNodeOf(operand);
          if (node !== undefined && node.complete.length > 0) because.push(this.explainNode(node, depth + 1));
        }
      }
    } else if (lit.kind === 'somein' || lit.kind === 'every') {
      values.push(this.compared(lit.domain, env));
    }
    const source = this.sourceLine(lit.loc);
    return {
      expression: cut(formatLiteral(lit)),
      location: location(lit.loc),
      ...(source === undefined ? {} : { source }),
      values,
      ...(because.length > 0 ? { because } : {}),
    };
  }

  /** The rule node a `data.…` reference names exactly (a local rule is compiled to one). */
  private ruleNodeOf(t: Term): RuleNode | undefined {
    if (t.t !== 'ref' || t.head.t !== 'var' || t.head.name !== 'data') return undefined;
    const path: string[] = [];
    for (const p of t.path) {
      if (p.t !== 'val' || typeof p.v !== 'string') return undefined;
      path.push(p.v);
    }
    return this.node(path);
  }

  private compared(t: Term, env: Env): ComparedValue {
    let value: Value | undefined;
    try {
      this.host.guard(() =>
        this.host.evaluator.evalTerm(t, env, (v) => {
          value = v;
          return true;
        }),
      );
    } catch {
      value = undefined;
    }
    const expression = cut(formatTerm(t));
    if (value === undefined) return { expression, defined: false };
    return { expression, defined: true, ...this.bounded(value) };
  }

  bounded(v: Value): { value: RegoJson; truncated?: true } {
    const json = toJson(v);
    const text = JSON.stringify(json);
    if (text.length <= this.#maxValueChars) return { value: json };
    return { value: `${text.slice(0, this.#maxValueChars)}…`, truncated: true };
  }

  private sourceLine(loc: { row: number; file: string }): string | undefined {
    let lines = this.#lines.get(loc.file);
    if (lines === undefined) {
      const source = this.host.sources.get(loc.file);
      if (source === undefined) return undefined;
      lines = source.split('\n');
      this.#lines.set(loc.file, lines);
    }
    const line = lines[loc.row - 1];
    return line === undefined ? undefined : cut(line.trim());
  }
}

/**
 * Explains the complete rule at `path` (below `data`, e.g. `['policy', 'allow']`); undefined when
 * the program has no such rule.
 */
export function explainRulePath(host: ExplainHost, path: readonly string[], limits: ExplainLimits = {}): RuleExplanation | undefined {
  const explainer = new Explainer(host, limits);
  const node = explainer.node(path);
  if (node === undefined || !node.hasRules()) return undefined;
  return explainer.explainNode(node, 0);
}
