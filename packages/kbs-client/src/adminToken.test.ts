// Invariant: minted admin tokens verify with the matching public key under the algorithm the
// KBS derives from that key, and carry role, exp and the configured iss/aud.
import { generateKeyPairSync } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { generateAdminKeyPair, mintAdminToken, parseDuration } from './adminToken.ts';
import { KbsClientError } from './kbsClientError.ts';

const pemPair = (pair: { privateKey: import('node:crypto').KeyObject; publicKey: import('node:crypto').KeyObject }) => ({
  privateKeyPem: pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  publicKey: pair.publicKey,
});

describe('mintAdminToken', () => {
  it.each([
    ['Ed25519', 'EdDSA', () => pemPair(generateKeyPairSync('ed25519'))],
    ['P-256', 'ES256', () => pemPair(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }))],
    ['P-384', 'ES384', () => pemPair(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }))],
    ['RSA', 'RS256', () => pemPair(generateKeyPairSync('rsa', { modulusLength: 2048 }))],
  ])('%s → %s', async (_name, alg, make) => {
    const { privateKeyPem, publicKey } = make();
    const now = Date.parse('2026-08-21T10:00:00Z');
    const token = await mintAdminToken({ privateKeyPem, issuer: 'TrusteeInDocker', audience: ['KBS'], ttlSeconds: 600, now: () => now });
    expect(decodeProtectedHeader(token)).toEqual({ alg, typ: 'JWT' });
    const { payload } = await jwtVerify(token, publicKey, { algorithms: [alg], issuer: 'TrusteeInDocker', audience: 'KBS', currentDate: new Date(now) });
    expect(payload).toEqual({ role: 'admin', sub: 'admin', iss: 'TrusteeInDocker', aud: ['KBS'], iat: now / 1000, exp: now / 1000 + 600 });
  });

  it('a token does not verify with another key', async () => {
    const token = await mintAdminToken({ privateKeyPem: generateAdminKeyPair().privateKeyPem, role: 'reader' });
    const other = generateKeyPairSync('ed25519').publicKey;
    await expect(jwtVerify(token, other)).rejects.toThrow();
  });

  it.each([
    ['garbage', { privateKeyPem: 'x' }],
    ['an X25519 key', { privateKeyPem: generateKeyPairSync('x25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() }],
    ['a zero lifetime', { privateKeyPem: generateAdminKeyPair().privateKeyPem, ttlSeconds: 0 }],
  ])('refuses %s', async (_name, options) => {
    await expect(mintAdminToken(options)).rejects.toBeInstanceOf(KbsClientError);
  });
});

describe('parseDuration', () => {
  it.each([
    ['90', 90],
    ['90s', 90],
    ['15m', 900],
    ['1h', 3600],
    ['7d', 604800],
  ])('%s = %d s', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each(['', '0', '1w', '-1h', '1.5h', 'h'])('refuses %j', (text) => {
    expect(() => parseDuration(text)).toThrow(KbsClientError);
  });
});
