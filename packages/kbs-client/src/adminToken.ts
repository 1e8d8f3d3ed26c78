/**
 * Admin bearer tokens for `[admin] authorization_mode = "AuthenticatedAuthorization"` (upstream
 * trustee `kbs/docs/admin.md`): a JWT with `role` and `exp`, signed by a key one of the KBS
 * identity providers trusts. Upstream leaves minting to openssl scripts; this does it with jose.
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { KbsClientError } from './kbsClientError.ts';

export interface AdminTokenOptions {
  /** PEM private key: Ed25519 (EdDSA), EC P-256/P-384/P-521 (ES256/384/512) or RSA (RS256). */
  readonly privateKeyPem: string;
  readonly role?: string;
  readonly issuer?: string;
  readonly audience?: string | readonly string[];
  readonly subject?: string;
  readonly ttlSeconds?: number;
  readonly now?: () => number;
}

const EC_ALGORITHMS: Readonly<Record<string, string>> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };

/** The JWS `alg` the KBS expects for a signing key. */
export function jwsAlgorithmFor(key: KeyObject): string {
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return 'EdDSA';
    case 'rsa':
      return 'RS256';
    case 'ec': {
      const alg = EC_ALGORITHMS[key.asymmetricKeyDetails?.namedCurve ?? ''];
      if (alg !== undefined) return alg;
      break;
    }
  }
  throw new KbsClientError('usage', `unsupported admin signing key type ${key.asymmetricKeyType ?? 'unknown'}`);
}

/** Mints an admin JWT: `{iss?, sub, aud?, role, iat, exp}`, header `{"alg", "typ":"JWT"}`. */
export async function mintAdminToken(options: AdminTokenOptions): Promise<string> {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: options.privateKeyPem, format: 'pem' });
  } catch (error) {
    throw new KbsClientError('usage', 'admin signing key is not a PEM private key', { cause: error });
  }
  const alg = jwsAlgorithmFor(key);
  const ttl = options.ttlSeconds ?? 3600;
  if (!Number.isInteger(ttl) || ttl <= 0) throw new KbsClientError('usage', 'token lifetime must be a positive number of seconds');
  const iat = Math.floor((options.now ?? Date.now)() / 1000);
  const jwt = new SignJWT({ role: options.role ?? 'admin' })
    .setProtectedHeader({ alg, typ: 'JWT' })
    .setSubject(options.subject ?? 'admin')
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttl);
  if (options.issuer !== undefined) jwt.setIssuer(options.issuer);
  if (options.audience !== undefined) jwt.setAudience(typeof options.audience === 'string' ? options.audience : [...options.audience]);
  return jwt.sign(key);
}

/** Parses `30s`, `15m`, `1h`, `7d` or a bare number of seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (match === null) throw new KbsClientError('usage', `invalid duration ${JSON.stringify(text)} (use e.g. 90s, 15m, 1h, 7d)`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  const seconds = Number(match[1]) * unit;
  if (!Number.isSafeInteger(seconds) || seconds <= 0) throw new KbsClientError('usage', `invalid duration ${JSON.stringify(text)}`);
  return seconds;
}

/** An Ed25519 key pair as PEM (PKCS#8 private, SPKI public), like `trustee-cli keygen`. */
export function generateAdminKeyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}
