/**
 * A caller's request id, taken across services so one id finds a request in every log: the KBS
 * sends the id of the HTTP request it is serving to the AS (gRPC metadata,
 * services/kbs/src/grpcAttestationService.ts), the AS takes it as the id of its REST requests
 * (HTTP header, services/as/src/restServer.ts) and gRPC calls (services/as/src/grpcServer.ts) and
 * sends its own on to a remote RVPS (packages/rvps/src/grpcRvpsClient.ts). The check lives here,
 * not in @trustee/grpc, so an HTTP server applies it without loading gRPC code.
 */

/** The HTTP header and gRPC metadata key (lower case, as gRPC metadata keys are). */
export const REQUEST_ID_HEADER = 'x-request-id';

/** Longest caller id taken; a KBS's own ids are far shorter (`<process tag>-<counter>`). */
export const MAX_REQUEST_ID_LENGTH = 128;

/** Printable ASCII without spaces: nothing a log reader could mistake for another field or line. */
const USABLE_REQUEST_ID = new RegExp(`^[\\x21-\\x7e]{1,${MAX_REQUEST_ID_LENGTH}}$`);

/**
 * `value` when it is a usable caller id, else undefined (none sent, a repeated header, too long,
 * or anything but printable ASCII): the receiver then uses an id of its own.
 */
export function usableRequestId(value: unknown): string | undefined {
  return typeof value === 'string' && USABLE_REQUEST_ID.test(value) ? value : undefined;
}
