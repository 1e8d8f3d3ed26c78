/**
 * The certificates of a PEM file a config names (the AS token signer's `cert_path`, the KBS's
 * `attestation_token.trusted_certs_paths`), in file order; a block that is not X.509 is a config error.
 */
import { X509Certificate } from 'node:crypto';
import { ConfigError } from './configError.ts';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g;

export function parsePemCertificates(text: string): X509Certificate[] {
  const certificates: X509Certificate[] = [];
  for (const match of text.matchAll(PEM_CERTIFICATE)) {
    const der = Buffer.from((match[1] ?? '').replace(/\s+/g, ''), 'base64');
    try {
      certificates.push(new X509Certificate(der));
    } catch {
      throw new ConfigError('a PEM CERTIFICATE block is not a valid X.509 certificate');
    }
  }
  return certificates;
}
