/**
 * `pnpm start` (`--dev`): a working KBS with no config file. On first start it creates, under
 * `./data/`:
 *   keys/admin-key.pem, keys/admin-key.pub   Ed25519 admin keypair
 *   keys/admin-token                         EdDSA JWT {role: "admin"}, valid 10 years
 *   keys/token-signer.key                    P-256 key signing the EAR attestation tokens
 *   keys/token-signer-cert.pem               that key's certificate and the dev CA that issued
 *                                            it (the KBS trusts this file through
 *                                            trusted_certs_paths, so no insecure_header_jwk)
 *   kbs-config.toml                          the upstream-format config used (edit freely)
 *   kbs.sqlite                               all state (policies, resources, sessions, RVs)
 * Later starts reuse everything, so tokens and the admin token survive restarts.
 */
// @peculiar/x509 needs the Reflect metadata polyfill loaded before it.
import 'reflect-metadata';
import { createPrivateKey, generateKeyPairSync, webcrypto, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as x509 from '@peculiar/x509';
import { SignJWT } from 'jose';

export const DEV_ADMIN_ISSUER = 'trustee-ts-dev';
const TEN_YEARS_S = 10 * 365 * 24 * 3600;

export interface DevPaths {
  readonly dataDir: string;
  readonly configFile: string;
  readonly adminPrivateKey: string;
  readonly adminPublicKey: string;
  readonly adminToken: string;
  readonly tokenSignerKey: string;
  readonly tokenSignerCert: string;
  readonly database: string;
}

export function devPaths(dataDir: string): DevPaths {
  const root = resolve(dataDir);
  const keys = join(root, 'keys');
  return {
    dataDir: root,
    configFile: join(root, 'kbs-config.toml'),
    adminPrivateKey: join(keys, 'admin-key.pem'),
    adminPublicKey: join(keys, 'admin-key.pub'),
    adminToken: join(keys, 'admin-token'),
    tokenSignerKey: join(keys, 'token-signer.key'),
    tokenSignerCert: join(keys, 'token-signer-cert.pem'),
    database: join(root, 'kbs.sqlite'),
  };
}

async function writeSecret(path: string, content: string): Promise<void> {
  await writeFile(path, content, { mode: 0o600, flag: 'wx' });
  await chmod(path, 0o600);
}

async function ensureAdminKeys(paths: DevPaths): Promise<void> {
  if (!existsSync(paths.adminPrivateKey)) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    await writeSecret(paths.adminPrivateKey, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    await writeFile(paths.adminPublicKey, publicKey.export({ type: 'spki', format: 'pem' }) as string);
  }
  if (!existsSync(paths.adminToken)) {
    const privateKey = createPrivateKey(await readFile(paths.adminPrivateKey, 'utf8'));
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
      .setIssuer(DEV_ADMIN_ISSUER)
      .setSubject('admin')
      .setAudience(['KBS'])
      .setIssuedAt(now)
      .setExpirationTime(now + TEN_YEARS_S)
      .sign(privateKey);
    await writeSecret(paths.adminToken, `${token}\n`);
  }
}

/**
 * A dev CA and the token-signer certificate it issues (CA:FALSE, digitalSignature): the KBS
 * accepts tokens only from an end-entity key that may sign, never from a CA or a root itself.
 * The cert file holds leaf then CA, so the AS sends the whole chain in x5c and the KBS trusts the
 * same file. A signer from an older dev setup (a self-signed CA used as leaf) is replaced.
 */
async function ensureTokenSigner(paths: DevPaths): Promise<void> {
  if (existsSync(paths.tokenSignerKey) && existsSync(paths.tokenSignerCert) && !isLegacySigner(await readFile(paths.tokenSignerCert, 'utf8'))) return;
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const caKeys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const now = new Date();
  const validity = { notBefore: new Date(now.getTime() - 60_000), notAfter: new Date(now.getTime() + TEN_YEARS_S * 1000) };
  const serial = (): string => Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1');
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=trustee-ts dev attestation token CA',
    ...validity,
    keys: caKeys,
    signingAlgorithm: algorithm,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
  });
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: 'CN=trustee-ts dev attestation token signer',
    issuer: ca.subject,
    ...validity,
    publicKey: keys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: algorithm,
    extensions: [new x509.BasicConstraintsExtension(false, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const pem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
  await writeFile(paths.tokenSignerKey, pem, { mode: 0o600 });
  await writeFile(paths.tokenSignerCert, `${cert.toString('pem')}\n${ca.toString('pem')}\n`);
}

/** The first certificate of the file is a CA: the self-signed signer older dev setups wrote. */
function isLegacySigner(pem: string): boolean {
  const first = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/.exec(pem)?.[0];
  if (first === undefined) return true;
  try {
    return new X509Certificate(first).ca;
  } catch {
    return true;
  }
}

/** The dev config, in upstream's format (TOML string values are JSON-compatible strings). */
export function devConfigToml(paths: DevPaths, socket = '127.0.0.1:8080'): string {
  const q = (value: string): string => JSON.stringify(value);
  return `# trustee-ts development KBS (written by \`pnpm start\`; edit freely, it is only created when missing).
# Upstream-format KBS config: \`pnpm kbs --config-file ${paths.configFile}\` runs the same KBS.

[http_server]
sockets = [${q(socket)}]
insecure_http = true

[attestation_token]
# Tokens are re-verified on every resource request; trust the dev AS signer certificate.
trusted_certs_paths = [${q(paths.tokenSignerCert)}]

[attestation_service]
type = "coco_as_builtin"
timeout = 5

[attestation_service.attestation_token_broker]
duration_min = 5

[attestation_service.attestation_token_broker.signer]
key_path = ${q(paths.tokenSignerKey)}
cert_path = ${q(paths.tokenSignerCert)}

[attestation_service.rvps_config]
type = "BuiltIn"

[admin]
authorization_mode = "AuthenticatedAuthorization"

[admin.authentication.bearer_jwt]
identity_providers = [{ issuer = ${q(DEV_ADMIN_ISSUER)}, public_key_uri = ${q(paths.adminPublicKey)} }]

[admin.authorization.regex_acl]
acls = [{ role = "admin", allowed_endpoints = "^/kbs/.+$" }]

[storage_backend]
storage_type = "Sqlite"

[storage_backend.backends.sqlite]
path = ${q(paths.database)}

[[plugins]]
name = "resource"
storage_backend_type = "kvstorage"
`;
}

/** Creates whatever is missing under `dataDir` and returns the paths (config file included). */
export async function prepareDevEnvironment(dataDir: string): Promise<DevPaths> {
  const paths = devPaths(dataDir);
  await mkdir(join(paths.dataDir, 'keys'), { recursive: true, mode: 0o700 });
  await ensureAdminKeys(paths);
  await ensureTokenSigner(paths);
  if (!existsSync(paths.configFile)) await writeFile(paths.configFile, devConfigToml(paths));
  return paths;
}
