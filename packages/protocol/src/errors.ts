/**
 * Error vocabulary of the KBS wire protocol: the `ErrorInformation` body every KBS failure
 * carries and the typed errors thrown by this package's parsers and JWE code.
 */
import { TrusteeError } from '@trustee/errors';

/** Prefix of `ErrorInformation.type`; the suffix is the upstream error variant name. */
export const ERROR_TYPE_PREFIX = 'https://github.com/confidential-containers/kbs/errors/';

/** RFC 7807-style body of every KBS error response. */
export interface ErrorInformation {
  type: string;
  detail: string;
}

/**
 * Upstream KBS error variants (upstream kbs/src/error.rs) with the HTTP status the contract assigns
 * (404 only for the two path errors, 401 for everything else).
 */
export const KBS_ERROR_VARIANTS = {
  AdminAuthInitialization: 401,
  AdminAuthAccess: 401,
  AttestationError: 401,
  HTTPFailed: 401,
  HTTPSFailed: 401,
  InvalidRequestPath: 404,
  JweError: 401,
  PluginManagerInitialization: 401,
  PluginNotFound: 404,
  PluginInternalError: 401,
  PolicyDeny: 401,
  ParsePolicyError: 401,
  PolicyEngineError: 401,
  RvpsError: 401,
  SerdeError: 401,
  StorageBackendInitialization: 401,
  TokenNotFound: 401,
  TokenVerifierError: 401,
  PrometheusError: 401,
} as const satisfies Record<string, 401 | 404>;

export type KbsErrorVariant = keyof typeof KBS_ERROR_VARIANTS;

/** All upstream variant names, in declaration order. */
export const KBS_ERROR_VARIANT_NAMES = Object.keys(KBS_ERROR_VARIANTS) as KbsErrorVariant[];

/** Builds the `type` URI of an error variant, e.g. `.../errors/PolicyDeny`. */
export function errorTypeUri(variant: KbsErrorVariant): string {
  return ERROR_TYPE_PREFIX + variant;
}

/** Returns the variant name of a `type` URI, or undefined if it is not one of ours. */
export function errorVariantOf(type: string): KbsErrorVariant | undefined {
  if (!type.startsWith(ERROR_TYPE_PREFIX)) return undefined;
  const name = type.slice(ERROR_TYPE_PREFIX.length);
  return Object.hasOwn(KBS_ERROR_VARIANTS, name) ? (name as KbsErrorVariant) : undefined;
}

/** The codes of this package's errors: `ProtocolError` is `invalid_message`, `JweError` `jwe_failed`. */
export type ProtocolErrorCode = 'invalid_message' | 'jwe_failed';

/** A message or value that does not follow the KBS protocol. */
export class ProtocolError extends TrusteeError<ProtocolErrorCode> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_message', message, options);
  }
}

/** JWE construction or decryption failed (unsupported key, bad header, integrity failure). */
export class JweError extends ProtocolError {
  override readonly code: ProtocolErrorCode = 'jwe_failed';
}
