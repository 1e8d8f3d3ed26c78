/**
 * Verification of attestation tokens for the KBS `[attestation_token]` section (upstream trustee
 * `kbs/src/token/mod.rs`, `kbs/docs/attestation_token_verification.md`): tokens from our own AS
 * (ES256, signer JWK in the header, optional x5c chain), from another Trustee (passport mode) or
 * from a JWKS-publishing issuer (by kid).
 */
import { X509Certificate, createPublicKey, verify as verifySignature, type JsonWebKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { compactVerify, decodeProtectedHeader, importJWK, type JWK } from 'jose';
import { isJsonObject, jsonKind, parseTeePubKey, ProtocolError, type Json, type JsonObject, type TeePubKey } from '@trustee/protocol';
import { ConfigError, parsePemCertificates } from '@trustee/config';
import { TokenError } from './tokenError.ts';
import { loadJwkSet, type Fetch } from './loadJwkSet.ts';
import { signingLeafProblems, verifyCertificateChain } from './verifyCertificateChain.ts';

export interface TokenVerifierConfig {
  /** PEM files (each may hold a chain) whose certificates anchor `jwk.x5c` chains. */
  readonly trustedCertsPaths: readonly string[];
  /** JWK sets (path, `file://`, `https://`) whose keys are found by the token's `kid`. */
  readonly trustedJwkSets: readonly string[];
  /** JSON pointers tried first when looking for the TEE public key. */
  readonly extraTeekeyPaths: readonly string[];
  /** Trust whatever JWK the token header carries (development only). */
  readonly insecureHeaderJwk: boolean;
}

export interface TokenVerifierDeps {
  readonly now?: () => Date;
  /** For `https://` JWK sets; default the global fetch. */
  readonly fetch?: Fetch;
  /** Per request; default 10 s. */
  readonly jwksTimeoutMs?: number;
}

export interface TokenVerifier {
  /**
   * Verifies signature, key trust, `exp` (required) and `nbf` (when present), both with 60 s
   * leeway (upstream checks no `nbf`; `aud` stays unchecked like upstream), and returns the claims.
   * @throws TokenError `token_invalid`
   */
  verify(jwt: string): Promise<JsonObject>;
  /**
   * The TEE public key from verified claims: the first JSON pointer present among
   * `extra_teekey_paths` then upstream's fixed list must parse as a kbs-types TeePubKey.
   * `undefined` when none is present.
   * @throws TokenError `tee_pubkey_invalid` when the first present value is not a TeePubKey.
   */
  extractTeePubKey(claims: JsonObject): TeePubKey | undefined;
}

/** Upstream's fixed tee-pubkey locations, in the order tried (after `extra_teekey_paths`). */
export const TEE_PUBKEY_POINTERS = [
  '/tdx/attester_runtime_data/tee-pubkey',
  '/tdx/attester_user_data/tee-pubkey',
  '/customized_claims/runtime_data/tee-pubkey',
  '/submods/cpu0/ear.veraison.annotated-evidence/runtime_data_claims/tee-pubkey',
  '/tee-pubkey',
] as const;

export const EXP_LEEWAY_SECONDS = 60;
const MAX_TOKEN_LENGTH = 4 * 1024 * 1024;
const MAX_CACHED_KEYS = 256;
/** Verified tokens remembered (oldest evicted first); tokens above the length cap are not kept. */
const MAX_CACHED_TOKENS = 4096;
const MAX_CACHED_TOKEN_LENGTH = 64 * 1024;
/** Longest protected header segment whose key selection is remembered. */
const MAX_CACHED_HEADER_LENGTH = 64 * 1024;

/** Instants (ms since the epoch, inclusive) between which a verification key stays trusted. */
interface TrustWindow {
  readonly validFromMs: number;
  readonly validToMs: number;
}
const ALWAYS: TrustWindow = { validFromMs: -Infinity, validToMs: Infinity };

function deepFreeze<T extends Json>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * Builds a verifier; certificates and JWK sets are loaded once, now.
 *
 * @example
 * const verifier = await createTokenVerifier({ trustedCertsPaths: ['/etc/kbs/as-ca.pem'], trustedJwkSets: [], extraTeekeyPaths: [], insecureHeaderJwk: false });
 * const claims = await verifier.verify(bearerToken);
 * const teeKey = verifier.extractTeePubKey(claims);
 * @throws ConfigError when nothing is trusted and `insecureHeaderJwk` is false,
 *   or a trusted file/URL cannot be loaded.
 */
export async function createTokenVerifier(config: TokenVerifierConfig, deps: TokenVerifierDeps = {}): Promise<TokenVerifier> {
  const now = deps.now ?? (() => new Date());
  if (config.trustedCertsPaths.length === 0 && config.trustedJwkSets.length === 0 && !config.insecureHeaderJwk) {
    throw new ConfigError('attestation_token: no trusted_certs_paths or trusted_jwk_sets configured and insecure_header_jwk is false; tokens could never be verified');
  }
  for (const pointer of config.extraTeekeyPaths) {
    if (pointer !== '' && !pointer.startsWith('/')) throw new ConfigError(`attestation_token.extra_teekey_paths: ${JSON.stringify(pointer)} is not a JSON pointer`);
  }
  const trustedCerts: X509Certificate[] = [];
  for (const path of config.trustedCertsPaths) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new ConfigError(`attestation_token.trusted_certs_paths: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    const certificates = parsePemCertificates(text);
    if (certificates.length === 0) throw new ConfigError(`attestation_token.trusted_certs_paths: ${path} holds no PEM certificate`);
    trustedCerts.push(...certificates);
  }
  const jwksByKid = new Map<string, JsonObject>();
  for (const location of config.trustedJwkSets) {
    const keys = await loadJwkSet(location, { ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }), ...(deps.jwksTimeoutMs === undefined ? {} : { timeoutMs: deps.jwksTimeoutMs }) });
    for (const key of keys) {
      const kid = Object.hasOwn(key, 'kid') ? key.kid : undefined;
      if (typeof kid === 'string' && !jwksByKid.has(kid)) jwksByKid.set(kid, key);
    }
  }
  const pointers = [...config.extraTeekeyPaths, ...TEE_PUBKEY_POINTERS];
  // Importing a JWK costs more than verifying the signature; the same few keys sign every token.
  const importedKeys = new Map<string, Awaited<ReturnType<typeof importJWK>>>();
  async function importKey(jwk: JWK, alg: string): Promise<Awaited<ReturnType<typeof importJWK>>> {
    const cacheKey = `${alg}\u0000${JSON.stringify(jwk)}`;
    const cached = importedKeys.get(cacheKey);
    if (cached !== undefined) return cached;
    const key = await importJWK(jwk, alg);
    if (importedKeys.size >= MAX_CACHED_KEYS) importedKeys.clear();
    importedKeys.set(cacheKey, key);
    return key;
  }

  // A verified x5c chain is immutable: remember it (with the window in which every certificate
  // on its path is valid) instead of parsing and verifying the same certificates per token.
  const verifiedChains = new Map<string, { readonly validFromMs: number; readonly validToMs: number }>();
  function checkX5cCached(jwk: JsonObject): TrustWindow {
    const cacheKey = x5cCacheKey(jwk);
    const nowMs = now().getTime();
    const cached = cacheKey === undefined ? undefined : verifiedChains.get(cacheKey);
    if (cached !== undefined && nowMs >= cached.validFromMs && nowMs <= cached.validToMs) return cached;
    const window = checkX5c(jwk, trustedCerts, new Date(nowMs));
    if (cacheKey === undefined) return window;
    if (verifiedChains.size >= MAX_CACHED_KEYS) verifiedChains.clear();
    verifiedChains.set(cacheKey, window);
    return window;
  }

  // A guest fetching several resources presents the same token each time; the exact token text
  // verified once verifies again while its key stays trusted (the x5c window) — only exp is
  // time-dependent, and it is re-checked on every use. Claims are frozen: callers share them.
  const verifiedTokens = new Map<string, { readonly claims: JsonObject; readonly exp: number; readonly nbf: number | undefined; readonly trust: TrustWindow }>();
  function rememberToken(jwt: string, claims: JsonObject, exp: number, nbf: number | undefined, trust: TrustWindow): void {
    if (verifiedTokens.size >= MAX_CACHED_TOKENS) {
      const oldest = verifiedTokens.keys().next();
      if (oldest.done !== true) verifiedTokens.delete(oldest.value);
    }
    verifiedTokens.set(jwt, { claims: deepFreeze(claims), exp, nbf, trust });
  }

  // ES256 (every token of our own AS) is verified with node:crypto directly: the synchronous
  // ECDSA verify costs about half of a WebCrypto job. Other algorithms go through jose.
  const es256Keys = new Map<string, KeyObject>();
  function es256Key(jwk: JWK): KeyObject {
    const cacheKey = JSON.stringify(jwk);
    const cached = es256Keys.get(cacheKey);
    if (cached !== undefined) return cached;
    if (jwk.kty !== 'EC' || jwk.crv !== 'P-256') throw new Error('ES256 needs an EC P-256 key');
    const key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    if (es256Keys.size >= MAX_CACHED_KEYS) es256Keys.clear();
    es256Keys.set(cacheKey, key);
    return key;
  }

  // Every token of one AS carries the same protected header (its JWK, x5c chain): the ES256 key
  // chosen for an exact header segment is remembered with its trust window, so the header is not
  // decoded, the chain not re-serialised and the key not looked up again per token. The
  // selection depends only on the header bytes and this verifier's fixed configuration; the
  // window is re-checked on every use and the signature is always verified.
  const es256ByHeader = new Map<string, { readonly key: KeyObject; readonly trust: TrustWindow }>();
  function rememberHeader(segment: string, key: KeyObject, trust: TrustWindow): void {
    if (segment.length > MAX_CACHED_HEADER_LENGTH) return;
    if (es256ByHeader.size >= MAX_CACHED_KEYS) es256ByHeader.clear();
    es256ByHeader.set(segment, { key, trust });
  }

  function selectKey(header: Record<string, unknown>): { jwk: JsonObject; trust: TrustWindow } {
    const headerJwk = Object.hasOwn(header, 'jwk') ? header.jwk : undefined;
    if (headerJwk !== undefined) {
      if (!isJsonObject(headerJwk)) throw invalid(`header jwk must be an object, found ${jsonKind(headerJwk)}`);
      if (config.insecureHeaderJwk) return { jwk: headerJwk, trust: ALWAYS };
      if (trustedCerts.length === 0) throw invalid('the token carries a header jwk but no trusted_certs_paths are configured to vouch for it');
      return { jwk: headerJwk, trust: checkX5cCached(headerJwk) };
    }
    const kid = Object.hasOwn(header, 'kid') ? header.kid : undefined;
    if (typeof kid !== 'string') throw invalid('the token has neither a header jwk nor a kid');
    const key = jwksByKid.get(kid);
    if (key === undefined) throw invalid(`kid ${JSON.stringify(kid.slice(0, 128))} is not in any trusted JWK set`);
    return { jwk: key, trust: ALWAYS };
  }

  /** `exp` and `nbf` with the same leeway: a token is used neither after its end nor before its start. */
  function checkTimes(exp: number, nbf: number | undefined): void {
    const nowSeconds = Math.floor(now().getTime() / 1000);
    if (exp < nowSeconds - EXP_LEEWAY_SECONDS) throw invalid('token expired');
    if (nbf !== undefined && nbf > nowSeconds + EXP_LEEWAY_SECONDS) throw invalid(`token not valid yet (nbf is ${nbf - nowSeconds} s ahead)`);
  }

  /** The verified payload's claims, after the exp/nbf checks; remembered for the exact token. */
  function claimsOf(jwt: string, payload: Uint8Array, trust: TrustWindow): JsonObject {
    let claims: unknown;
    try {
      claims = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
    } catch {
      throw invalid('token payload is not JSON');
    }
    if (!isJsonObject(claims)) throw invalid('token payload is not a JSON object');
    const exp = Object.hasOwn(claims, 'exp') ? claims.exp : undefined;
    if (typeof exp !== 'number' || !Number.isFinite(exp)) throw invalid('token has no numeric exp claim');
    const nbf = Object.hasOwn(claims, 'nbf') ? claims.nbf : undefined;
    if (nbf !== undefined && (typeof nbf !== 'number' || !Number.isFinite(nbf))) throw invalid('token nbf claim is not a number');
    checkTimes(exp, nbf);
    if (jwt.length <= MAX_CACHED_TOKEN_LENGTH) rememberToken(jwt, claims, exp, nbf, trust);
    return claims;
  }

  return {
    async verify(jwt) {
      if (typeof jwt !== 'string' || jwt.length === 0 || jwt.length > MAX_TOKEN_LENGTH) throw invalid('token must be a non-empty compact JWS');
      const known = verifiedTokens.get(jwt);
      if (known !== undefined) {
        const nowMs = now().getTime();
        if (nowMs >= known.trust.validFromMs && nowMs <= known.trust.validToMs) {
          checkTimes(known.exp, known.nbf);
          return known.claims;
        }
        verifiedTokens.delete(jwt);
      }
      const headerSegment = jwt.slice(0, Math.max(0, jwt.indexOf('.')));
      const knownHeader = es256ByHeader.get(headerSegment);
      if (knownHeader !== undefined) {
        const nowMs = now().getTime();
        if (nowMs >= knownHeader.trust.validFromMs && nowMs <= knownHeader.trust.validToMs) {
          return claimsOf(jwt, verifyEs256(jwt, knownHeader.key), knownHeader.trust);
        }
        es256ByHeader.delete(headerSegment);
      }
      let header: Record<string, unknown>;
      try {
        header = decodeProtectedHeader(jwt) as Record<string, unknown>;
      } catch {
        throw invalid('token header is not a base64url JSON object');
      }
      const { jwk, trust } = selectKey(header);
      const alg = Object.hasOwn(jwk, 'alg') ? jwk.alg : undefined;
      if (typeof alg !== 'string' || alg.length === 0) throw invalid('the verification JWK carries no alg');
      let payload: Uint8Array;
      if (alg === 'ES256' && header.alg === 'ES256' && !Object.hasOwn(header, 'crit')) {
        let key: KeyObject;
        try {
          key = es256Key(publicJwk(jwk));
        } catch (error) {
          throw invalid(`the verification JWK cannot be used with ${alg}: ${(error as Error).message}`);
        }
        payload = verifyEs256(jwt, key);
        rememberHeader(headerSegment, key, trust);
      } else {
        let key: Awaited<ReturnType<typeof importJWK>>;
        try {
          key = await importKey(publicJwk(jwk), alg);
        } catch (error) {
          throw invalid(`the verification JWK cannot be used with ${alg}: ${(error as Error).message}`);
        }
        try {
          ({ payload } = await compactVerify(jwt, key, { algorithms: [alg] }));
        } catch (error) {
          throw invalid(`signature verification failed: ${(error as Error).message}`);
        }
      }
      return claimsOf(jwt, payload, trust);
    },
    extractTeePubKey(claims) {
      for (const pointer of pointers) {
        const value = resolvePointer(claims, pointer);
        if (value === undefined) continue;
        try {
          return parseTeePubKey(value);
        } catch (error) {
          const reason = error instanceof ProtocolError ? error.message : 'not a TEE public key';
          throw new TokenError('tee_pubkey_invalid', `tee-pubkey at ${pointer}: ${reason}`, { cause: error });
        }
      }
      return undefined;
    },
  };
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const ES256_SIGNATURE_LENGTH = 64;

/**
 * RFC 7515 compact JWS verification for ES256 (the caller has checked that the protected header
 * says ES256 and carries no `crit`): exactly three base64url segments, a 64-byte r||s signature
 * over the ASCII `header.payload`, checked by node:crypto.
 */
function verifyEs256(jwt: string, key: KeyObject): Uint8Array {
  const first = jwt.indexOf('.');
  const second = jwt.indexOf('.', first + 1);
  if (first < 0 || second < 0 || jwt.indexOf('.', second + 1) >= 0) throw invalid('signature verification failed: Invalid Compact JWS');
  const payloadPart = jwt.slice(first + 1, second);
  const signaturePart = jwt.slice(second + 1);
  if (!BASE64URL.test(payloadPart) || !BASE64URL.test(signaturePart)) throw invalid('signature verification failed: the payload or signature is not base64url');
  const signature = Buffer.from(signaturePart, 'base64url');
  let valid = false;
  if (signature.length === ES256_SIGNATURE_LENGTH) {
    try {
      valid = verifySignature('sha256', Buffer.from(jwt.slice(0, second), 'ascii'), { key, dsaEncoding: 'ieee-p1363' }, signature);
    } catch {
      valid = false;
    }
  }
  if (!valid) throw invalid('signature verification failed: signature verification failed');
  return Buffer.from(payloadPart, 'base64url');
}

/** Only the public members jose needs; a private `d` in a hostile header is never imported. */
function publicJwk(jwk: JsonObject): JWK {
  const out: JWK = {};
  for (const member of ['kty', 'crv', 'x', 'y', 'n', 'e'] as const) {
    const value = Object.hasOwn(jwk, member) ? jwk[member] : undefined;
    if (typeof value === 'string') out[member] = value;
  }
  return out;
}

/**
 * Everything `checkX5c` reads from the JWK (the chain and the public members), or undefined
 * when the shape is unusual (then nothing is cached and the full check runs).
 */
function x5cCacheKey(jwk: JsonObject): string | undefined {
  const x5c = Object.hasOwn(jwk, 'x5c') ? jwk.x5c : undefined;
  if (!Array.isArray(x5c) || x5c.length === 0 || !x5c.every((entry) => typeof entry === 'string')) return undefined;
  return JSON.stringify([publicJwk(jwk), x5c]);
}

/** Verifies the chain; returns the window in which the accepted path stays valid. */
function checkX5c(jwk: JsonObject, trusted: readonly X509Certificate[], now: Date): TrustWindow {
  const x5c = Object.hasOwn(jwk, 'x5c') ? jwk.x5c : undefined;
  if (!Array.isArray(x5c) || x5c.length === 0) throw invalid('the header jwk has no x5c chain to verify against trusted_certs_paths');
  const chain = x5c.map((entry, index) => parseX5cEntry(entry, index));
  const [leaf, ...intermediates] = chain;
  if (leaf === undefined) throw invalid('the header jwk has an empty x5c chain');
  assertSameKey(leaf, jwk);
  const leafProblems = signingLeafProblems(leaf, trusted);
  if (leafProblems.length > 0) throw invalid(`x5c leaf may not sign tokens: ${leafProblems.join('; ')}`);
  const result = verifyCertificateChain(leaf, intermediates, trusted, now);
  if (!result.ok) throw invalid(`x5c chain is not trusted: ${result.problems.join('; ')}`);
  return { validFromMs: result.validFromMs ?? now.getTime(), validToMs: result.validToMs ?? now.getTime() };
}

function parseX5cEntry(entry: Json, index: number): X509Certificate {
  if (typeof entry !== 'string') throw invalid(`x5c[${index}] must be a string`);
  // Standard base64 per RFC 7517; newlines tolerated and base64url accepted like upstream.
  const compact = entry.replace(/[\r\n]/g, '');
  const der = /^[A-Za-z0-9+/]*={0,2}$/.test(compact) ? Buffer.from(compact, 'base64') : /^[A-Za-z0-9_-]*$/.test(compact) ? Buffer.from(compact, 'base64url') : undefined;
  if (der === undefined || der.length === 0) throw invalid(`x5c[${index}] is not base64`);
  try {
    return new X509Certificate(der);
  } catch {
    throw invalid(`x5c[${index}] is not an X.509 certificate`);
  }
}

/** The leaf certificate must certify exactly the header JWK (RSA, or EC P-256). */
function assertSameKey(leaf: X509Certificate, jwk: JsonObject): void {
  const kty = Object.hasOwn(jwk, 'kty') ? jwk.kty : undefined;
  const crv = Object.hasOwn(jwk, 'crv') ? jwk.crv : undefined;
  if (kty !== 'RSA' && !(kty === 'EC' && crv === 'P-256')) throw invalid('header jwk must be RSA or EC P-256 when verified through x5c');
  let key: KeyObject;
  try {
    key = createPublicKey({ key: publicJwk(jwk) as JsonWebKey, format: 'jwk' });
  } catch {
    throw invalid('header jwk is not a valid public key');
  }
  if (!leaf.publicKey.equals(key)) throw invalid('the x5c leaf certificate does not certify the header jwk');
}

/** RFC 6901 JSON pointer; `undefined` when any step is absent (serde_json `pointer`). */
export function resolvePointer(document: Json, pointer: string): Json | undefined {
  if (pointer === '') return document;
  if (!pointer.startsWith('/')) return undefined;
  let current: Json | undefined = document;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(current)) {
      if (!/^(0|[1-9][0-9]*)$/.test(token)) return undefined;
      current = current[Number(token)];
    } else if (isJsonObject(current)) {
      current = Object.hasOwn(current, token) ? current[token] : undefined;
    } else {
      return undefined;
    }
    if (current === undefined) return undefined;
  }
  return current;
}

function invalid(message: string): TokenError {
  return new TokenError('token_invalid', message);
}
