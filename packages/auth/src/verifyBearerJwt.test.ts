/**
 * Invariant: a bearer JWT verifies only against a configured key source with that key type's
 * algorithms, only while unexpired (exp required, 60 s leeway) and not issued or valid only in the
 * future (iat, nbf: same leeway), and only with the configured
 * issuer/audience; the first accepting source wins.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { exportJWK, SignJWT } from 'jose';
import { describe, expect, test } from 'vitest';
import { jwkSetSource, jwsAlgorithmsFor, publicKeySource, verifyBearerJwt } from './verifyBearerJwt.ts';

const NOW_S = 1_800_000_000;
const currentDate = new Date(NOW_S * 1000);
const ed = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');

async function sign(key: KeyObject, claims: Record<string, unknown>, exp: number | null = NOW_S + 600, header: Record<string, string> = {}): Promise<string> {
  const jwt = new SignJWT({ role: 'admin', ...claims }).setProtectedHeader({ alg: 'EdDSA', ...header });
  if (exp !== null) jwt.setExpirationTime(exp);
  return jwt.sign(key);
}

describe('verifyBearerJwt', () => {
  test.each<[string, () => Promise<string>, { issuer?: string; audience?: string }, boolean]>([
    ['valid', () => sign(ed.privateKey, {}), {}, true],
    ['foreign key', () => sign(other.privateKey, {}), {}, false],
    ['missing exp', () => sign(ed.privateKey, {}, null), {}, false],
    ['expired beyond the leeway', () => sign(ed.privateKey, {}, NOW_S - 61), {}, false],
    ['expired within the leeway', () => sign(ed.privateKey, {}, NOW_S - 59), {}, true],
    ['issuer matches', () => sign(ed.privateKey, { iss: 'idp' }), { issuer: 'idp' }, true],
    ['issuer differs', () => sign(ed.privateKey, { iss: 'other' }), { issuer: 'idp' }, false],
    ['issuer missing', () => sign(ed.privateKey, {}), { issuer: 'idp' }, false],
    ['audience in a list', () => sign(ed.privateKey, { aud: ['x', 'kbs'] }), { audience: 'kbs' }, true],
    ['audience differs', () => sign(ed.privateKey, { aud: 'rvps' }), { audience: 'kbs' }, false],
    ['not a JWT', async () => 'garbage', {}, false],
    ['iat one hour in the future', () => sign(ed.privateKey, { iat: NOW_S + 3600 }, NOW_S + 7200), {}, false],
    ['iat beyond the leeway', () => sign(ed.privateKey, { iat: NOW_S + 61 }), {}, false],
    ['iat within the leeway', () => sign(ed.privateKey, { iat: NOW_S + 59 }), {}, true],
    ['iat not a number', () => sign(ed.privateKey, { iat: 'soon' }), {}, false],
    ['nbf beyond the leeway', () => sign(ed.privateKey, { nbf: NOW_S + 61 }), {}, false],
  ])('%s', async (_name, make, constraints, accepted) => {
    const claims = await verifyBearerJwt(await make(), [publicKeySource(ed.publicKey)], { ...constraints, currentDate });
    expect(claims?.['role']).toBe(accepted ? 'admin' : undefined);
  });

  test('the next source is tried; a JWK set selects by kid', async () => {
    const jwk = { ...(await exportJWK(ed.publicKey)), kid: 'k1', alg: 'EdDSA' };
    const sources = [publicKeySource(other.publicKey), jwkSetSource({ keys: [jwk] })];
    expect(await verifyBearerJwt(await sign(ed.privateKey, {}, NOW_S + 60, { kid: 'k1' }), sources, { currentDate })).toBeDefined();
    expect(await verifyBearerJwt(await sign(ed.privateKey, {}, NOW_S + 60, { kid: 'k2' }), sources, { currentDate })).toBeUndefined();
  });

  test('alg confusion: HS256 keyed with the PEM text is refused', async () => {
    const pem = ed.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const forged = await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(NOW_S + 60).sign(new TextEncoder().encode(pem));
    expect(await verifyBearerJwt(forged, [publicKeySource(ed.publicKey)], { currentDate })).toBeUndefined();
  });

  test.each([
    ['P-256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey, ['ES256']],
    ['secp256k1', () => generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey, []],
    ['x25519', () => generateKeyPairSync('x25519').publicKey, []],
  ])('algorithms for %s', (_name, key, algorithms) => {
    expect(jwsAlgorithmsFor(key())).toEqual(algorithms);
  });
});
