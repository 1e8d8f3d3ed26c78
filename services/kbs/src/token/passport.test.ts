/**
 * Invariant: a token issued by our AS with `signer.key_path` + `signer.cert_path` carries the
 * chain as x5c (standard base64 DER, file order) and is accepted by a resource KBS that trusts
 * only the CA (passport mode); the TEE key comes back out of the EAR.
 */
import 'reflect-metadata';
import { createHash, webcrypto } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { decodeProtectedHeader } from 'jose';
import { describe, expect, test } from 'vitest';
import { canonicalJson } from '@trustee/protocol';
import { MemoryStore } from '@trustee/storage';
import { createAttestationService, parseAttestationServiceConfig } from '@trustee/attestation';
import { createTokenVerifier } from './tokenVerifier.ts';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const NOW = new Date('2026-06-01T12:00:00Z');
const DAY = 24 * 3600 * 1000;

describe('passport mode', () => {
  test('AS token with x5c verifies against the CA only', async () => {
    const subtle = webcrypto.subtle;
    const caKeys = (await subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const signerKeys = (await subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const validity = { notBefore: new Date(NOW.getTime() - DAY), notAfter: new Date(NOW.getTime() + 30 * DAY) };
    const caCert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '01',
      name: 'CN=Passport CA',
      ...validity,
      signingAlgorithm: EC,
      keys: caKeys,
      extensions: [new x509.BasicConstraintsExtension(true, 1, true)],
    });
    const signerCert = await x509.X509CertificateGenerator.create({
      serialNumber: '02',
      subject: 'CN=AS token signer',
      issuer: caCert.subject,
      ...validity,
      signingAlgorithm: EC,
      publicKey: signerKeys.publicKey,
      signingKey: caKeys.privateKey,
    });
    const dir = mkdtempSync(join(tmpdir(), 'passport-'));
    const pkcs8 = Buffer.from(await subtle.exportKey('pkcs8', signerKeys.privateKey)).toString('base64');
    writeFileSync(join(dir, 'key.pem'), `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`);
    writeFileSync(join(dir, 'chain.pem'), `${signerCert.toString('pem')}\n${caCert.toString('pem')}\n`);
    writeFileSync(join(dir, 'ca.pem'), caCert.toString('pem'));

    const as = await createAttestationService({
      store: new MemoryStore(),
      now: () => NOW,
      config: parseAttestationServiceConfig(
        { attestation_token_broker: { signer: { key_path: join(dir, 'key.pem'), cert_path: join(dir, 'chain.pem') } } },
        'attestation_service',
      ),
    });
    const teePubKey = { kty: 'EC', crv: 'P-256', alg: 'ECDH-ES+A256KW', x: 'MyEA8JflciQDoTER9UFwvkr1BaP56PzedZYNtyW8oQA', y: '1GzNpTak771xa6oK8SGe1jxnbXaQcf9890L0qxfvKjs' };
    const runtimeData = { 'tee-pubkey': teePubKey, nonce: 'n', 'additional-evidence': '' };
    const reportData = createHash('sha384').update(canonicalJson(runtimeData)).digest('base64');
    const token = await as.evaluate([{ tee: 'sample', evidence: { svn: '1', report_data: reportData }, runtimeData: { structured: runtimeData } }], ['default']);

    const x5c = (decodeProtectedHeader(token).jwk as { x5c?: string[] }).x5c;
    expect(x5c).toEqual([Buffer.from(signerCert.rawData).toString('base64'), Buffer.from(caCert.rawData).toString('base64')]);

    const resourceKbs = await createTokenVerifier({ trustedCertsPaths: [join(dir, 'ca.pem')], trustedJwkSets: [], extraTeekeyPaths: [], insecureHeaderJwk: false }, { now: () => NOW });
    const claims = await resourceKbs.verify(token);
    expect(resourceKbs.extractTeePubKey(claims)).toEqual(teePubKey);

    const later = await createTokenVerifier({ trustedCertsPaths: [join(dir, 'ca.pem')], trustedJwkSets: [], extraTeekeyPaths: [], insecureHeaderJwk: false }, { now: () => new Date(NOW.getTime() + 7 * 60 * 1000) });
    await expect(later.verify(token)).rejects.toThrow('token expired');
  });
});
