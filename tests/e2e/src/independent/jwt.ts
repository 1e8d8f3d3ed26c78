/**
 * Hand-built ES256 JWTs for the token-verification negative tests: the same shape as the AS's
 * EAR tokens (header `jwk` with `alg` and optional `x5c`), signed with node:crypto.
 */
import { createPublicKey, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { b64urlEncode } from './base64.ts';

export function es256HeaderJwk(privateKey: KeyObject, x5c?: readonly string[]): Record<string, unknown> {
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const out: Record<string, unknown> = { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, alg: 'ES256' };
  if (x5c !== undefined) out.x5c = [...x5c];
  return out;
}

export function signEs256Jwt(header: Record<string, unknown>, payload: Record<string, unknown>, privateKey: KeyObject): string {
  const signingInput = `${b64urlEncode(Buffer.from(JSON.stringify(header)))}.${b64urlEncode(Buffer.from(JSON.stringify(payload)))}`;
  const signature = sign('sha256', Buffer.from(signingInput, 'ascii'), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${signingInput}.${b64urlEncode(signature)}`;
}

/** Standard-base64 DER of each certificate in a PEM bundle, in order (the `x5c` form). */
export function x5cFromPem(pem: string): string[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new X509Certificate(block).raw.toString('base64'));
}
