/** Test helpers for asserting how a verification fails (test-only). */
import { VerificationError } from '../verificationError.ts';

/** The VerificationError `promise` rejects with; success or any other error fails the test. */
export async function rejection(promise: Promise<unknown>): Promise<VerificationError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof VerificationError) return error;
    throw error;
  }
  throw new Error('expected a VerificationError');
}

/** The names of every failed check, in report order. */
export function failedChecks(error: VerificationError): string[] {
  return error.failures.map((f) => f.check);
}

/** The error code and failed checks of a verification that must reject. */
export async function checksOf(run: Promise<unknown>): Promise<{ code: string; checks: string[] }> {
  const error = await rejection(run);
  return { code: error.code, checks: failedChecks(error) };
}
