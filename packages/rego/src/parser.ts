/**
 * Recursive-descent parser for Rego v1 (and v0 when asked), following OPA's grammar and
 * operator precedence: `in` < relations (== != < <= > >=) < `|` < `&` < (+ -) < (* / %).
 */
import type { Body, Import, Literal, Loc, Module, Rule, RuleElse, Term, VarTerm, With } from './ast.ts';
import { RegoError } from './errors.ts';
import { parse as parseYaml } from 'yaml';
import { tokenize, readQuoted, type Comment, type Token } from './lexer.ts';
import { ObjectValue, SetValue, fromJson, parseNumber, type Value } from './value.ts';

const KEYWORDS_V1 = new Set(['if', 'contains', 'in', 'every', 'some', 'not', 'with', 'as', 'default', 'else', 'import', 'package', 'true', 'false', 'null']);
const FUTURE_KEYWORDS = ['if', 'contains', 'in', 'every'];
const MAX_DEPTH = 200;
let templateWithCount = 0;

export interface ParseOptions {
  readonly v1: boolean;
}

const RELATION_OPS: Record<string, string> = { '==': 'equal', '!=': 'neq', '<': 'lt', '<=': 'lte', '>': 'gt', '>=': 'gte' };
const ARITH_OPS: Record<string, string> = { '+': 'plus', '-': 'minus' };
const FACTOR_OPS: Record<string, string> = { '*': 'mul', '/': 'div', '%': 'rem' };

export class Parser {
  private readonly toks: Token[];
  private pos = 0;
  private depth = 0;
  /** Future keywords enabled (all of them in v1). */
  private readonly kw = new Set<string>();
  private v1: boolean;
  private regoImport = false;
  private readonly comments: Comment[] = [];
  private commentRows: Map<number, string> | undefined;
  private futureImport = false;

  constructor(
    private readonly src: string,
    private readonly file: string,
    options: ParseOptions,
  ) {
    this.toks = tokenize(src, file, this.comments);
    this.v1 = options.v1;
    if (this.v1) for (const k of FUTURE_KEYWORDS) this.kw.add(k);
  }

  // ------------------------------------------------------------------------------------------
  // token helpers

  get tok(): Token {
    return this.toks[this.pos] as Token;
  }
  private peek(k = 1): Token {
    return this.toks[Math.min(this.pos + k, this.toks.length - 1)] as Token;
  }
  next(): Token {
    const t = this.tok;
    if (this.pos < this.toks.length - 1) this.pos++;
    return t;
  }
  loc(t: Token = this.tok): Loc {
    return { row: t.row, col: t.col, file: this.file };
  }
  private isOp(v: string, t: Token = this.tok): boolean {
    return t.kind === 'op' && t.value === v;
  }
  isIdent(v: string, t: Token = this.tok): boolean {
    return t.kind === 'ident' && t.value === v;
  }
  private isKw(v: string, t: Token = this.tok): boolean {
    return t.kind === 'ident' && t.value === v && (this.kw.has(v) || !FUTURE_KEYWORDS.includes(v));
  }
  fail(msg: string, t: Token = this.tok): never {
    throw new RegoError('rego_parse_error', msg, this.loc(t));
  }
  unexpected(expected?: string, t: Token = this.tok): never {
    const what = t.kind === 'eof' ? 'eof token' : t.kind === 'ident' ? `ident token` : t.kind === 'op' ? `${t.value} token` : `${t.kind} token`;
    const near = t.kind === 'eof' ? '' : ` near ${JSON.stringify(t.text.slice(0, 40))}`;
    this.fail(`unexpected ${what}${expected ? `: expected ${expected}` : ''}${near}`, t);
  }
  private expectOp(v: string): Token {
    if (!this.isOp(v)) this.unexpected(v);
    return this.next();
  }
  private enter(): void {
    if (++this.depth > MAX_DEPTH) this.fail('nesting too deep');
  }
  private leave(): void {
    this.depth--;
  }
  /** The token starts a new statement when it is on a new line (or after ;). */
  private endOfLiteral(): boolean {
    const t = this.tok;
    return t.kind === 'eof' || this.isOp(';') || this.isOp('}') || t.nl;
  }

  // ------------------------------------------------------------------------------------------
  // module

  parseModule(): Module {
    while (this.isOp(';')) this.next();
    if (!this.isIdent('package')) this.unexpected('package');
    const pkgAnnotations = this.annotationsAbove(this.tok.row, 'package');
    this.next();
    const pkgRef = this.parseRefOnly('package');
    const pkg = this.refToPath(pkgRef, 'package');
    if (pkg[0] === 'data' && pkgRef.t === 'ref') pkg.shift();
    const imports: Import[] = [];
    const rules: Rule[] = [];
    while (this.tok.kind !== 'eof') {
      if (this.isOp(';')) {
        this.next();
        continue;
      }
      if (this.isIdent('import') && !this.adjacentRefFollows()) {
        imports.push(this.parseImport());
        continue;
      }
      if (this.isIdent('package') && !this.adjacentRefFollows()) this.fail('unexpected package keyword: modules must contain exactly one package');
      this.parseRuleInto(rules);
    }
    return { file: this.file, pkg, imports, rules, v1: this.v1, ...(pkgAnnotations !== undefined ? { annotations: pkgAnnotations } : {}) };
  }

