/** Typed errors of the Rego engine (codes follow OPA's). */
import { TrusteeError } from '@trustee/errors';

export type RegoErrorCode =
  | 'rego_parse_error'
  | 'rego_compile_error'
  | 'rego_type_error'
  | 'rego_unsafe_var_error'
  | 'rego_recursion_error'
  | 'eval_conflict_error'
  | 'eval_type_error'
  | 'eval_builtin_error'
  | 'eval_budget_exceeded'
  | 'eval_undefined_function';

export interface RegoLocation {
  readonly row: number;
  readonly col: number;
  readonly file?: string;
}

export class RegoError extends TrusteeError<RegoErrorCode> {
  readonly location?: RegoLocation;
  /** The message without code and location prefix. */
  readonly detail: string;
  /**
   * Compile-time errors print `file:row:col:`; evaluation errors print OPA's `file:row:` (pass
   * `rowOnly`), which is what OPA's error texts (and its conformance cases) contain.
   */
  constructor(code: RegoErrorCode, detail: string, location?: RegoLocation, rowOnly = false) {
    const where = location ? `${location.file ?? ''}:${location.row}${rowOnly ? '' : `:${location.col}`}: ` : '';
    super(code, `${where}${code}: ${detail}`);
    this.detail = detail;
    if (location) this.location = location;
  }
}
