/** Rego abstract syntax tree, as produced by the parser and annotated by the compiler. */
import type { Value } from './value.ts';

export interface Loc {
  readonly row: number;
  readonly col: number;
  readonly file: string;
}

export type Term =
  | { readonly t: 'val'; readonly v: Value; readonly loc: Loc }
  | { readonly t: 'var'; readonly name: string; readonly loc: Loc }
  | { readonly t: 'ref'; readonly head: Term; readonly path: Term[]; readonly loc: Loc }
  | { readonly t: 'arr'; readonly items: Term[]; readonly loc: Loc }
  | { readonly t: 'obj'; readonly entries: Array<[Term, Term]>; readonly loc: Loc }
  | { readonly t: 'set'; readonly items: Term[]; readonly loc: Loc }
  | { readonly t: 'acomp'; readonly term: Term; readonly body: Body; readonly loc: Loc }
  | { readonly t: 'scomp'; readonly term: Term; readonly body: Body; readonly loc: Loc }
  | { readonly t: 'ocomp'; readonly key: Term; readonly value: Term; readonly body: Body; readonly loc: Loc }
  | {
      readonly t: 'call';
      /** Operator name: builtin/internal name ('plus', 'equal', 'assign', 'eq', 'count') or a ref path text. */
      readonly fn: Term;
      readonly args: Term[];
      readonly loc: Loc;
    }
  | { readonly t: 'tmpl'; readonly parts: Array<string | Term>; readonly loc: Loc };

export type VarTerm = Extract<Term, { t: 'var' }>;
export type RefTerm = Extract<Term, { t: 'ref' }>;
export type CallTerm = Extract<Term, { t: 'call' }>;

export interface With {
  readonly target: Term;
  readonly value: Term;
  readonly loc: Loc;
}

export type Literal =
  | { readonly kind: 'expr'; negated: boolean; readonly term: Term; readonly with: With[]; readonly loc: Loc }
  | { readonly kind: 'some'; readonly vars: VarTerm[]; readonly with: With[]; readonly loc: Loc; negated: boolean }
  | {
      readonly kind: 'somein';
      readonly key: Term | undefined;
      readonly value: Term;
      readonly domain: Term;
      readonly with: With[];
      readonly loc: Loc;
      negated: boolean;
    }
  | {
      readonly kind: 'every';
      readonly key: Term | undefined;
      readonly value: Term;
      readonly domain: Term;
      readonly body: Body;
      readonly with: With[];
      readonly loc: Loc;
      negated: boolean;
    }
  | { readonly kind: 'notbody'; readonly body: Body; readonly with: With[]; readonly loc: Loc; negated: boolean };

export type Body = Literal[];

export type RuleKind = 'complete' | 'multi' | 'func';

export interface RuleElse {
  readonly value: Term;
  readonly body: Body;
  readonly loc: Loc;
}

export interface Rule {
  readonly kind: RuleKind;
  readonly isDefault: boolean;
  /** Head reference: first element is the rule's name var, then string/var/other terms. */
  readonly ref: Term[];
  readonly args: Term[] | undefined;
  /** For multi-value rules, the element. */
  readonly key: Term | undefined;
  /** For complete rules and functions: the value (true when absent). */
  readonly value: Term;
  readonly body: Body;
  readonly elses: RuleElse[];
  readonly loc: Loc;
  /** True when the body was empty in the source (a constant rule). */
  readonly bodyless: boolean;
  /** `# METADATA` annotations written just above the rule (normalised, with `scope`). */
  readonly annotations?: Value;
}

export interface Import {
  /** Full path, e.g. ['data', 'foo', 'bar'] or ['input'] or ['future', 'keywords', 'in']. */
  readonly path: Term;
  readonly alias: string | undefined;
  readonly loc: Loc;
}

export interface Module {
  readonly file: string;
  /** Package path below data, e.g. ['a', 'b'] for `package a.b`. */
  readonly pkg: Value[];
  readonly imports: Import[];
  readonly rules: Rule[];
  readonly v1: boolean;
  /** `# METADATA` annotations of the package statement. */
  readonly annotations?: Value;
}