  /**
   * The `# METADATA` block ending on the line just above `row` (OPA annotations): YAML in the
   * comment lines after the marker, normalised like OPA (authors as {name, email}, a `scope`).
   */
  private annotationsAbove(row: number, defaultScope: 'package' | 'rule'): Value | undefined {
    if (this.commentRows === undefined) {
      this.commentRows = new Map();
      for (const c of this.comments) this.commentRows.set(c.row, c.text);
    }
    const byRow = this.commentRows;
    let r = row - 1;
    const lines: string[] = [];
    while (byRow.has(r)) {
      const text = byRow.get(r) as string;
      if (text.trim() === 'METADATA') break;
      lines.unshift(text.startsWith(' ') ? text.slice(1) : text);
      r--;
    }
    if (!byRow.has(r)) return undefined;
    let doc: unknown;
    try {
      doc = lines.length === 0 ? {} : parseYaml(lines.join('\n'));
    } catch (e) {
      throw new RegoError('rego_parse_error', `invalid METADATA block: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, { row: r, col: 1, file: this.file });
    }
    if (doc === null || doc === undefined) doc = {};
    if (typeof doc !== 'object' || Array.isArray(doc)) throw new RegoError('rego_parse_error', 'invalid METADATA block: expected a YAML mapping', { row: r, col: 1, file: this.file });
    const rec: Record<string, unknown> = { ...(doc as Record<string, unknown>) };
    if (rec['scope'] === undefined) rec['scope'] = defaultScope;
    if (Array.isArray(rec['authors'])) {
      rec['authors'] = (rec['authors'] as unknown[]).map((a) => {
        if (typeof a !== 'string') return a;
        const m = /^(.*?)\s*<([^>]+)>\s*$/.exec(a);
        return m ? { name: m[1], email: m[2] } : { name: a };
      });
    }
    try {
      return fromJson(rec);
    } catch {
      throw new RegoError('rego_parse_error', 'invalid METADATA block', { row: r, col: 1, file: this.file });
    }
  }

  private adjacentRefFollows(): boolean {
    const n = this.peek();
    return (this.isOp('.', n) || this.isOp('[', n)) && !n.ws;
  }

  private refToPath(t: Term, what: string): Value[] {
    if (t.t === 'var') return [t.name];
    if (t.t !== 'ref' || t.head.t !== 'var') this.fail(`invalid ${what} path`);
    const out: Value[] = [t.head.name];
    for (const p of t.path) {
      if (p.t !== 'val' || typeof p.v !== 'string') this.fail(`invalid ${what} path`);
      out.push(p.v);
    }
    return out;
  }

  private parseImport(): Import {
    const loc = this.loc();
    this.next();
    const path = this.parseRefOnly('import');
    const segs = this.refToPath(path, 'import');
    const root = segs[0];
    if (root !== 'data' && root !== 'input' && root !== 'future' && root !== 'rego') this.fail('unexpected import path, must begin with one of: {data, future, input, rego}');
    let alias: string | undefined;
    if (this.isIdent('as') && !this.tok.nl) {
      this.next();
      if (this.tok.kind !== 'ident') this.unexpected('var');
      alias = this.next().value;
    }
    if (root === 'future') {
      if (segs[1] !== 'keywords') this.fail('invalid import, must be `future.keywords`');
      if (this.regoImport) this.fail('the `rego.v1` import implies `future.keywords`, these are therefore mutually exclusive (this import shadows previous import)');
      this.futureImport = true;
      const which = segs[2];
      if (which === undefined) for (const k of FUTURE_KEYWORDS) this.kw.add(k);
      else if (typeof which === 'string' && (FUTURE_KEYWORDS.includes(which) || which === 'not')) this.kw.add(which);
      else this.fail(`unexpected keyword, must be one of [${FUTURE_KEYWORDS.join(' ')}]`);
    } else if (root === 'rego') {
      if (segs.length !== 2 || (segs[1] !== 'v1' && segs[1] !== 'v2')) this.fail('invalid import, must be `rego.v1`');
      if (this.regoImport) this.fail('this import shadows previous import of `rego.v1`', this.toks[this.pos - 1]);
      this.regoImport = true;
      if (this.futureImport) this.fail('the `rego.v1` import implies `future.keywords`, these are therefore mutually exclusive (this import shadows previous import)');
      for (const k of FUTURE_KEYWORDS) this.kw.add(k);
      if (segs[1] === 'v2') this.kw.add('not');
      this.v1 = true;
    }
    return { path, alias, loc };
  }

  /** A plain dotted/bracketed ref (package and import paths). */
  private parseRefOnly(what: string): Term {
    if (this.tok.kind !== 'ident') this.unexpected(`ident (${what} path)`);
    const first = this.next();
    const head: VarTerm = { t: 'var', name: first.value, loc: this.loc(first) };
    const path: Term[] = [];
    while (true) {
      if (this.isOp('.') && !this.tok.ws) {
        this.next();
        if (this.tok.kind !== 'ident') this.unexpected('ident');
        const id = this.next();
        path.push({ t: 'val', v: id.value, loc: this.loc(id) });
      } else if (this.isOp('[') && !this.tok.ws) {
        this.next();
        const s = this.tok;
        if (s.kind !== 'string' && s.kind !== 'rawstring') this.unexpected('string');
        this.next();
        path.push({ t: 'val', v: s.value, loc: this.loc(s) });
        this.expectOp(']');
      } else break;
    }
    return path.length === 0 ? head : { t: 'ref', head, path, loc: head.loc };
  }

  // ------------------------------------------------------------------------------------------
  // rules

  private parseRuleInto(rules: Rule[]): void {
    const start = this.tok;
    const loc = this.loc(start);
    const annotations = this.annotationsAbove(start.row, 'rule');
    const pushRule = (r: Rule): void => {
      rules.push(annotations !== undefined ? { ...r, annotations } : r);
    };
    let isDefault = false;
    if (this.isIdent('default') && !this.adjacentRefFollows() && this.peek().kind === 'ident') {
      this.next();
      isDefault = true;
    }
    if (this.tok.kind !== 'ident') this.unexpected('ident');
    // head reference
    const headTerm = this.parseHeadRef();
    let ref: Term[] = headTerm.t === 'var' ? [headTerm] : headTerm.t === 'ref' ? [headTerm.head, ...headTerm.path] : this.fail('invalid rule head');
    let args: Term[] | undefined;
    let key: Term | undefined;
    let value: Term | undefined;
    let kind: Rule['kind'] = 'complete';

    if (this.isOp('(') && !this.tok.ws) {
      this.next();
      args = [];
      if (!this.isOp(')')) {
        while (true) {
          args.push(this.parseTermIn(false));
          if (this.isOp(',')) {
            this.next();
            continue;
          }
          break;
        }
      }
      this.expectOp(')');
      kind = 'func';
    }
    if (isDefault) {
      if (this.isOp(':=') || this.isOp('=')) {
        this.next();
        value = this.parseTermIn(false);
      } else this.unexpected(':= or =');
      for (const r of ref.slice(1)) if (r.t !== 'val') this.fail('default rules must have ground refs', start);
      const illegal = illegalDefaultValue(value);
      if (illegal !== undefined) this.fail(`illegal default rule (value cannot contain ${illegal})`, start);
      pushRule({ kind, isDefault, ref, args, key: undefined, value, body: [], elses: [], loc, bodyless: true });
      return;
    }
    if (this.isKw('contains') && !this.tok.nl && !this.adjacentRefFollows()) {
      this.next();
      key = this.parseTermIn(false);
      kind = 'multi';
    } else if (this.isOp(':=') || this.isOp('=')) {
      this.next();
      value = this.parseTermIn(false);
    }
    // v0 partial set `p[x] { ... }` / `p[x]` with no value: last ref element becomes the key
    // (v0 without `if`: `p.q { ... }` is the legacy spelling of `p contains "q"`)
    if (kind === 'complete' && value === undefined && !this.v1 && !this.kw.has('if') && ref.length === 2) {
      key = ref[1];
      ref = [ref[0] as Term];
      kind = 'multi';
    } else if (kind === 'complete' && value === undefined && ref.length === 2 && !this.v1 && ref[1]?.t !== 'val' && !this.isKw('if')) {
      key = ref[1];
      ref = [ref[0] as Term];
      kind = 'multi';
    }
    const { body, bodyless } = this.parseRuleBody(true);
    const elses: RuleElse[] = [];
    while (this.isIdent('else') && !this.adjacentRefFollows()) {
      if (kind === 'multi') this.fail('else keyword cannot be used on multi-value rules');
      const eloc = this.loc();
      this.next();
      let ev: Term | undefined;
      if (this.isOp(':=') || this.isOp('=')) {
        this.next();
        ev = this.parseTermIn(false);
      }
      const eb = this.parseRuleBody(false);
      elses.push({ value: ev ?? { t: 'val', v: true, loc: eloc }, body: eb.body, loc: eloc });
    }
    if (kind === 'multi' && key === undefined) this.fail('invalid rule');
    if (this.v1 && kind === 'complete' && value === undefined && bodyless && elses.length === 0) {
      this.fail(ref.length === 2 ? 'rule must have a body or assignment (`contains` keyword is required for partial set rules)' : 'rule must have a body or assignment', start);
    }
    const v: Term = value ?? { t: 'val', v: true, loc };
    pushRule({ kind, isDefault: false, ref, args, key, value: v, body, elses, loc, bodyless });
    // v0: additional bodies `p { a } { b }` define more rules with the same head
    while (this.isOp('{') && !this.tok.nl && !this.v1) {
      const extra = this.parseBraceBody();
      rules.push({ kind, isDefault: false, ref, args, key, value: v, body: extra, elses: [], loc, bodyless: false });
    }
  }

  /** Head ref: `a`, `a.b.c`, `a[x]`, `a.b[x].c`, keywords allowed as names. */
  private parseHeadRef(): Term {
    const first = this.next();
    const head: VarTerm = { t: 'var', name: first.value, loc: this.loc(first) };
    const path: Term[] = [];
    while (true) {
      if (this.isOp('.') && !this.tok.ws) {
        this.next();
        if (this.tok.kind !== 'ident') this.unexpected('ident');
        const id = this.next();
        path.push({ t: 'val', v: id.value, loc: this.loc(id) });
      } else if (this.isOp('[') && !this.tok.ws) {
        this.next();
        path.push(this.parseTermIn(false));
        this.expectOp(']');
      } else break;
    }
    return path.length === 0 ? head : { t: 'ref', head, path, loc: head.loc };
  }

  /**
   * Parses `if { ... }`, `if literal`, `{ ... }` (v0) or nothing. For else-branches, `if` is optional
   * and so is the body.
   */
  private parseRuleBody(_main: boolean): { body: Body; bodyless: boolean } {
    if (this.isKw('if') && this.kw.has('if') && !this.adjacentRefFollows()) {
      this.next();
      if (this.isOp('{')) {
        const save = this.pos;
        try {
          return { body: this.parseBraceBodyOrObjectLiteralQuery(), bodyless: false };
        } catch (e) {
          // `if {x: 1 | ...}`: the body is a single comprehension/literal term
          if (!(e instanceof RegoError)) throw e;
          this.pos = save;
          try {
            return { body: [this.parseLiteral()], bodyless: false };
          } catch {
            throw e;
          }
        }
      }
      const lit = this.parseLiteral();
      return { body: [lit], bodyless: false };
    }
    if (this.isOp('{') && !this.tok.nl) {
      if (this.v1) this.fail('`if` keyword is required before rule body');
      return { body: this.parseBraceBody(), bodyless: false };
    }
    if (this.isOp('{') && this.tok.nl && !this.v1) {
      // v0 allows the body on the next line
      return { body: this.parseBraceBody(), bodyless: false };
    }
    return { body: [], bodyless: true };
  }

  /** After `if`, `{` opens a body (a query), even when it could read as a set/object literal. */
  private parseBraceBodyOrObjectLiteralQuery(): Body {
    return this.parseBraceBody();
  }

  private parseBraceBody(): Body {
    this.expectOp('{');
    const body = this.parseQuery('}');
    this.expectOp('}');
    if (body.length === 0) this.fail('found empty body');
    return body;
  }

  /** Literals separated by `;` or newlines, until the closing token (not consumed). */
  parseQuery(close: '}' | 'eof'): Body {
    const body: Body = [];
    this.enter();
    while (true) {
      while (this.isOp(';')) this.next();
      if (close === '}' ? this.isOp('}') : this.tok.kind === 'eof') break;
      body.push(this.parseLiteral());
      if (close === '}' ? this.isOp('}') : this.tok.kind === 'eof') break;
      if (this.isOp(';')) continue;
      if (!this.tok.nl) this.unexpected(close === '}' ? '} or newline' : 'newline or ;');
    }
    this.leave();
    return body;
  }

  // ------------------------------------------------------------------------------------------
  // literals

  parseLiteral(): Literal {
    const loc = this.loc();
    let negated = false;
    if (this.isIdent('not') && !this.adjacentRefFollows()) {
      this.next();
      negated = true;
    }
    let lit: Literal;
    if (negated && this.kw.has('not') && this.isOp('{')) {
      const body = this.parseBraceBody();
      lit = { kind: 'notbody', body, with: [], loc, negated: false };
    } else if (this.isKw('some') && !this.adjacentRefFollows() && (this.peek().kind !== 'op' || ['[', '{', '(', '-'].includes(this.peek().value))) {
      if (negated) this.fail('unexpected some keyword after not');
      lit = this.parseSome(loc);
    } else if (this.isKw('every') && this.kw.has('every') && !this.adjacentRefFollows()) {
      if (negated) this.fail('unexpected every keyword after not');
      lit = this.parseEvery(loc);
    } else {
      const term = this.parseExprTerm();
      lit = { kind: 'expr', negated, term, with: [], loc };
    }
    lit.negated = negated;
    while (this.isIdent('with') && !this.adjacentRefFollows()) {
      const wloc = this.loc();
      this.next();
      const target = this.parseTermIn(false);
      if (!this.isIdent('as')) this.unexpected('as');
      this.next();
      const value = this.parseTermIn(false);
      lit.with.push({ target, value, loc: wloc } satisfies With);
    }
    return lit;
  }

  private parseSome(loc: Loc): Literal {
    this.next();
    const first = this.parseTermIn(true);
    // `some x in xs` / `some k, v in xs` come back as internal.member calls
    if (first.t === 'call' && first.fn.t === 'var' && (first.fn.name === 'internal.member_2' || first.fn.name === 'internal.member_3')) {
      if (first.fn.name === 'internal.member_2') return { kind: 'somein', key: undefined, value: first.args[0] as Term, domain: first.args[1] as Term, with: [], loc, negated: false };
      return { kind: 'somein', key: first.args[0] as Term, value: first.args[1] as Term, domain: first.args[2] as Term, with: [], loc, negated: false };
    }
    const vars: VarTerm[] = [];
    let t: Term = first;
    while (true) {
      if (t.t !== 'var') this.fail('expected var or `x in xs` after some', this.tok);
      vars.push(t);
      if (this.isOp(',')) {
        this.next();
        t = this.parseTermIn(false);
        continue;
      }
      break;
    }
    return { kind: 'some', vars, with: [], loc, negated: false };
  }

  private parseEvery(loc: Loc): Literal {
    this.next();
    const dom = this.parseTermIn(true);
    if (dom.t !== 'call' || dom.fn.t !== 'var' || (dom.fn.name !== 'internal.member_2' && dom.fn.name !== 'internal.member_3')) this.fail('expected `x in xs` or `k, v in xs` after every');
    const body = this.parseBraceBody();
    if (dom.fn.name === 'internal.member_2') return { kind: 'every', key: undefined, value: dom.args[0] as Term, domain: dom.args[1] as Term, body, with: [], loc, negated: false };
    return { kind: 'every', key: dom.args[0] as Term, value: dom.args[1] as Term, domain: dom.args[2] as Term, body, with: [], loc, negated: false };
  }

  /** An expression: a term, possibly `lhs := rhs` or `lhs = rhs`. */
  private parseExprTerm(): Term {
    const lhs = this.parseTermIn(true);
    if (this.isOp(':=') || this.isOp('=')) {
      const op = this.next();
      const rhs = this.parseTermIn(true);
      return { t: 'call', fn: { t: 'var', name: op.value === ':=' ? 'assign' : 'eq', loc: this.loc(op) }, args: [lhs, rhs], loc: lhs.loc };
    }
    return lhs;
  }

  // ------------------------------------------------------------------------------------------
  // terms with operators

  /** `in` level. keyVal allows `k, v in xs`. */
  parseTermIn(keyVal: boolean, noOr = false): Term {
    this.enter();
    try {
      let lhs = this.parseRelation(noOr);
      if (keyVal && this.isOp(',') && this.kw.has('in')) {
        // look ahead for `k, v in`
        const save = this.pos;
        this.next();
        const mhs = this.tryParse(() => this.parseRelation(noOr));
        if (mhs !== undefined && this.isKw('in') && this.kw.has('in')) {
          const inTok = this.next();
          const rhs = this.parseRelation(noOr);
          lhs = { t: 'call', fn: { t: 'var', name: 'internal.member_3', loc: this.loc(inTok) }, args: [lhs, mhs, rhs], loc: lhs.loc };
        } else this.pos = save;
      }
      while (this.isIdent('in') && this.kw.has('in') && !this.tok.nl) {
        const inTok = this.next();
        const rhs = this.parseRelation(noOr);
        lhs = { t: 'call', fn: { t: 'var', name: 'internal.member_2', loc: this.loc(inTok) }, args: [lhs, rhs], loc: lhs.loc };
      }
      return lhs;
    } finally {
      this.leave();
    }
  }

  private tryParse<T>(f: () => T): T | undefined {
    const save = this.pos;
    try {
      return f();
    } catch (e) {
      if (e instanceof RegoError) {
        this.pos = save;
        return undefined;
      }
      throw e;
    }
  }

  private parseRelation(noOr: boolean): Term {
    let lhs = this.parseOr(noOr);
    while (this.tok.kind === 'op' && RELATION_OPS[this.tok.value] !== undefined) {
      const op = this.next();
      const rhs = this.parseOr(noOr);
      lhs = { t: 'call', fn: { t: 'var', name: RELATION_OPS[op.value] as string, loc: this.loc(op) }, args: [lhs, rhs], loc: lhs.loc };
    }
    return lhs;
  }

  private parseOr(noOr: boolean): Term {
    let lhs = this.parseAnd();
    while (!noOr && this.isOp('|')) {
      const op = this.next();
      const rhs = this.parseAnd();
      lhs = { t: 'call', fn: { t: 'var', name: 'or', loc: this.loc(op) }, args: [lhs, rhs], loc: lhs.loc };
    }
    return lhs;
  }

  private parseAnd(): Term {
    let lhs = this.parseArith();
    while (this.isOp('&')) {
      const op = this.next();
      const rhs = this.parseArith();
      lhs = { t: 'call', fn: { t: 'var', name: 'and', loc: this.loc(op) }, args: [lhs, rhs], loc: lhs.loc };
    }
    return lhs;
  }

  private parseArith(): Term {
    let lhs = this.parseFactor();
    while (this.tok.kind === 'op' && ARITH_OPS[this.tok.value] !== undefined) {
      const op = this.next();
      const rhs = this.parseFactor();
      lhs = { t: 'call', fn: { t: 'var', name: ARITH_OPS[op.value] as string, loc: this.loc(op) }, args: [lhs, rhs], loc: lhs.loc };
    }
    return lhs;
  }

  private parseFactor(): Term {
    let lhs = this.parseTerm();
    while (this.tok.kind === 'op' && FACTOR_OPS[this.tok.value] !== undefined) {
      const op = this.next();
      const rhs = this.parseTerm();
      lhs = { t: 'call', fn: { t: 'var', name: FACTOR_OPS[op.value] as string, loc: this.loc(op) }, args: [lhs, rhs], loc: lhs.loc };
    }
    return lhs;
  }

  // ------------------------------------------------------------------------------------------
  // primary terms

  parseTerm(): Term {
    this.enter();
    try {
      const t = this.tok;
      const loc = this.loc(t);
      let term: Term;
      switch (t.kind) {
        case 'number': {
          this.next();
          term = { t: 'val', v: this.number(t.text, t), loc };
          break;
        }
        case 'string':
        case 'rawstring':
          this.next();
          term = { t: 'val', v: t.value, loc };
          break;
        case 'template':
          this.next();
          term = this.parseTemplate(t);
          break;
        case 'ident': {
          if (t.value === 'true' || t.value === 'false' || t.value === 'null') {
            if (!this.adjacentRefFollows()) {
              this.next();
              term = { t: 'val', v: t.value === 'null' ? null : t.value === 'true', loc };
              break;
            }
          }
          if (t.value === 'set' && this.isOp('(', this.peek()) && !this.peek().ws && this.isOp(')', this.peek(2))) {
            this.next();
            this.next();
            this.next();
            term = { t: 'set', items: [], loc };
            break;
          }
          this.next();
          term = { t: 'var', name: t.value, loc };
          break;
        }
        case 'op':
          if (t.value === '[') {
            term = this.parseArray();
          } else if (t.value === '{') {
            term = this.parseBrace();
          } else if (t.value === '(') {
            this.next();
            term = this.parseTermIn(true);
            this.expectOp(')');
          } else if (t.value === '-') {
            const n = this.peek();
            this.next();
            if (n.kind === 'number' && !n.ws) {
              this.next();
              term = { t: 'val', v: this.number('-' + n.text, n), loc };
            } else {
              const operand = this.parseTerm();
              term = { t: 'call', fn: { t: 'var', name: 'minus', loc }, args: [{ t: 'val', v: 0, loc }, operand], loc };
            }
          } else this.unexpected();
          break;
        default:
          this.unexpected();
      }
      return this.parseRefRest(term);
    } finally {
      this.leave();
    }
  }

  private number(text: string, t: Token): Value {
    const v = parseNumber(text);
    if (v === undefined) this.fail('invalid number', t);
    return v;
  }

  /** Dots, brackets and calls directly following a term. */
  private parseRefRest(term: Term): Term {
    let head = term;
    let path: Term[] = [];
    const flush = (): Term => (path.length === 0 ? head : { t: 'ref', head, path, loc: head.loc });
    while (true) {
      if (this.isOp('.') && !this.tok.ws) {
        this.next();
        if (this.tok.kind !== 'ident' || this.tok.ws) this.unexpected('ident');
        const id = this.next();
        path.push({ t: 'val', v: id.value, loc: this.loc(id) });
      } else if (this.isOp('[') && !this.tok.ws) {
        this.next();
        path.push(this.parseTermIn(false));
        this.expectOp(']');
      } else if (this.isOp('(') && !this.tok.ws) {
        const fn = flush();
        if (fn.t !== 'var' && fn.t !== 'ref') this.unexpected();
        this.next();
        const args: Term[] = [];
        if (!this.isOp(')')) {
          while (true) {
            args.push(this.parseTermIn(false));
            if (this.isOp(',')) {
              this.next();
              if (this.isOp(')')) break;
              continue;
            }
            break;
          }
        }
        this.expectOp(')');
        head = { t: 'call', fn: this.callName(fn), args, loc: fn.loc };
        path = [];
      } else break;
    }
    return flush();
  }

  /** Calls on a plain dotted path get a var with the dotted name; other refs stay refs. */
  private callName(fn: Term): Term {
    if (fn.t === 'var') return fn;
    if (fn.t === 'ref' && fn.head.t === 'var') {
      const parts = [fn.head.name];
      for (const p of fn.path) {
        if (p.t !== 'val' || typeof p.v !== 'string') return fn;
        parts.push(p.v);
      }
      return { t: 'var', name: parts.join('.'), loc: fn.loc };
    }
    return fn;
  }

  private parseArray(): Term {
    const loc = this.loc();
    this.next();
    if (this.isOp(']')) {
      this.next();
      return { t: 'arr', items: [], loc };
    }
    const first = this.parseTermIn(false, true);
    if (this.isOp('|')) {
      const save = this.pos;
      this.next();
      const body = this.tryParse(() => {
        const b = this.parseQueryUntil(']');
        this.expectOp(']');
        return b;
      });
      if (body !== undefined) return { t: 'acomp', term: first, body, loc };
      // `[x | y, 5]`: an array whose first element is the set union `x | y`
      this.pos = save;
    }
    const items = [this.continueOr(first)];
    while (this.isOp(',')) {
      this.next();
      if (this.isOp(']')) break;
      items.push(this.parseTermIn(false));
    }
    this.expectOp(']');
    return { t: 'arr', items, loc };
  }

  /** Having parsed a term without `|`, continue it as an `or` chain (and upper levels). */
  private continueOr(first: Term): Term {
    let lhs = first;
    while (this.isOp('|')) {
      const op = this.next();
      const rhs = this.parseAnd();
      lhs = { t: 'call', fn: { t: 'var', name: 'or', loc: this.loc(op) }, args: [lhs, rhs], loc: lhs.loc };
    }
    while (this.tok.kind === 'op' && RELATION_OPS[this.tok.value] !== undefined) {
      const op = this.next();
      const rhs = this.parseOr(false);
      lhs = { t: 'call', fn: { t: 'var', name: RELATION_OPS[op.value] as string, loc: this.loc(op) }, args: [lhs, rhs], loc: lhs.loc };
    }
    while (this.isIdent('in') && this.kw.has('in')) {
      const inTok = this.next();
      const rhs = this.parseRelation(false);
      lhs = { t: 'call', fn: { t: 'var', name: 'internal.member_2', loc: this.loc(inTok) }, args: [lhs, rhs], loc: lhs.loc };
    }
    return lhs;
  }

  private parseQueryUntil(close: string): Body {
    const body: Body = [];
    this.enter();
    while (true) {
      while (this.isOp(';')) this.next();
      if (this.isOp(close)) break;
      body.push(this.parseLiteral());
      if (this.isOp(close)) break;
      if (this.isOp(';')) continue;
      if (!this.tok.nl) this.unexpected(`${close} or newline`);
    }
    this.leave();
    if (body.length === 0) this.fail('found empty body');
    return body;
  }

  private parseBrace(): Term {
    const loc = this.loc();
    this.next();
    if (this.isOp('}')) {
      this.next();
      return { t: 'obj', entries: [], loc };
    }
    const first = this.parseTermIn(false, true);
    if (this.isOp(':')) {
      this.next();
      const value = this.parseTermIn(false, true);
      if (this.isOp('|')) {
        this.next();
        const body = this.parseQueryUntil('}');
        this.expectOp('}');
        return { t: 'ocomp', key: first, value, body, loc };
      }
      const entries: Array<[Term, Term]> = [[first, this.continueOr(value)]];
      while (this.isOp(',')) {
        this.next();
        if (this.isOp('}')) break;
        const k = this.parseTermIn(false);
        this.expectOp(':');
        const v = this.parseTermIn(false);
        entries.push([k, v]);
      }
      this.expectOp('}');
      return { t: 'obj', entries, loc };
    }
    if (this.isOp('|')) {
      const save = this.pos;
      this.next();
      const body = this.tryParse(() => {
        const b = this.parseQueryUntil('}');
        this.expectOp('}');
        return b;
      });
      if (body !== undefined) return { t: 'scomp', term: first, body, loc };
      this.pos = save;
    }
    const items = [this.continueOr(first)];
    while (this.isOp(',')) {
      this.next();
      if (this.isOp('}')) break;
      items.push(this.parseTermIn(false));
    }
    this.expectOp('}');
    return { t: 'set', items, loc };
  }

  // ------------------------------------------------------------------------------------------
  // template strings $"...{expr}..."

  private parseTemplate(t: Token): Term {
    const body = t.value;
    const loc = this.loc(t);
    const parts: Array<string | Term> = [];
    let lit = '';
    let i = 0;
    const fail = (msg: string): never => this.fail(msg, t);
    while (i < body.length) {
      const c = body[i] as string;
      if (c === '\\' && body[i + 1] === '{') {
        lit += '{';
        i += 2;
        continue;
      }
      if (!t.raw && c === '\\') {
        // reuse JSON escape decoding for one escape
        const consumed = body[i + 1] === 'u' ? 6 : 2;
        lit += readQuoted(body.slice(i, i + consumed) + '"', 0, (m) => fail(m), false).text;
        i += consumed;
        continue;
      }
      if (c === '{') {
        // find matching close, aware of nested braces and strings
        let depth = 1;
        let j = i + 1;
        while (j < body.length && depth > 0) {
          const d = body[j];
          if (d === '"') {
            j = readQuoted(body, j + 1, (m) => fail(m), false).end;
            continue;
          }
          if (d === '`') {
            const close = body.indexOf('`', j + 1);
            if (close < 0) fail('non-terminated raw string');
            j = close + 1;
            continue;
          }
          if (d === '{') depth++;
          else if (d === '}') depth--;
          j++;
        }
        if (depth !== 0) fail('non-terminated template expression');
        const inner = body.slice(i + 1, j - 1);
        if (lit) parts.push(lit);
        lit = '';
        const sub = new Parser(inner, this.file, { v1: true });
        let term = sub.parseTermIn(false);
        if (sub.isIdent('with')) {
          // `{x with input as y}`: evaluate as `{v | v := x with input as y}` and take its one value
          const withs: With[] = [];
          while (sub.isIdent('with')) {
            const wloc = sub.loc();
            sub.next();
            const target = sub.parseTermIn(false);
            if (!sub.isIdent('as')) sub.unexpected('as');
            sub.next();
            withs.push({ target, value: sub.parseTermIn(false), loc: wloc });
          }
          const v: Term = { t: 'var', name: `tmpl$${++templateWithCount}`, loc };
          const body: Body = [{ kind: 'expr', negated: false, term: { t: 'call', fn: { t: 'var', name: 'assign', loc }, args: [v, term], loc }, with: withs, loc }];
          term = { t: 'call', fn: { t: 'var', name: 'internal.template_with', loc }, args: [{ t: 'scomp', term: v, body, loc }], loc };
        }
        if (sub.tok.kind !== 'eof') sub.unexpected();
        parts.push(term);
        i = j;
        continue;
      }
      lit += c;
      i++;
    }
    if (lit || parts.length === 0) parts.push(lit);
    return { t: 'tmpl', parts, loc };
  }

  /** Parses a whole query (for evaluateQuery). */
  parseWholeQuery(): Body {
    const body = this.parseQuery('eof');
    if (this.tok.kind !== 'eof') this.unexpected();
    return body;
  }

  /** Parses a single term filling the whole source (input_term). */
  parseWholeTerm(): Term {
    const t = this.parseTermIn(false);
    if (this.tok.kind !== 'eof') this.unexpected();
    return t;
  }
}

