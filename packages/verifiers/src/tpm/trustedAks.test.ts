// Invariant: with `trusted_ak_keys_dir` the tpm verifier accepts only evidence whose AK is one of
// the `.pub` PEM public keys of that directory (at most `max_trusted_ak_keys` files, in name
// order), refusing any other AK with `tpm.ak_public.trusted` before the quote is looked at;
// files that are not public keys are skipped with a warning, an unreadable directory or a bad
// maximum fails at creation; without the directory every AK is left to the policy (upstream today).
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { createTestTpmEvidence } from '../testing/tpmFactory.ts';
import { failedChecks, rejection } from '../testing/verificationRejection.ts';
import type { Verifier } from '../verifier.ts';
import { akFingerprint, loadTrustedAks } from './trustedAks.ts';
import { tpmVerifierFromOptions } from './tpmVerifier.ts';

const context = { now: () => new Date('2030-01-01T00:00:00Z'), collateral: {} };
const nonce = Buffer.alloc(32, 7);
const expected = { reportData: nonce, initDataDigest: undefined };
const tmp = { path: mkdtempSync(join(tmpdir(), 'trusted-aks-')) };
afterAll(() => rmSync(tmp.path, { recursive: true, force: true }));

const rsa = (): { privateKey: KeyObject; publicKey: KeyObject } => generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = (key: KeyObject): string => key.export({ format: 'pem', type: 'spki' }) as string;

function keysDir(name: string, files: Record<string, string>): string {
  const dir = join(tmp.path, name);
  mkdirSync(dir);
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return dir;
}

async function verifies(verifier: Verifier, ak: { privateKey: KeyObject; publicKey: KeyObject }): Promise<void> {
  const [result] = await verifier.evaluate(createTestTpmEvidence({ reportData: nonce, ak }).evidence, expected, context);
  expect(result?.teeClass).toBe('cpu');
}

describe('tpm_verifier.trusted_ak_keys_dir', () => {
  const trusted = rsa();
  const other = rsa();

  test('an AK among the .pub keys verifies; any other AK is refused by name before its quote is checked', async () => {
    const warnings: string[] = [];
    const dir = keysDir('one', { 'ak.pub': pem(trusted.publicKey), 'other.pem': pem(other.publicKey) });
    const verifier = await tpmVerifierFromOptions({ trustedAkKeysDir: dir, warn: (m) => warnings.push(m) });
    await verifies(verifier, trusted);
    const error = await rejection(verifies(verifier, other));
    expect([error.code, failedChecks(error)]).toEqual(['verification_failed', ['tpm.ak_public.trusted']]);
    expect(error.failures[0]?.found).toBe(`sha256 ${akFingerprint(other.publicKey)}`);
    // a trusted AK whose quote is broken still fails on the quote
    const { evidence } = createTestTpmEvidence({ reportData: nonce, ak: trusted });
    const wrongNonce = await rejection(verifier.evaluate(evidence, { reportData: Buffer.alloc(32, 8), initDataDigest: undefined }, context));
    expect(failedChecks(wrongNonce)).toEqual(['tpm_quote.nonce']);
    expect(warnings).toEqual([`tpm verifier: 1 trusted AK key(s) from ${dir}; evidence with any other AK is refused`]);
  });

  test('without the directory every AK verifies (the policy decides, as upstream does today)', async () => {
    const verifier = await tpmVerifierFromOptions({ maxTrustedAkKeys: 1 });
    await verifies(verifier, other);
  });

  test('files that are not public keys are skipped with a warning; private keys are never read as trusted', async () => {
    const warnings: string[] = [];
    const dir = keysDir('mixed', {
      'a-garbage.pub': 'not a key',
      'b-private.pub': trusted.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
      'c-good.pub': pem(other.publicKey),
    });
    mkdirSync(join(dir, 'd-dir.pub'));
    const verifier = await tpmVerifierFromOptions({ trustedAkKeysDir: dir, warn: (m) => warnings.push(m) });
    await verifies(verifier, other);
    expect(failedChecks(await rejection(verifies(verifier, trusted)))).toEqual(['tpm.ak_public.trusted']);
    expect(warnings).toEqual([
      `tpm verifier: skipped trusted AK key ${join(dir, 'a-garbage.pub')}: not a PEM public key`,
      `tpm verifier: skipped trusted AK key ${join(dir, 'b-private.pub')}: holds a private key, not a public key`,
      `tpm verifier: 1 trusted AK key(s) from ${dir}; evidence with any other AK is refused`,
    ]);
  });

  test('max_trusted_ak_keys bounds the .pub files read, in name order; skipped files count', async () => {
    const dir = keysDir('many', { '1.pub': 'junk', '2.pub': pem(trusted.publicKey), '3.pub': pem(other.publicKey) });
    symlinkSync(join(dir, '3.pub'), join(dir, '4-link.pub'));
    expect((await loadTrustedAks(dir, 2)).files).toEqual([join(dir, '2.pub')]);
    const two = await tpmVerifierFromOptions({ trustedAkKeysDir: dir, maxTrustedAkKeys: 2 });
    await verifies(two, trusted);
    expect(failedChecks(await rejection(verifies(two, other)))).toEqual(['tpm.ak_public.trusted']);
    const all = await loadTrustedAks(dir);
    expect([all.fingerprints.size, all.files.length, all.skipped.length]).toEqual([2, 3, 1]);
  });

  test('an empty directory trusts no AK', async () => {
    const verifier = await tpmVerifierFromOptions({ trustedAkKeysDir: keysDir('empty', {}) });
    expect(failedChecks(await rejection(verifies(verifier, trusted)))).toEqual(['tpm.ak_public.trusted']);
  });

  test('an unreadable directory and a bad maximum fail at creation, naming them', async () => {
    await expect(tpmVerifierFromOptions({ trustedAkKeysDir: join(tmp.path, 'absent') })).rejects.toThrow(`cannot read the trusted AK keys directory ${join(tmp.path, 'absent')}: ENOENT`);
    for (const max of [0, -1, 1.5, 10_001, Number.NaN]) {
      await expect(tpmVerifierFromOptions({ trustedAkKeysDir: tmp.path, maxTrustedAkKeys: max })).rejects.toThrow(/max_trusted_ak_keys must be an integer from 1 to 10000/);
    }
  });
});
