// Invariant: the report-data digests are H(JCS(runtime data)) exactly as upstream trustee
// `kbs/src/attestation/backend.rs` binds them, with `additional-evidence` always present in the
// primary runtime data.
import { describe, expect, it } from 'vitest';
import { b64std } from './base64.ts';
import { deviceRuntimeData, primaryRuntimeData, runtimeDataDigest } from './runtimeData.ts';
import type { TeePubKey } from './teePubKey.ts';

const key: TeePubKey = { kty: 'EC', crv: 'P-256', alg: 'ECDH-ES+A256KW', x: 'MyEA8JflciQDoTER9UFwvkr1BaP56PzedZYNtyW8oQA', y: '1GzNpTak771xa6oK8SGe1jxnbXaQcf9890L0qxfvKjs' };
const nonce = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('runtimeDataDigest (fixed vector)', () => {
  it('primary digest, SHA-384', () => {
    const digest = runtimeDataDigest(primaryRuntimeData(nonce, key, ''), 'sha384');
    expect(hex(digest)).toBe('24ac8cc0cdfb9e30d6ff9274e30c4f8ba82d37265ddca1370175585c7e1cb160ea257f142495676a20ae74e32d005c90');
    expect(b64std.encode(digest)).toBe('JKyMwM37njDW/5J04wxPi6gtNyZd3KE3AXVYXH4csWDqJX8UJJVnaiCudOMtAFyQ');
  });

  it('device digest, SHA-384', () => {
    expect(hex(runtimeDataDigest(deviceRuntimeData(nonce, key), 'sha384'))).toBe(
      '90296af3cb94a661fdadb93f37cef4f9d075cc3a0cde20c5d6d1bc5f078cdb6f738aaa3958718d77aad01bdfb71b8f94',
    );
  });

  it('member order of the input does not matter, content does', () => {
    const reordered = { nonce, 'additional-evidence': '', 'tee-pubkey': { y: key.kty === 'EC' ? key.y : '', x: key.kty === 'EC' ? key.x : '', kty: 'EC', alg: key.alg, crv: 'P-256' } };
    expect(runtimeDataDigest(reordered, 'sha384')).toEqual(runtimeDataDigest(primaryRuntimeData(nonce, key, ''), 'sha384'));
    expect(runtimeDataDigest(primaryRuntimeData(nonce, key, '{}'), 'sha384')).not.toEqual(runtimeDataDigest(primaryRuntimeData(nonce, key, ''), 'sha384'));
  });

  it.each([
    ['sha256', 32],
    ['sha384', 48],
    ['sha512', 64],
    ['sm3', 32],
  ] as const)('%s gives %d bytes', (alg, length) => {
    expect(runtimeDataDigest(deviceRuntimeData(nonce, key), alg)).toHaveLength(length);
  });
});
