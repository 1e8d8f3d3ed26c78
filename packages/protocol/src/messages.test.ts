// Invariant: wire messages parse with the exact upstream member names (kebab-case top level,
// snake_case inside tee-evidence) and malformed bodies become ProtocolErrors, never TypeErrors.
import { describe, expect, it } from 'vitest';
import { b64url } from './base64.ts';
import { ERROR_TYPE_PREFIX, KBS_ERROR_VARIANTS, ProtocolError, errorTypeUri, errorVariantOf } from './errors.ts';
import {
  parseAdditionalEvidence,
  parseAttestationRequest,
  parseAttestResponse,
  parseAuthRequest,
  parseChallenge,
  parseErrorInformation,
  parseJweResponse,
} from './messages.ts';

const key = { kty: 'EC', crv: 'P-256', alg: 'ECDH-ES+A256KW', x: b64url.encode(Buffer.alloc(32, 1)), y: b64url.encode(Buffer.alloc(32, 2)) };
const attestation = {
  'init-data': null,
  'runtime-data': { nonce: 'bm9uY2U=', 'tee-pubkey': { ...key, kid: 'dropped' } },
  'tee-evidence': { primary_evidence: { svn: '1', report_data: 'AA==' }, additional_evidence: '' },
};

describe('parseAttestationRequest', () => {
  it('parses the upstream shape and drops extra key members', () => {
    const parsed = parseAttestationRequest(attestation);
    expect(parsed['runtime-data']['tee-pubkey']).toEqual(key);
    expect(parsed['init-data']).toBeNull();
    expect(parsed['tee-evidence']).toEqual(attestation['tee-evidence']);
  });

  it('accepts a missing init-data and a toml init-data', () => {
    const { 'init-data': _omit, ...withoutInit } = attestation;
    expect(parseAttestationRequest(withoutInit)).not.toHaveProperty('init-data');
    expect(parseAttestationRequest({ ...attestation, 'init-data': { format: 'toml', body: 'version = "0.1.0"' } })['init-data']).toEqual({ format: 'toml', body: 'version = "0.1.0"' });
  });

  it.each<[string, unknown]>([
    ['not an object', 'x'],
    ['camelCase tee evidence', { ...attestation, 'tee-evidence': { primaryEvidence: {}, additional_evidence: '' } }],
    ['missing primary_evidence', { ...attestation, 'tee-evidence': { additional_evidence: '' } }],
    ['additional_evidence not a string', { ...attestation, 'tee-evidence': { primary_evidence: {}, additional_evidence: {} } }],
    ['runtime-data missing', { ...attestation, 'runtime-data': undefined }],
    ['snake_case runtime_data', { runtime_data: attestation['runtime-data'], 'tee-evidence': attestation['tee-evidence'] }],
    ['bad key', { ...attestation, 'runtime-data': { nonce: 'x', 'tee-pubkey': { kty: 'EC' } } }],
    ['numeric nonce', { ...attestation, 'runtime-data': { nonce: 1, 'tee-pubkey': key } }],
    ['init-data without body', { ...attestation, 'init-data': { format: 'toml' } }],
  ])('rejects %s', (_name, body) => {
    expect(() => parseAttestationRequest(body)).toThrow(ProtocolError);
  });
});

describe('other messages', () => {
  it('auth request and challenge', () => {
    const auth = { version: '0.4.0', tee: 'sample', 'extra-params': { 'supported-hash-algorithms': ['sha384'] } };
    expect(parseAuthRequest(auth)).toEqual(auth);
    expect(() => parseAuthRequest({ version: '0.4.0', tee: 'sample' })).toThrow(ProtocolError);
    expect(parseChallenge({ nonce: 'n', 'extra-params': '' })).toEqual({ nonce: 'n', 'extra-params': '' });
    expect(() => parseChallenge({ nonce: 'n', extra_params: '' })).toThrow(ProtocolError);
  });

  it('additional evidence', () => {
    expect(parseAdditionalEvidence('')).toEqual({});
    expect(parseAdditionalEvidence('{"sampledevice":{"svn":"2"}}')).toEqual({ sampledevice: { svn: '2' } });
    expect(() => parseAdditionalEvidence('[1]')).toThrow(ProtocolError);
    expect(() => parseAdditionalEvidence('{')).toThrow(ProtocolError);
  });

  it('attest response, JWE response, ErrorInformation', () => {
    expect(parseAttestResponse({ token: 'a.b.c' })).toEqual({ token: 'a.b.c' });
    expect(() => parseAttestResponse({})).toThrow(ProtocolError);
    const jwe = { protected: 'p', encrypted_key: 'k', iv: 'i', ciphertext: 'c', tag: 't' };
    expect(parseJweResponse({ ...jwe, aad: 'ignored' })).toEqual(jwe);
    expect(() => parseJweResponse({ ...jwe, tag: undefined })).toThrow(ProtocolError);
    const info = { type: errorTypeUri('PolicyDeny'), detail: 'Access denied by policy' };
    expect(parseErrorInformation(info)).toEqual(info);
    expect(() => parseErrorInformation({ error_type: 'x', detail: 'y' })).toThrow(ProtocolError);
  });
});

describe('error variants', () => {
  it('type URIs round-trip', () => {
    expect(errorTypeUri('PolicyDeny')).toBe('https://github.com/confidential-containers/kbs/errors/PolicyDeny');
    for (const name of Object.keys(KBS_ERROR_VARIANTS)) expect(errorVariantOf(ERROR_TYPE_PREFIX + name)).toBe(name);
    expect(errorVariantOf(`${ERROR_TYPE_PREFIX}toString`)).toBeUndefined();
    expect(errorVariantOf('https://example.com/PolicyDeny')).toBeUndefined();
  });

  it('only the path errors are 404', () => {
    const notFound = Object.entries(KBS_ERROR_VARIANTS).filter(([, status]) => status === 404).map(([name]) => name);
    expect(notFound.sort()).toEqual(['InvalidRequestPath', 'PluginNotFound']);
  });
});
