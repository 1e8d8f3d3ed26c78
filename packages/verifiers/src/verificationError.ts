/** One failed check, with what the verifier expected and what the evidence carried. */
import { TrusteeError } from '@trustee/errors';
export interface FailedCheck {
  /** Stable machine name, e.g. `snp.report_data`, `snp.vcek.signature`, `tdx.tcb_info.expired`. */
  readonly check: string;
  readonly message: string;
  readonly expected?: string;
  readonly found?: string;
}

/**
 * Thrown by every verifier and parser: never a raw `RangeError` or `TypeError`.
 * `code` separates malformed input (`malformed_evidence`) from evidence that parsed but failed
 * verification (`verification_failed`) and from missing collateral (`collateral_unavailable`).
 */
export class VerificationError extends TrusteeError<VerificationErrorCode> {
  readonly failures: readonly FailedCheck[];

  constructor(code: VerificationErrorCode, failures: readonly FailedCheck[]) {
    super(code, failures.map(describeFailure).join('; ') || code);
    this.failures = failures;
  }

  static single(code: VerificationErrorCode, check: string, message: string, expected?: string, found?: string): VerificationError {
    return new VerificationError(code, [
      { check, message, ...(expected === undefined ? {} : { expected }), ...(found === undefined ? {} : { found }) },
    ]);
  }
}

export type VerificationErrorCode = 'malformed_evidence' | 'verification_failed' | 'collateral_unavailable' | 'unsupported';

function describeFailure(failure: FailedCheck): string {
  const detail = failure.expected !== undefined || failure.found !== undefined ? ` (expected ${failure.expected ?? '?'}, found ${failure.found ?? '?'})` : '';
  return `${failure.check}: ${failure.message}${detail}`;
}
