/** Assertions on the KBS's ErrorInformation bodies (upstream trustee `kbs/src/error.rs`). */
import { expect } from 'vitest';
import type { HttpResponse } from '../independent/http.ts';

export const ERROR_TYPE_PREFIX = 'https://github.com/confidential-containers/kbs/errors/';

export type ErrorType =
  | 'AttestationError'
  | 'TokenNotFound'
  | 'TokenVerifierError'
  | 'PolicyDeny'
  | 'PolicyEngineError'
  | 'PluginInternalError'
  | 'PluginNotFound'
  | 'InvalidRequestPath'
  | 'JweError'
  | 'AdminAuthAccess'
  | 'AdminAuthInitialization'
  | 'ParsePolicyError'
  | 'RvpsError'
  | 'SerdeError'
  | 'TooManyRequests'
  | 'ServiceUnavailable';

export function describeResponse(response: HttpResponse): string {
  return `HTTP ${response.status} ${JSON.stringify(response.headers['content-type'])}: ${response.body.toString('utf8').slice(0, 600)}`;
}

/**
 * The response is an ErrorInformation JSON object with the expected status and upstream type
 * URI (one of `types` when upstream allows several), a string detail, and nothing that looks
 * like a stack trace.
 */
export function expectErrorInformation(response: HttpResponse, status: number, types: ErrorType | readonly ErrorType[]): { type: string; detail: string } {
  const allowed = (typeof types === 'string' ? [types] : types).map((t) => `${ERROR_TYPE_PREFIX}${t}`);
  const text = response.body.toString('utf8');
  expect(response.status, describeResponse(response)).toBe(status);
  expect(String(response.headers['content-type']), describeResponse(response)).toMatch(/^application\/json/);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`error body is not JSON: ${describeResponse(response)}`);
  }
  expect(parsed, describeResponse(response)).toBeTypeOf('object');
  const info = parsed as { type?: unknown; detail?: unknown };
  expect(allowed, describeResponse(response)).toContain(info.type);
  expect(typeof info.detail, describeResponse(response)).toBe('string');
  expect(text, 'error bodies never carry stack traces').not.toMatch(/\n\s+at |\.ts:\d+:\d+|node:internal/);
  return { type: info.type as string, detail: info.detail as string };
}