/** OPA: a default value is a constant; comprehensions are allowed (they are closures). */
function illegalDefaultValue(t: Term): string | undefined {
  switch (t.t) {
    case 'var':
      return 'var';
    case 'ref':
      return 'ref';
    case 'call':
    case 'tmpl':
      return 'call';
    case 'arr':
    case 'set':
      for (const i of t.items) {
        const bad = illegalDefaultValue(i);
        if (bad !== undefined) return bad;
      }
      return undefined;
    case 'obj':
      for (const [k, v] of t.entries) {
        const bad = illegalDefaultValue(k) ?? illegalDefaultValue(v);
        if (bad !== undefined) return bad;
      }
      return undefined;
    default:
      return undefined;
  }
}

export function parseModule(src: string, file: string, options: ParseOptions): Module {
  return new Parser(src, file, options).parseModule();
}

export function parseQuery(src: string, options: ParseOptions): Body {
  const p = new Parser(src, 'query', options);
  return p.parseWholeQuery();
}

export function parseTermText(src: string): Term {
  return new Parser(src, 'term', { v1: true }).parseWholeTerm();
}

/** Constant value of a ground term without vars/calls (for input_term and constant folding). */
export function constantValue(t: Term): Value | undefined {
  switch (t.t) {
    case 'val':
      return t.v;
    case 'arr': {
      const out: Value[] = [];
      for (const i of t.items) {
        const v = constantValue(i);
        if (v === undefined) return undefined;
        out.push(v);
      }
      return out;
    }
    case 'set': {
      const s = new SetValue();
      for (const i of t.items) {
        const v = constantValue(i);
        if (v === undefined) return undefined;
        s.add(v);
      }
      return s;
    }
    case 'obj': {
      const o = new ObjectValue();
      for (const [k, v] of t.entries) {
        const kv = constantValue(k);
        const vv = constantValue(v);
        if (kv === undefined || vv === undefined) return undefined;
        o.set(kv, vv);
      }
      return o;
    }
    default:
      return undefined;
  }
}

export { KEYWORDS_V1 };
