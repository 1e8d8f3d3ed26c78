/**
 * RVPS passthrough: `POST /kbs/v0/reference-value` registers an RVPS message;
 * `GET /kbs/v0/reference-value/{id...}` returns the stored JSON. Failures are RvpsError.
 */
import type { AdminCredentials, AttestationBackend } from '../backends.ts';
import { kbsErrors, rethrowIfUnavailable } from '../errors.ts';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

export async function handleRegisterReferenceValue(body: Uint8Array, attestation: AttestationBackend, credentials?: AdminCredentials): Promise<void> {
  let message: string;
  try {
    message = UTF8.decode(body);
  } catch {
    throw kbsErrors.rvps('Failed to parse reference value message');
  }
  try {
    await attestation.registerReferenceValue(message, credentials);
  } catch (error) {
    rethrowIfUnavailable(error);
    throw kbsErrors.rvps(`Failed to register reference value: ${(error as Error).message}`);
  }
}

export async function handleQueryReferenceValue(id: string, attestation: AttestationBackend): Promise<string> {
  let value;
  try {
    value = await attestation.queryReferenceValue(id);
  } catch (error) {
    rethrowIfUnavailable(error);
    throw kbsErrors.rvps(`Failed to get reference_values: ${(error as Error).message}`);
  }
  if (value === undefined) throw kbsErrors.rvps(`Failed to get reference_values: reference value ${id} not found`);
  return JSON.stringify(value);
}
