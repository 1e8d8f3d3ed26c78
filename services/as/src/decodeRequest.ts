/**
 * Upstream's transport decoding (upstream trustee `attestation-service/src/bin/restful/mod.rs` and
 * `src/bin/grpc/mod.rs`): the evidence is base64url (no padding) of a JSON document, raw runtime
 * data and init-data digests are base64url, structured runtime data is JSON text (gRPC) or a JSON
 * value (REST), an empty hash algorithm means sha384, and an empty policy list means `["default"]`.
 * Everything here is hostile input: every failure is an `invalid_request` naming the field, never a
 * raw exception.
 */
import { HASH_ALGORITHMS, type HashAlgorithm } from '@trustee/attestation';
import type { AttestationRequest as GrpcAttestationRequest, IndividualAttestationRequest } from '@trustee/grpc';
import { b64url, type Json, type VerificationRequest } from '@trustee/protocol';
import { isTeeName, TEE_NAMES, type TeeName } from '@trustee/verifiers';
import { AsError } from './errors.ts';

export interface DecodedAttestation {
  readonly requests: VerificationRequest[];
  readonly policyIds: string[];
}

function invalid(message: string): AsError {
  return new AsError('invalid_request', message);
}

/** Strict base64url without padding (`=` rejected like upstream's decoder). */
export function decodeBase64Url(text: unknown, field: string): Uint8Array {
  if (typeof text !== 'string') throw invalid(`${field}: expected a base64url string`);
  try {
    return b64url.decode(text);
  } catch {
    throw invalid(`${field}: not base64url without padding`);
  }
}

function parseJsonText(text: string, field: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch {
    throw invalid(`${field}: not a JSON document`);
  }
}

/** `evidence`: base64url → UTF-8 → JSON. */
export function decodeEvidence(text: unknown, field: string): Json {
  const bytes = decodeBase64Url(text, field);
  let json: string;
  try {
    json = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalid(`${field}: decoded evidence is not UTF-8 text`);
  }
  return parseJsonText(json, field);
}

export function parseTee(value: unknown, field: string): TeeName {
  if (!isTeeName(value)) throw invalid(`${field}: unknown TEE ${String(JSON.stringify(value)).slice(0, 64)} (expected one of ${TEE_NAMES.join(', ')})`);
  return value;
}

export function parseHashAlgorithm(value: unknown, field: string): HashAlgorithm {
  if (value === undefined || value === null || value === '') return 'sha384';
  if (typeof value !== 'string' || !(HASH_ALGORITHMS as readonly string[]).includes(value)) {
    throw invalid(`${field}: unsupported hash algorithm ${String(JSON.stringify(value)).slice(0, 32)} (${HASH_ALGORITHMS.join(', ')})`);
  }
  return value as HashAlgorithm;
}

function policyIdsOf(ids: unknown, field: string): string[] {
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) throw invalid(`${field}: expected an array of strings`);
  return ids.length === 0 ? ['default'] : ids;
}

/** gRPC `attestation.AttestationRequest` → core requests. */
export function decodeGrpcAttestationRequest(request: GrpcAttestationRequest): DecodedAttestation {
  const items = request.verification_requests ?? [];
  const requests = items.map((item: IndividualAttestationRequest, i): VerificationRequest => {
    const at = `verification_requests[${i}]`;
    const tee = parseTee(item.tee, `${at}.tee`);
    const evidence = decodeEvidence(item.evidence, `${at}.evidence`);
    const runtimeDataHashAlgorithm = parseHashAlgorithm(item.runtime_data_hash_algorithm, `${at}.runtime_data_hash_algorithm`);
    let runtimeData: VerificationRequest['runtimeData'];
    if (item.runtime_data === 'raw_runtime_data') runtimeData = { raw: decodeBase64Url(item.raw_runtime_data, `${at}.raw_runtime_data`) };
    else if (item.runtime_data === 'structured_runtime_data') runtimeData = { structured: parseJsonText(item.structured_runtime_data ?? '', `${at}.structured_runtime_data`) };
    let initData: VerificationRequest['initData'];
    if (item.init_data === 'init_data_digest') initData = { digest: decodeBase64Url(item.init_data_digest, `${at}.init_data_digest`) };
    else if (item.init_data === 'init_data_toml') initData = { toml: item.init_data_toml ?? '' };
    return { tee, evidence, runtimeDataHashAlgorithm, ...(runtimeData === undefined ? {} : { runtimeData }), ...(initData === undefined ? {} : { initData }) };
  });
  return { requests, policyIds: policyIdsOf(request.policy_ids ?? [], 'policy_ids') };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Exactly one key, like a Rust externally tagged enum. */
function tagged(value: unknown, field: string, tags: readonly string[]): [string, unknown] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw invalid(`${field}: expected an object with one of ${tags.join(', ')}`);
  const keys = Object.keys(value);
  const key = keys[0];
  if (keys.length !== 1 || key === undefined || !tags.includes(key)) throw invalid(`${field}: expected exactly one of ${tags.join(', ')}`);
  return [key, value[key]];
}

