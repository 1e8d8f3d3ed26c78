/**
 * TypeScript shapes of the gRPC messages as @grpc/proto-loader hands them over with
 * `keepCase`, `defaults` and `oneofs` (snake_case fields, oneof discriminators as strings).
 */

export interface IndividualAttestationRequest {
  tee: string;
  evidence: string;
  raw_runtime_data?: string;
  structured_runtime_data?: string;
  /** Which member of the `runtime_data` oneof is set, if any. */
  runtime_data?: 'raw_runtime_data' | 'structured_runtime_data';
  init_data_digest?: string;
  init_data_toml?: string;
  init_data?: 'init_data_digest' | 'init_data_toml';
  runtime_data_hash_algorithm: string;
}

export interface AttestationRequest {
  verification_requests: IndividualAttestationRequest[];
  policy_ids: string[];
}

export interface AttestationResponse {
  attestation_token: string;
}

export interface SetPolicyRequest {
  policy_id: string;
  policy: string;
}

export interface ChallengeRequest {
  inner: Record<string, string>;
}

export interface ChallengeResponse {
  attestation_challenge: string;
}

export interface GetPolicyRequest {
  policy_id: string;
}

export interface GetPolicyResponse {
  policy: string;
}

export interface ListPoliciesResponse {
  policy_ids: string[];
}

export interface DeletePolicyRequest {
  policy_id: string;
}

export interface ReferenceValueQueryRequest {
  reference_value_id: string;
}

export interface ReferenceValueQueryResponse {
  reference_value_results?: string;
}

export interface ReferenceValueRegisterRequest {
  message: string;
}

export interface ReferenceValueListResponse {
  reference_values: string[];
}

export interface ReferenceValueDeleteRequest {
  reference_value_id: string;
}

export interface ReferenceValueDeleteResponse {
  deleted: boolean;
}

export type Empty = Record<string, never>;

export interface HealthCheckRequest {
  service: string;
}

export interface HealthCheckResponse {
  status: 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
}
