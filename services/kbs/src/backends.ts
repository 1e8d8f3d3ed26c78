/**
 * The narrow views the KBS routes have of their collaborators. The builtin attestation service
 * (@trustee/attestation) and the KBS's token verifier (token/tokenVerifier.ts) satisfy them structurally; tests pass the real
 * implementations, and the composition root (`main.ts`) wires them.
 */
import type { Logger } from '@trustee/log';
import type { Json, JsonObject, TeePubKey, VerificationRequest } from '@trustee/protocol';

export type { JsonObject, VerificationRequest };



/** The admin's `Authorization` header, as sent to the KBS. */
export interface AdminCredentials {
  readonly authorization?: string;
}

/** What /attest and the admin passthrough routes need from the attestation service. */
export interface AttestationBackend {
  /**
   * `log` is the request's logger (it carries the `reqId`): the builtin service writes this call's
   * lines through it; a remote service logs in its own process, under the `reqId` the gRPC
   * backend sends along (`x-request-id`).
   */
  evaluate(requests: readonly VerificationRequest[], policyIds: readonly string[], log?: Logger): Promise<string>;
  /**
   * `credentials` are the admin's, forwarded to a remote attestation service (`coco_as_grpc`),
   * which may require its own admin token (services/as `admin.protect_policies` /
   * `admin.protect_register`); the builtin service ignores them (the KBS admin gate has passed).
   */
  setPolicy(policyId: string, regoSource: string, credentials?: AdminCredentials): Promise<void>;
  registerReferenceValue(message: string, credentials?: AdminCredentials): Promise<void>;
  queryReferenceValue(id: string): Promise<Json | undefined>;
}

/** The `[attestation_token]` verifier (upstream trustee `kbs/src/token/mod.rs`). */
export interface TokenVerifier {
  verify(jwt: string): Promise<JsonObject>;
  extractTeePubKey(claims: JsonObject): TeePubKey | undefined;
}
