/**
 * Invariant: the admin gate accepts only `Bearer` JWTs signed by the configured key (PEM or JWK
 * set) with a live `exp` and the configured `iss`/`aud`; `alg: none`, HMAC with the public key
 * as secret, foreign keys and malformed headers are all UNAUTHENTICATED, and without admin
 * config everything is PERMISSION_DENIED.
 */
import { createSecretKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, test } from 'vitest';
import { createAdminGate } from './adminAuth.ts';
import { ConfigError } from './config.ts';
import { RvpsError } from './errors.ts';

const now = new Date('2026-06-01T00:00:00Z');
const iat = Math.floor(now.getTime() / 1000);
const dir = mkdtempSync(join(tmpdir(), 'rvps-gate-'));
const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const ed = generateKeyPairSync('ed25519');
const pemPath = join(dir, 'admin.pem');
writeFileSync(pemPath, ec.publicKey.export({ type: 'spki', format: 'pem' }));
const jwksPath = join(dir, 'jwks.json');

async function outcome(promise: Promise<void>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    expect(error).toBeInstanceOf(RvpsError);
    return (error as RvpsError).code;
  }
}

function es384(claims: Record<string, unknown> = {}, exp = iat + 300): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES384' }).setIssuedAt(iat).setExpirationTime(exp).sign(ec.privateKey);
}

describe('createAdminGate', () => {
  test('no admin config → permission_denied whatever the header', async () => {
    const gate = await createAdminGate(undefined, () => now);
    expect(await outcome(gate.authorize(undefined))).toBe('permission_denied');
    expect(await outcome(gate.authorize(`Bearer ${await es384()}`))).toBe('permission_denied');
  });

  test('PEM key with issuer and audience', async () => {
    const gate = await createAdminGate({ identityProviders: [{ publicKeyUri: pemPath, issuer: 'ops', audience: 'rvps' }], protectRegister: false }, () => now);
    const good = await es384({ iss: 'ops', aud: ['other', 'rvps'] });
    const publicPem = ec.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const cases: Array<[string, string | undefined, string]> = [
      ['valid', `Bearer ${good}`, 'ok'],
      ['lower-case scheme', `bearer ${good}`, 'ok'],
      ['no header', undefined, 'unauthenticated'],
      ['Basic scheme', 'Basic YTpi', 'unauthenticated'],
      ['token without Bearer', good, 'unauthenticated'],
      ['wrong issuer', `Bearer ${await es384({ iss: 'dev', aud: 'rvps' })}`, 'unauthenticated'],
      ['wrong audience', `Bearer ${await es384({ iss: 'ops', aud: 'kbs' })}`, 'unauthenticated'],
      ['expired beyond leeway', `Bearer ${await es384({ iss: 'ops', aud: 'rvps' }, iat - 61)}`, 'unauthenticated'],
      ['no exp', `Bearer ${await new SignJWT({ iss: 'ops', aud: 'rvps' }).setProtectedHeader({ alg: 'ES384' }).sign(ec.privateKey)}`, 'unauthenticated'],
      ['alg none', `Bearer ${new UnsecuredJWT({ iss: 'ops', aud: 'rvps' }).setExpirationTime(iat + 300).encode()}`, 'unauthenticated'],
      [
        'HS256 keyed with the public key',
        `Bearer ${await new SignJWT({ iss: 'ops', aud: 'rvps' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(iat + 300).sign(createSecretKey(Buffer.from(publicPem)))}`,
        'unauthenticated',
      ],
      [
        'another EC key',
        `Bearer ${await new SignJWT({ iss: 'ops', aud: 'rvps' }).setProtectedHeader({ alg: 'ES384' }).setExpirationTime(iat + 300).sign(generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey)}`,
        'unauthenticated',
      ],
    ];
    for (const [name, header, expected] of cases) expect([name, await outcome(gate.authorize(header))]).toEqual([name, expected]);
  });

  test('JWK set file (Ed25519) next to a PEM key', async () => {
    writeFileSync(jwksPath, JSON.stringify({ keys: [{ ...(await exportJWK(ed.publicKey)), alg: 'EdDSA', kid: 'ops-1' }] }));
    const gate = await createAdminGate({ identityProviders: [{ publicKeyUri: pemPath }, { jwkSetUri: jwksPath }], protectRegister: false }, () => now);
    const edToken = await new SignJWT({}).setProtectedHeader({ alg: 'EdDSA', kid: 'ops-1' }).setExpirationTime(iat + 300).sign(ed.privateKey);
    expect(await outcome(gate.authorize(`Bearer ${edToken}`))).toBe('ok');
    expect(await outcome(gate.authorize(`Bearer ${await es384()}`))).toBe('ok');
  });

  test.each<[string, () => void, string]>([
    ['missing PEM file', () => undefined, 'not readable'],
    ['JWKS that is not a key set', () => writeFileSync(join(dir, 'bad.json'), '{"kty":"EC"}'), 'not a JWK set'],
  ])('startup fails on %s', async (name, prepare, message) => {
    prepare();
    const config = name === 'missing PEM file' ? { identityProviders: [{ publicKeyUri: join(dir, 'absent.pem') }], protectRegister: false } : { identityProviders: [{ jwkSetUri: join(dir, 'bad.json') }], protectRegister: false };
    await expect(createAdminGate(config)).rejects.toThrow(ConfigError);
    await expect(createAdminGate(config)).rejects.toThrow(message);
  });
});
