/** Test helper for the RVPS extractors: how a provenance message must be refused (test-only). */
import { expect } from 'vitest';
import { AttestationError } from '../attestationError.ts';

/** The `invalid_reference_value` AttestationError `action` throws; anything else fails the test. */
export function rejection(action: () => unknown): AttestationError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(AttestationError);
    expect((error as AttestationError).code).toBe('invalid_reference_value');
    return error as AttestationError;
  }
  throw new Error('expected a rejection');
}
