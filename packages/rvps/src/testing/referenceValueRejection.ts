/** Test helper for the RVPS extractors: how a provenance message must be refused (test-only). */
import { expect } from 'vitest';
import { ReferenceValueError } from '../referenceValueError.ts';

/** The `invalid_reference_value` ReferenceValueError `action` throws; anything else fails the test. */
export function rejection(action: () => unknown): ReferenceValueError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ReferenceValueError);
    expect((error as ReferenceValueError).code).toBe('invalid_reference_value');
    return error as ReferenceValueError;
  }
  throw new Error('expected a rejection');
}
