/**
 * RCAR 0.4.0 wire messages (upstream kbs-types `src/lib.rs`). Top-level members are kebab-case, the
 * members inside `tee-evidence` snake_case. Each `parse*` function turns untrusted JSON into the
 * typed message or throws ProtocolError; unknown members are ignored like serde does.
 */
import { ProtocolError, type ErrorInformation } from './errors.ts';
import { parseTeePubKey, type TeePubKey } from './teePubKey.ts';

/** The only protocol version the KBS accepts (semver `=0.4.0`). */
export const KBS_PROTOCOL_VERSION = '0.4.0';

/** Hash algorithms a client may offer in `supported-hash-algorithms` (kbs-types `HashAlgorithm`). */
export const HASH_ALGORITHMS = ['sha256', 'sha384', 'sha512', 'sm3'] as const;
export type HashAlgorithmName = (typeof HASH_ALGORITHMS)[number];

/** TEE names of kbs-types `Tee` (lowercase serde names). */
export const TEE_NAMES = ['az-snp-vtpm', 'az-tdx-vtpm', 'nvidia', 'sgx', 'snp', 'tdx', 'cca', 'csv', 'se', 'hygondcu', 'tpm', 'sample', 'sampledevice', 'nvidiadpu'] as const;
export type TeeWireName = (typeof TEE_NAMES)[number];

/**
 * Device TEEs: their verifiers yield a device class (gpu, dpu, dcu), never `cpu`
 * (upstream deps/verifier/src/{nvidia,sample_device,hygon_dcu}), so they cannot be the primary evidence
 * whose `cpu0` submodule carries the session's tee-pubkey; they only come as additional evidence.
 */
export const DEVICE_TEE_NAMES: readonly TeeWireName[] = ['nvidia', 'nvidiadpu', 'sampledevice', 'hygondcu'];

/** Whether `tee` names a known CPU TEE (one that may carry the primary evidence). */
export function isCpuTee(tee: string): tee is TeeWireName {
  return (TEE_NAMES as readonly string[]).includes(tee) && !DEVICE_TEE_NAMES.includes(tee as TeeWireName);
}

/** A JSON value as produced by `JSON.parse`. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** Body of `POST /kbs/v0/auth`. */
export interface AuthRequest {
  version: string;
  tee: string;
  'extra-params': Json;
}

/** Body of the `/auth` response. */
export interface Challenge {
  nonce: string;
  'extra-params': Json;
}

export interface InitData {
  format: string;
  body: string;
}

export interface RuntimeData {
  nonce: string;
  'tee-pubkey': TeePubKey;
}

export interface TeeEvidence {
  primary_evidence: Json;
  /** JSON text of a map TEE name → evidence, or `""` when there is no device evidence. */
  additional_evidence: string;
}

/** Body of `POST /kbs/v0/attest`. */
export interface AttestationRequest {
  'init-data'?: InitData | null;
  'runtime-data': RuntimeData;
  'tee-evidence': TeeEvidence;
}

/** Body of the `/attest` response. */
export interface AttestResponse {
  token: string;
}

/** Encrypted resource: flattened JWE JSON serialisation without `aad`. */
export interface JweResponse {
  protected: string;
  encrypted_key: string;
  iv: string;
  ciphertext: string;
  tag: string;
}

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolError(`${what} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

function field(record: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(record, name) ? record[name] : undefined;
}

function stringField(record: Record<string, unknown>, name: string, what: string): string {
  const value = field(record, name);
  if (typeof value !== 'string') throw new ProtocolError(`${what}.${name} must be a string`);
  return value;
}

function jsonField(record: Record<string, unknown>, name: string, what: string): Json {
  const value = field(record, name);
  if (value === undefined) throw new ProtocolError(`${what}.${name} is missing`);
  return value as Json;
}

/** Parses an `/auth` request body (version is not checked here; the KBS decides). */
export function parseAuthRequest(json: unknown): AuthRequest {
  const record = asObject(json, 'auth request');
  return {
    version: stringField(record, 'version', 'auth request'),
    tee: stringField(record, 'tee', 'auth request'),
    'extra-params': jsonField(record, 'extra-params', 'auth request'),
  };
}

/** Parses an `/auth` response body. */
export function parseChallenge(json: unknown): Challenge {
  const record = asObject(json, 'challenge');
  return {
    nonce: stringField(record, 'nonce', 'challenge'),
    'extra-params': jsonField(record, 'extra-params', 'challenge'),
  };
}

/** Parses an `/attest` request body; `init-data` may be missing or null, the key is reduced to its kbs-types members. */
export function parseAttestationRequest(json: unknown): AttestationRequest {
  const record = asObject(json, 'attestation request');
  const runtime = asObject(field(record, 'runtime-data'), 'runtime-data');
  const evidence = asObject(field(record, 'tee-evidence'), 'tee-evidence');
  const request: AttestationRequest = {
    'runtime-data': {
      nonce: stringField(runtime, 'nonce', 'runtime-data'),
      'tee-pubkey': parseTeePubKey(field(runtime, 'tee-pubkey')),
    },
    'tee-evidence': {
      primary_evidence: jsonField(evidence, 'primary_evidence', 'tee-evidence'),
      additional_evidence: stringField(evidence, 'additional_evidence', 'tee-evidence'),
    },
  };
  const initData = field(record, 'init-data');
  if (initData === null) {
    request['init-data'] = null;
  } else if (initData !== undefined) {
    const init = asObject(initData, 'init-data');
    request['init-data'] = { format: stringField(init, 'format', 'init-data'), body: stringField(init, 'body', 'init-data') };
  }
  return request;
}

/**
 * Parses `tee-evidence.additional_evidence`: `""` → empty map, otherwise the JSON text of an
 * object TEE name → evidence.
 */
export function parseAdditionalEvidence(text: string): Record<string, Json> {
  if (text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ProtocolError('additional_evidence is not valid JSON');
  }
  return asObject(parsed, 'additional_evidence') as Record<string, Json>;
}

/** Parses an `/attest` response body. */
export function parseAttestResponse(json: unknown): AttestResponse {
  return { token: stringField(asObject(json, 'attest response'), 'token', 'attest response') };
}

/** Parses a flattened JWE response body (strings only; decoding happens on decryption). */
export function parseJweResponse(json: unknown): JweResponse {
  const record = asObject(json, 'JWE response');
  return {
    protected: stringField(record, 'protected', 'JWE response'),
    encrypted_key: stringField(record, 'encrypted_key', 'JWE response'),
    iv: stringField(record, 'iv', 'JWE response'),
    ciphertext: stringField(record, 'ciphertext', 'JWE response'),
    tag: stringField(record, 'tag', 'JWE response'),
  };
}

/** Parses an ErrorInformation body. */
export function parseErrorInformation(json: unknown): ErrorInformation {
  const record = asObject(json, 'ErrorInformation');
  return { type: stringField(record, 'type', 'ErrorInformation'), detail: stringField(record, 'detail', 'ErrorInformation') };
}
