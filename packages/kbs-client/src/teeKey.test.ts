// Invariant: TEE keys load from the PEM forms upstream accepts and always export exactly the
// kbs-types tee-pubkey members; unusable keys are refused as usage errors.
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseTeePubKey } from '@trustee/protocol';
import { KbsClientError } from './kbsClientError.ts';
import { generateTeeKey, loadTeeKey, TEE_KEY_ALGORITHMS } from './teeKey.ts';

describe('TEE keys', () => {
  it.each(TEE_KEY_ALGORITHMS)('generates %s', (algorithm) => {
    const key = generateTeeKey(algorithm);
    expect(parseTeePubKey(key.publicJwk)).toEqual(key.publicJwk);
    expect(key.publicJwk.alg).toBe(algorithm === 'RSA-OAEP-256' ? 'RSA-OAEP-256' : 'ECDH-ES+A256KW');
  });

  it('defaults to P-256', () => {
    expect(generateTeeKey().publicJwk).toMatchObject({ kty: 'EC', crv: 'P-256' });
  });

  it('loads an RSA PKCS#1 PEM as RSA-OAEP-256', () => {
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs1' }).toString();
    expect(pem).toContain('BEGIN RSA PRIVATE KEY');
    expect(loadTeeKey(pem).publicJwk).toMatchObject({ kty: 'RSA', alg: 'RSA-OAEP-256', e: 'AQAB' });
  });

  it.each([
    ['prime256v1', 'P-256'],
    ['secp521r1', 'P-521'],
  ])('loads an EC %s PKCS#8 PEM', (namedCurve, crv) => {
    const pem = generateKeyPairSync('ec', { namedCurve }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(loadTeeKey(pem).publicJwk).toMatchObject({ kty: 'EC', crv, alg: 'ECDH-ES+A256KW' });
  });

  it.each([
    ['garbage', 'not a pem'],
    ['a public key', generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'pem', type: 'spki' }).toString()],
    ['an EC P-384 key', generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()],
    ['an Ed25519 key', generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()],
  ])('refuses %s', (_name, pem) => {
    expect(() => loadTeeKey(pem)).toThrow(KbsClientError);
  });
});
