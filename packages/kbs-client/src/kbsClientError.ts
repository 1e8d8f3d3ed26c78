/**
 * The one error type of the client library. KBS failures carry the parsed ErrorInformation
 * (and its upstream variant name when it is one of ours), so callers and the CLI can report
 * `type` + `detail` without reparsing.
 */
import { errorVariantOf, type ErrorInformation, type KbsErrorVariant } from '@trustee/protocol';
import { TrusteeError } from '@trustee/errors';

export type KbsClientErrorCode =
  | 'http' // transport failure: connection, TLS, timeout, oversized body
  | 'kbs' // the KBS answered with a non-200 status
  | 'protocol' // a response or local input does not follow the protocol
  | 'evidence' // an attester failed
  | 'decrypt' // the JWE response could not be decrypted
  | 'not_found' // 404 on a resource
  | 'unauthorized' // resource still refused after the retries
  | 'usage'; // bad arguments

export class KbsClientError extends TrusteeError<KbsClientErrorCode> {
  /** HTTP status of the KBS response, when there was one. */
  readonly status: number | undefined;
  /** Parsed ErrorInformation body, when the KBS sent one. */
  readonly info: ErrorInformation | undefined;
  /** Upstream variant name of `info.type` (e.g. `PolicyDeny`), when recognised. */
  readonly variant: KbsErrorVariant | undefined;

  constructor(code: KbsClientErrorCode, message: string, details: { status?: number; info?: ErrorInformation; cause?: unknown } = {}) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.status = details.status;
    this.info = details.info;
    this.variant = details.info === undefined ? undefined : errorVariantOf(details.info.type);
  }
}
