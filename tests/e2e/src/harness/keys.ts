/**
 * Key material for the e2e configs, generated fresh per run: the Ed25519 admin key pair of
 * upstream's setup.sh, TEE key PEMs for `--tee-key-file`, and a CA + EC P-256 token-signer chain
 * for the `trusted_certs_paths` configuration (upstream trustee `kbs/src/token/mod.rs`,
 * `kbs/config/docker-compose/`).
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { generateKeyPairSync, webcrypto, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AdminKeys {
  readonly privateKey: KeyObject;
  readonly privateKeyPath: string;
  readonly publicKeyPath: string;
}

export function writeAdminKeys(dir: string, name = 'admin'): AdminKeys {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privateKeyPath = join(dir, `${name}-private.key`);
  const publicKeyPath = join(dir, `${name}-public.pub`);
  writeFileSync(privateKeyPath, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  writeFileSync(publicKeyPath, publicKey.export({ format: 'pem', type: 'spki' }));
  return { privateKey, privateKeyPath, publicKeyPath };
}

export interface SignerChain {
  /** EC P-256 PKCS#8 PEM of the token signer. */
  readonly keyPath: string;
  /** Leaf + CA, PEM. */
  readonly certChainPath: string;
  /** CA certificate only (what relying parties trust). */
  readonly caCertPath: string;
}

// The WebCrypto types x509 expects are DOM types that this Node-only project does not load.
type X509Crypto = Parameters<typeof x509.cryptoProvider.set>[0];
type X509KeyPair = x509.X509CertificateCreateSelfSignedParams['keys'];
type X509Key = x509.X509CertificateCreateWithKeyParams['signingKey'];

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

async function toPkcs8Pem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN PRIVATE KEY-----\n${lines.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

interface IssuedChain {
  readonly ca: x509.X509Certificate;
  readonly leaf: x509.X509Certificate;
  readonly leafPrivateKey: webcrypto.CryptoKey;
}

/**
 * A fresh EC P-256 CA (`CN=<name>-e2e-root`) and a leaf it issues, both valid from an hour ago
 * for 30 days; `leafExtensions` come after basic constraints and key usage.
 */
async function issueChain(name: string, serials: { ca: string; leaf: string }, subject: string, leafExtensions: x509.Extension[]): Promise<IssuedChain> {
  x509.cryptoProvider.set(webcrypto as unknown as X509Crypto);
  const caKeys = (await webcrypto.subtle.generateKey(ECDSA_P256, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const leafKeys = (await webcrypto.subtle.generateKey(ECDSA_P256, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const notBefore = new Date(now - 3600_000);
  const notAfter = new Date(now + 30 * 24 * 3600_000);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serials.ca,
    name: `CN=${name}-e2e-root`,
    notBefore,
    notAfter,
    keys: caKeys as unknown as X509KeyPair,
    signingAlgorithm: ECDSA_P256,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey as unknown as X509Key),
    ],
  });
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: serials.leaf,
    subject,
    issuer: ca.subject,
    notBefore,
    notAfter,
    publicKey: leafKeys.publicKey as unknown as X509Key,
    signingKey: caKeys.privateKey as unknown as X509Key,
    signingAlgorithm: ECDSA_P256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      ...leafExtensions,
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey as unknown as X509Key),
    ],
  });
  return { ca, leaf, leafPrivateKey: leafKeys.privateKey };
}

/** A CA and an EC P-256 token-signer certificate issued by it, written as PEM files. */
export async function writeSignerChain(dir: string, name = 'token'): Promise<SignerChain> {
  const { ca, leaf, leafPrivateKey } = await issueChain(name, { ca: '01', leaf: '02' }, 'CN=CoCo-AS', []);
  const keyPath = join(dir, `${name}.key`);
  const certChainPath = join(dir, `${name}-cert-chain.pem`);
  const caCertPath = join(dir, `${name}-ca-cert.pem`);
  writeFileSync(keyPath, await toPkcs8Pem(leafPrivateKey), { mode: 0o600 });
  writeFileSync(certChainPath, `${leaf.toString('pem')}\n${ca.toString('pem')}\n`);
  writeFileSync(caCertPath, `${ca.toString('pem')}\n`);
  return { keyPath, certChainPath, caCertPath };
}

export interface TlsServerCert {
  readonly keyPath: string;
  /** Leaf + CA chain, PEM (upstream `certificate`). */
  readonly certPath: string;
  readonly caCertPath: string;
}

/** A CA and an EC P-256 server certificate for 127.0.0.1 / localhost (upstream `[http_server]` TLS). */
export async function writeTlsServerCert(dir: string, name = 'tls'): Promise<TlsServerCert> {
  const { ca, leaf, leafPrivateKey } = await issueChain(name, { ca: '0a', leaf: '0b' }, 'CN=localhost', [
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    new x509.SubjectAlternativeNameExtension([
      { type: 'ip', value: '127.0.0.1' },
      { type: 'dns', value: 'localhost' },
    ]),
  ]);
  const keyPath = join(dir, `${name}.key`);
  const certPath = join(dir, `${name}-cert.pem`);
  const caCertPath = join(dir, `${name}-ca.pem`);
  writeFileSync(keyPath, await toPkcs8Pem(leafPrivateKey), { mode: 0o600 });
  writeFileSync(certPath, `${leaf.toString('pem')}\n${ca.toString('pem')}\n`);
  writeFileSync(caCertPath, `${ca.toString('pem')}\n`);
  return { keyPath, certPath, caCertPath };
}
