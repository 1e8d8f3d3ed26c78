/**
 * Invariant: every error code has a status, upstream variants keep upstream's statuses (404 only
 * for the two path errors, 401 otherwise) and bodies are exactly `{type, detail}` with the
 * upstream type prefix.
 */
import { ERROR_TYPE_PREFIX, KBS_ERROR_VARIANTS } from '@trustee/protocol';
import { expect, test } from 'vitest';
import { KBS_ERROR_STATUS, KbsError, kbsErrors } from './errors.ts';

test('upstream variants keep upstream statuses', () => {
  for (const [variant, status] of Object.entries(KBS_ERROR_VARIANTS)) {
    expect(KBS_ERROR_STATUS[variant as keyof typeof KBS_ERROR_STATUS].http, variant).toBe(status);
  }
});

test('ErrorInformation has exactly type and detail; the log reason stays out of it', () => {
  const error = kbsErrors.attestFailed('nonce does not match the challenge');
  expect(error).toBeInstanceOf(KbsError);
  expect(error.status).toBe(401);
  expect(JSON.stringify(error.toErrorInformation())).toBe(
    `{"type":"${ERROR_TYPE_PREFIX}AttestationError","detail":"Attestation error: RCAR handshake Attest failed"}`,
  );
});

test.each([
  [kbsErrors.pluginNotFound('x'), 404, 'PluginNotFound', 'Plugin x not found'],
  [kbsErrors.invalidRequestPath('/p'), 404, 'InvalidRequestPath', 'Request path /p is invalid'],
  [kbsErrors.policyDeny(), 401, 'PolicyDeny', 'Access denied by policy'],
  [kbsErrors.tokenNotFound(), 401, 'TokenNotFound', 'Attestation Token not found'],
  [kbsErrors.tokenVerifier('why'), 401, 'TokenVerifierError', 'Token Verifier error'],
  [kbsErrors.jwe('why'), 401, 'JweError', 'JWE failed'],
  [kbsErrors.adminAccess('/kbs/v0/x', 'r'), 401, 'AdminAuthAccess', 'admin access denied for endpoint /kbs/v0/x: r'],
  [kbsErrors.adminAuthInitialization('r'), 401, 'AdminAuthInitialization', 'failed to initialize [admin] configuration: r'],
  [kbsErrors.rvps('m'), 401, 'RvpsError', 'RVPS configuration failed: m'],
  [kbsErrors.payloadTooLarge(2), 413, 'PayloadTooLarge', 'Request body exceeds the limit of 2 bytes'],
])('%#: status %d, type %s', (error, status, type, detail) => {
  expect(error.status).toBe(status);
  expect(error.toErrorInformation()).toEqual({ type: ERROR_TYPE_PREFIX + type, detail });
});
