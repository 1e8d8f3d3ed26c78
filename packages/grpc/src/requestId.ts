/**
 * A caller's request id over gRPC: the KBS sends the id of the HTTP request it is serving
 * (services/kbs/src/grpcAttestationService.ts) and services/as logs the call under it, so one id
 * finds a guest's attestation in both logs.
 */
import type * as grpc from '@grpc/grpc-js';

/** The metadata key (lower case, as gRPC metadata keys are). */
export const REQUEST_ID_METADATA = 'x-request-id';

/** Longest caller id taken; a KBS's own ids are far shorter (`<process tag>-<counter>`). */
export const MAX_REQUEST_ID_LENGTH = 128;

/** Printable ASCII without spaces: nothing a log reader could mistake for another field or line. */
const USABLE_REQUEST_ID = new RegExp(`^[\\x21-\\x7e]{1,${MAX_REQUEST_ID_LENGTH}}$`);

/**
 * The caller's request id from `metadata`, or undefined when it sent none or one that is too long
 * or holds anything but printable characters (the server then uses an id of its own).
 */
export function callerRequestId(metadata: grpc.Metadata): string | undefined {
  const [value] = metadata.get(REQUEST_ID_METADATA);
  return typeof value === 'string' && USABLE_REQUEST_ID.test(value) ? value : undefined;
}
