/**
 * A caller's request id over gRPC: the KBS sends the id of the HTTP request it is serving
 * (services/kbs/src/grpcAttestationService.ts) and services/as logs the call under it, so one id
 * finds a guest's attestation in both logs. The key and the check are @trustee/log's
 * (packages/log/src/requestId.ts), shared with the HTTP servers.
 */
import type * as grpc from '@grpc/grpc-js';
import { MAX_REQUEST_ID_LENGTH, REQUEST_ID_HEADER, usableRequestId } from '@trustee/log';

/** The metadata key: the HTTP header's name (lower case, as gRPC metadata keys are). */
export const REQUEST_ID_METADATA = REQUEST_ID_HEADER;

export { MAX_REQUEST_ID_LENGTH };

/**
 * The caller's request id from `metadata`, or undefined when it sent none or one that is too long
 * or holds anything but printable characters (the server then uses an id of its own).
 */
export function callerRequestId(metadata: grpc.Metadata): string | undefined {
  const [value] = metadata.get(REQUEST_ID_METADATA);
  return usableRequestId(value);
}
