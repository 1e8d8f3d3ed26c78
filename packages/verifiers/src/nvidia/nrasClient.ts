/**
 * NVIDIA Remote Attestation Service (NRAS) client for the `nvidia` verifier's Remote mode, as
 * upstream's deps/verifier/src/nvidia/mod.rs (`evaluate_device_nras`), nras_response.rs and
 * nras_jwks.rs speak it:
 *
 *   POST <verifier_url>/<gpu|switch>
 *     {"nonce": hex, "arch": "HOPPER"|"BLACKWELL"|"LS10", "claims_version": "3.0",
 *      "evidence_list": [{"evidence": base64, "certificate": base64 PEM chain}]}
 *   200 [["JWT", <overall JWT>], {"<submod>": <device EAT JWT>}]
 *
 * Both JWTs must be ES384-signed by a key of NRAS's JWKS (fetched on first use, cached, fetched
 * again when a token names an unknown key id) and carry exp/iat/nbf/iss; the device EAT's claims
 * plus the overall `x-nvidia-overall-att-result` become the device's claims, and NRAS's
 * `x-nvidia-<gpu|switch>-attestation-report-nonce-match` must be true.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { decodeProtectedHeader, importJWK, jwtVerify, type JWK } from 'jose';
import { fromHex, toBase64 } from '../binary/encoding.ts';
import type { Json, JsonObject } from '../verifier.ts';
import { VerificationError } from '../verificationError.ts';
import { classOf, type NvidiaDeviceEvidence } from './nvidiaEvidence.ts';

/** Upstream's defaults (mod.rs `NRAS_URL`, nras_jwks.rs `NRAS_JWKS_URL`). */
export const NRAS_URL = 'https://nras.attestation.nvidia.com/v4/attest';
export const NRAS_JWKS_URL = 'https://nras.attestation.nvidia.com/.well-known/jwks.json';

/** Sends one device's evidence to NVIDIA's attestation service and returns its verified claims. */
export interface NrasClient {
  attest(device: NvidiaDeviceEvidence, nonceHex: string, now: Date, index: number): Promise<JsonObject>;
}

export interface NrasClientOptions {
  /** Attestation base URL; `/<gpu|switch>` is appended. Default `NRAS_URL`. */
  readonly verifierUrl?: string;
  /** JWKS URL. Default `NRAS_JWKS_URL`. */
  readonly jwksUrl?: string;
  /** Extra PEM CA certificates to trust for the HTTPS connections (a private NRAS proxy, tests). */
  readonly ca?: string;
  /** Per-attestation timeout; default 60 s like upstream. */
  readonly timeoutMs?: number;
  /** How long a fetched JWKS is used before it is fetched again; default 1 h. */
  readonly jwksTtlMs?: number;
}

/** Largest NRAS answer read (real answers are a few KB per device). */
const MAX_RESPONSE_BYTES = 1024 * 1024;
/** Accepted skew between NRAS's token times and the verification clock. */
const CLOCK_TOLERANCE_S = 60;
/** An unknown key id refetches the JWKS at most this often. */
const JWKS_MIN_REFRESH_MS = 60_000;

type VerifyKey = Awaited<ReturnType<typeof importJWK>>;

/**
 * @example
 * const verifier = createNvidiaVerifier({ nras: createNrasClient({ verifierUrl: config.verifierUrl }) });
 */
