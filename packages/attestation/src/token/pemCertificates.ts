/** PEM certificate files (token signer `cert_path`, the KBS's `trusted_certs_paths`), without loading the signer. */
import { X509Certificate } from 'node:crypto';
import { AttestationError } from '../attestationError.ts';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g;

export function parsePemCertificates(text: string): X509Certificate[] {
  const certificates: X509Certificate[] = [];
  for (const match of text.matchAll(PEM_CERTIFICATE)) {
    const der = Buffer.from((match[1] ?? '').replace(/\s+/g, ''), 'base64');
    try {
      certificates.push(new X509Certificate(der));
    } catch {
      throw new AttestationError('invalid_config', 'a PEM CERTIFICATE block is not a valid X.509 certificate');
    }
  }
  return certificates;
}
