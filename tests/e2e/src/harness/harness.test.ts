/**
 * Invariant: the e2e harness's generated key material is what the configs claim it is — the
 * signer chain verifies (leaf issued by the CA, leaf key = signer key) and the admin key pair
 * is Ed25519 in the PEM forms upstream's setup.sh produces.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { certChainTrust, kbsConfigToml, postgresStorage } from './configs.ts';
import { writeAdminKeys, writeSignerChain } from './keys.ts';
import { makeTempDir, removeTempDir } from './tempDir.ts';
import { parse } from 'smol-toml';

const dir = makeTempDir();
afterAll(() => removeTempDir(dir));

describe('e2e key material', () => {
  it('writes a CA-issued EC P-256 token signer chain', async () => {
    const chain = await writeSignerChain(dir);
    const pem = readFileSync(chain.certChainPath, 'utf8');
    const [leafPem, caPem] = pem.split(/(?<=-----END CERTIFICATE-----)\n+/).filter((p) => p.includes('BEGIN'));
    const leaf = new X509Certificate(leafPem ?? '');
    const ca = new X509Certificate(caPem ?? '');
    expect(new X509Certificate(readFileSync(chain.caCertPath)).fingerprint256).toBe(ca.fingerprint256);
    expect(ca.ca).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    const signer = createPrivateKey(readFileSync(chain.keyPath));
    expect(signer.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(createPublicKey(signer).export({ format: 'jwk' })).toEqual(leaf.publicKey.export({ format: 'jwk' }));
  });

  it('writes an Ed25519 admin key pair as PKCS#8 / SPKI PEM', () => {
    const keys = writeAdminKeys(dir);
    expect(readFileSync(keys.publicKeyPath, 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(createPublicKey(readFileSync(keys.publicKeyPath)).asymmetricKeyType).toBe('ed25519');
  });

  it('renders configs that parse as TOML with the upstream table layout', () => {
    const toml = parse(
      kbsConfigToml({
        adminPublicKeyPath: '/x/admin.pub',
        storage: { kind: 'Sqlite', path: '/x/db.sqlite' },
        tokenTrust: { kind: 'cert-chain', signerKeyPath: '/x/k', signerCertChainPath: '/x/c', caCertPath: '/x/ca' },
        sessionTimeoutMinutes: 1,
      }),
    ) as Record<string, Record<string, unknown>>;
    expect(toml.http_server?.sockets).toEqual(['127.0.0.1:0']);
    expect(toml.attestation_token?.trusted_certs_paths).toEqual(['/x/ca']);
    expect(toml.admin?.authorization_mode).toBe('AuthenticatedAuthorization');
    expect(toml.storage_backend?.storage_type).toBe('Sqlite');
    expect(toml.attestation_service?.timeout).toBe(1);
  });

  it('renders the compose topology\'s remote AS section in place of the builtin AS', () => {
    const toml = parse(
      kbsConfigToml({
        adminPublicKeyPath: '/x/admin.pub',
        storage: postgresStorage({ url: 'postgres://kbs@db.internal:6543/ignored', name: 'kbs_db' }),
        tokenTrust: certChainTrust({ keyPath: '/x/k', certChainPath: '/x/c', caCertPath: '/x/ca' }),
        grpcAttestationService: { asAddr: 'http://as:50004', poolSize: 8 },
      }),
    ) as Record<string, Record<string, unknown>>;
    expect(toml.attestation_service).toEqual({ type: 'coco_as_grpc', as_addr: 'http://as:50004', pool_size: 8 });
    expect(toml.attestation_token?.trusted_certs_paths).toEqual(['/x/ca']);
    expect((toml.storage_backend?.backends as Record<string, unknown>)['postgres']).toEqual({ host: 'db.internal', port: 6543, db: 'kbs_db', username: 'kbs' });
  });
});