export function createNrasClient(options: NrasClientOptions = {}): NrasClient {
  const verifierUrl = (options.verifierUrl ?? NRAS_URL).replace(/\/+$/, '');
  const jwksUrl = options.jwksUrl ?? NRAS_JWKS_URL;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const ttl = options.jwksTtlMs ?? 3_600_000;
  let jwks: { keys: Map<string, VerifyKey>; fetchedAt: number } | undefined;
  let pending: Promise<void> | undefined;

  async function refreshJwks(): Promise<void> {
    pending ??= (async () => {
      try {
        const body = await send(jwksUrl, 'GET', undefined, { ca: options.ca, timeoutMs: 30_000 });
        if (body.status !== 200) throw unavailable(`JWKS ${jwksUrl} answered HTTP ${body.status}`);
        jwks = { keys: await importKeys(parseJsonText(body.text, 'nvidia.nras.jwks')), fetchedAt: Date.now() };
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  }

  async function keyFor(token: string, what: string): Promise<VerifyKey> {
    let kid: unknown;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      throw failed('nvidia.nras.token', `${what} is not a JWT`);
    }
    if (typeof kid !== 'string') throw failed('nvidia.nras.token', `${what} names no key id (kid)`);
    if (jwks === undefined || Date.now() - jwks.fetchedAt > ttl || (!jwks.keys.has(kid) && Date.now() - jwks.fetchedAt > JWKS_MIN_REFRESH_MS)) await refreshJwks();
    const key = jwks?.keys.get(kid);
    if (key === undefined) throw failed('nvidia.nras.signature', `${what} is signed with key ${JSON.stringify(kid.slice(0, 64))}, which is not in NRAS's JWKS`);
    return key;
  }

  async function verifyToken(token: string, what: string, now: Date): Promise<JsonObject> {
    const key = await keyFor(token, what);
    try {
      // NRAS's clock and ours differ, and `now` is taken before the request was sent.
      const { payload } = await jwtVerify(token, key, { algorithms: ['ES384'], currentDate: now, clockTolerance: CLOCK_TOLERANCE_S, requiredClaims: ['exp', 'iat', 'iss', 'nbf'] });
      return payload as JsonObject;
    } catch (error) {
      throw failed('nvidia.nras.signature', `${what} does not verify: ${(error as Error).message}`);
    }
  }

  return {
    async attest(device, nonceHex, now, index) {
      const endpoint = classOf(device.arch);
      fromHex(nonceHex, 'nvidia.nonce');
      const body = JSON.stringify({
        nonce: nonceHex,
        arch: device.arch.toUpperCase(),
        // NRAS takes base64; upstream converts hex evidence the same way.
        evidence_list: [{ evidence: toBase64(device.evidence), certificate: device.certificateText }],
        claims_version: '3.0',
      });
      const answer = await send(`${verifierUrl}/${endpoint}`, 'POST', body, { ca: options.ca, timeoutMs });
      if (answer.status < 200 || answer.status > 299) {
        throw failed('nvidia.nras.response', `device ${index} (${device.arch}): NRAS refused the evidence with HTTP ${answer.status}: ${answer.text.slice(0, 200)}`);
      }
      const { overall, eat } = parseNrasAnswer(parseJsonText(answer.text, 'nvidia.nras.response'));
      const overallClaims = await verifyToken(overall, 'the overall NRAS token', now);
      const claims = { ...(await verifyToken(eat, `the NRAS token of device ${index}`, now)) };
      if (Object.hasOwn(overallClaims, 'x-nvidia-overall-att-result')) claims['x-nvidia-overall-att-result'] = overallClaims['x-nvidia-overall-att-result'] as Json;
      const nonceMatch = claims[`x-nvidia-${endpoint}-attestation-report-nonce-match`];
      if (typeof nonceMatch !== 'boolean') throw failed('nvidia.nras.response', `device ${index}: NRAS's claims carry no nonce-match status`);
      if (!nonceMatch) throw failed('nvidia.nonce', `device ${index} (${device.arch}): NRAS reports the SPDM nonce does not match ${nonceHex}`);
      return claims;
    },
  };
}

/** `[["JWT", overall], {"<submod>": eat}]` with exactly one submod, as upstream requires. */
function parseNrasAnswer(value: Json): { overall: string; eat: string } {
  if (!Array.isArray(value) || value.length !== 2) throw failed('nvidia.nras.response', 'NRAS answer is not [["JWT", token], {submod: token}]');
  const [head, submods] = value;
  if (!Array.isArray(head) || head.length !== 2 || typeof head[1] !== 'string') throw failed('nvidia.nras.response', 'NRAS answer has no overall JWT');
  if (submods === null || typeof submods !== 'object' || Array.isArray(submods)) throw failed('nvidia.nras.response', 'NRAS answer has no device token map');
  const tokens = Object.values(submods);
  if (tokens.length !== 1 || typeof tokens[0] !== 'string') throw failed('nvidia.nras.response', `NRAS answer carries ${tokens.length} device tokens, expected exactly 1`);
  return { overall: head[1], eat: tokens[0] };
}

async function importKeys(value: Json): Promise<Map<string, VerifyKey>> {
  const keys = new Map<string, VerifyKey>();
  const list = value !== null && typeof value === 'object' && !Array.isArray(value) ? value.keys : undefined;
  if (!Array.isArray(list)) throw unavailable('NRAS JWKS has no "keys" array');
  for (const jwk of list.slice(0, 64)) {
    if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk) || typeof jwk.kid !== 'string') continue;
    // Only EC P-384 keys can verify ES384; other entries (or x5c-only keys) are skipped.
    if (jwk.kty !== 'EC' || jwk.crv !== 'P-384') continue;
    try {
      keys.set(jwk.kid, await importJWK(jwk as unknown as JWK, 'ES384'));
    } catch {
      // An unusable key is as good as absent: tokens naming it fail with an unknown-key error.
    }
  }
  return keys;
}

function parseJsonText(text: string, check: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch {
    throw failed(check, 'NRAS answered with something that is not JSON');
  }
}

interface Answer {
  readonly status: number;
  readonly text: string;
}

/** One HTTP(S) exchange with a size cap and a timeout; network failures are `collateral_unavailable`. */
function send(url: string, method: 'GET' | 'POST', body: string | undefined, options: { ca: string | undefined; timeoutMs: number }): Promise<Answer> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return Promise.reject(unavailable(`invalid NRAS URL ${JSON.stringify(url)}`));
  }
  const request = parsed.protocol === 'https:' ? httpsRequest : parsed.protocol === 'http:' ? httpRequest : undefined;
  if (request === undefined) return Promise.reject(unavailable(`NRAS URL must be http(s): ${url}`));
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const req = request(parsed, { method, headers, timeout: options.timeoutMs, ...(options.ca === undefined ? {} : { ca: options.ca }) }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.byteLength;
        if (size > MAX_RESPONSE_BYTES) {
          req.destroy();
          reject(failed('nvidia.nras.response', `NRAS answer is larger than ${MAX_RESPONSE_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (error) => reject(unavailable(`reading ${url}: ${error.message}`)));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', (error) => reject(unavailable(`${method} ${url}: ${error.message}`)));
    req.end(body);
  });
}

function failed(check: string, message: string): VerificationError {
  return VerificationError.single('verification_failed', check, message);
}

function unavailable(message: string): VerificationError {
  return VerificationError.single('collateral_unavailable', 'nvidia.nras', message);
}
