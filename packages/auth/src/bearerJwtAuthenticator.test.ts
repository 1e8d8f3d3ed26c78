/**
 * Invariant: an admin token is accepted only when signed by a configured key (PEM EdDSA,
 * ES256, RS256, or a JWKS entry by kid), unexpired (60 s leeway, exp required), and matching
 * the provider's issuer/audience; providers are tried in order.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { exportJWK, SignJWT } from 'jose';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { BearerJwtAuthenticator } from './bearerJwtAuthenticator.ts';

const dir = mkdtempSync(join(tmpdir(), 'auth-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
function writeTempFile(name: string, content: string): string {
  const path = join(dir, `${files++}-${name}`);
  writeFileSync(path, content);
  return path;
}

const NOW = 1_800_000_000_000;
const pem = (key: KeyObject): string => key.export({ type: 'spki', format: 'pem' }) as string;

async function token(key: KeyObject, alg: string, claims: Record<string, unknown> = {}, options: { exp?: number | null; kid?: string } = {}): Promise<string> {
  const jwt = new SignJWT({ role: 'admin', ...claims }).setProtectedHeader({ alg, ...(options.kid === undefined ? {} : { kid: options.kid }) }).setIssuedAt(NOW / 1000);
  if (options.exp !== null) jwt.setExpirationTime(options.exp ?? NOW / 1000 + 600);
  return jwt.sign(key);
}

test.each([
  ['EdDSA', () => generateKeyPairSync('ed25519')],
  ['ES256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' })],
  ['RS256', () => generateKeyPairSync('rsa', { modulusLength: 2048 })],
])('%s PEM public key from a path and a file:// URL', async (alg, generate) => {
  const { privateKey, publicKey } = generate();
  const path = writeTempFile('admin.pub', pem(publicKey));
  for (const uri of [path, pathToFileURL(path).href]) {
    const auth = await BearerJwtAuthenticator.create([{ publicKeyUri: uri }], () => NOW);
    expect((await auth.verify(await token(privateKey, alg)))?.['role']).toBe('admin');
  }
});

test('rejects a foreign key, a missing exp, an expired token, and honours the 60 s leeway', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const auth = await BearerJwtAuthenticator.create([{ publicKeyUri: writeTempFile('k.pub', pem(publicKey)) }], () => NOW);
  expect(await auth.verify(await token(generateKeyPairSync('ed25519').privateKey, 'EdDSA'))).toBeUndefined();
  expect(await auth.verify(await token(privateKey, 'EdDSA', {}, { exp: null }))).toBeUndefined();
  expect(await auth.verify(await token(privateKey, 'EdDSA', {}, { exp: NOW / 1000 - 61 }))).toBeUndefined();
  expect(await auth.verify(await token(privateKey, 'EdDSA', {}, { exp: NOW / 1000 - 59 }))).toBeDefined();
  expect(await auth.verify('garbage')).toBeUndefined();
});

test('alg confusion: an HS256 token keyed with the PEM text is refused', async () => {
  const { publicKey } = generateKeyPairSync('ed25519');
  const auth = await BearerJwtAuthenticator.create([{ publicKeyUri: writeTempFile('k.pub', pem(publicKey)) }], () => NOW);
  const forged = await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(NOW / 1000 + 60).sign(new TextEncoder().encode(pem(publicKey)));
  expect(await auth.verify(forged)).toBeUndefined();
});

test('issuer and audience constraints; the next provider is tried on mismatch', async () => {
  const a = generateKeyPairSync('ed25519');
  const b = generateKeyPairSync('ed25519');
  const auth = await BearerJwtAuthenticator.create(
    [
      { issuer: 'issuer-a', audience: 'kbs', publicKeyUri: writeTempFile('a.pub', pem(a.publicKey)) },
      { issuer: 'issuer-b', publicKeyUri: writeTempFile('b.pub', pem(b.publicKey)) },
    ],
    () => NOW,
  );
  expect(await auth.verify(await token(a.privateKey, 'EdDSA', { iss: 'issuer-a', aud: ['x', 'kbs'] }))).toBeDefined();
  expect(await auth.verify(await token(a.privateKey, 'EdDSA', { iss: 'issuer-a', aud: 'other' }))).toBeUndefined();
  expect(await auth.verify(await token(a.privateKey, 'EdDSA', { iss: 'issuer-b', aud: 'kbs' }))).toBeUndefined();
  expect(await auth.verify(await token(b.privateKey, 'EdDSA', { iss: 'issuer-b' }))).toBeDefined();
});

test('JWK set file: key chosen by kid', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'admin-1', alg: 'ES256' };
  const auth = await BearerJwtAuthenticator.create([{ jwkSetUri: writeTempFile('jwks.json', JSON.stringify({ keys: [jwk] })) }], () => NOW);
  expect(await auth.verify(await token(privateKey, 'ES256', {}, { kid: 'admin-1' }))).toBeDefined();
  expect(await auth.verify(await token(privateKey, 'ES256', {}, { kid: 'other' }))).toBeUndefined();
});

test('bad key sources fail at startup', async () => {
  await expect(BearerJwtAuthenticator.create([{ publicKeyUri: writeTempFile('bad.pub', 'not a key') }])).rejects.toThrow('not a PEM EC, RSA or Ed25519 public key');
  await expect(BearerJwtAuthenticator.create([{ publicKeyUri: 'ftp://example/key' }])).rejects.toThrow('unsupported URI scheme');
  await expect(BearerJwtAuthenticator.create([{ jwkSetUri: writeTempFile('x.json', '{"no":"keys"}') }])).rejects.toThrow('not a JWK set');
});