/** REST `POST /attestation` body → core requests. `policy_ids` is a required key upstream. */
export function decodeRestAttestationRequest(body: unknown): DecodedAttestation {
  if (!isObject(body)) throw invalid('body: expected a JSON object');
  if (!Object.hasOwn(body, 'policy_ids')) throw invalid('body: missing field `policy_ids`');
  const items = body['verification_requests'];
  if (!Array.isArray(items)) throw invalid('verification_requests: expected an array');
  const requests = items.map((item: unknown, i): VerificationRequest => {
    const at = `verification_requests[${i}]`;
    if (!isObject(item)) throw invalid(`${at}: expected an object`);
    const tee = parseTee(item['tee'], `${at}.tee`);
    const evidence = decodeEvidence(item['evidence'], `${at}.evidence`);
    const runtimeDataHashAlgorithm = parseHashAlgorithm(item['runtime_data_hash_algorithm'], `${at}.runtime_data_hash_algorithm`);
    let runtimeData: VerificationRequest['runtimeData'];
    const runtime = tagged(item['runtime_data'], `${at}.runtime_data`, ['raw', 'structured']);
    if (runtime?.[0] === 'raw') runtimeData = { raw: decodeBase64Url(runtime[1], `${at}.runtime_data.raw`) };
    else if (runtime?.[0] === 'structured') runtimeData = { structured: runtime[1] as Json };
    let initData: VerificationRequest['initData'];
    const init = tagged(item['init_data'], `${at}.init_data`, ['init_data_digest', 'init_data_toml']);
    if (init?.[0] === 'init_data_digest') initData = { digest: decodeBase64Url(init[1], `${at}.init_data.init_data_digest`) };
    else if (init?.[0] === 'init_data_toml') {
      if (typeof init[1] !== 'string') throw invalid(`${at}.init_data.init_data_toml: expected a string`);
      initData = { toml: init[1] };
    }
    return { tee, evidence, runtimeDataHashAlgorithm, ...(runtimeData === undefined ? {} : { runtimeData }), ...(initData === undefined ? {} : { initData }) };
  });
  return { requests, policyIds: policyIdsOf(body['policy_ids'], 'policy_ids') };
}

/** Set-policy `policy`: base64url (no padding) of UTF-8 Rego text. */
export function decodePolicyText(text: unknown, field: string): string {
  const bytes = decodeBase64Url(text, field);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalid(`${field}: the decoded policy is not UTF-8`);
  }
}

/**
 * `GetAttestationChallenge` / `POST /challenge`: upstream answers an empty challenge for every
 * TEE except `se` (whose verifier this build does not have).
 */
export function attestationChallenge(inner: unknown): string {
  if (!isObject(inner)) throw invalid('challenge request: expected a JSON object of strings');
  const tee = parseTee(inner['tee'], 'tee');
  if (tee === 'se') throw new AsError('unsupported_tee', 'tee se: IBM SE challenges need the se verifier, which this build does not include');
  return '';
}
