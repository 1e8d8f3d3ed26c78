/**
 * An independent RCAR 0.4.0 guest with the `sample` attester (guest-components
 * `attestation-agent/kbs_protocol/src/client/rcar_client.rs`, `attester/src/sample/mod.rs`), built
 * from node:crypto and node:http only. Each protocol step is a separate method so the negative
 * tests can send one step wrong and check that the KBS refuses it.
 */
import { createPublicKey, verify } from 'node:crypto';
import { b64stdDecode, b64stdEncode, b64urlDecode } from './base64.ts';
import { httpRequest, jsonBody, parseSetCookies, type HttpResponse } from './http.ts';
import { decryptJwe, parseJweResponse, type DecryptedJwe } from './jwe.ts';
import { deviceRuntimeData, digest, primaryRuntimeData, sampleEvidence, type HashName } from './runtimeData.ts';
import type { TeeKeyPair, TeePubKeyJwk } from './teeKey.ts';

export const SESSION_COOKIE = 'kbs-session-id';

export interface Challenge {
  readonly nonce: string;
  readonly extraParams: unknown;
}

export interface AttestationBody {
  'init-data': { format: string; body: string } | null;
  'runtime-data': { nonce: string; 'tee-pubkey': TeePubKeyJwk };
  'tee-evidence': { primary_evidence: unknown; additional_evidence: string };
}

export class IndependentGuest {
  /** The current `kbs-session-id` value, as a cookie jar would hold it. */
  sessionId: string | undefined;
  challenge: Challenge | undefined;
  token: string | undefined;

  constructor(
    readonly baseUrl: string,
    readonly teeKey: TeeKeyPair,
  ) {}

  /** POST /kbs/v0/auth; stores the cookie and the challenge on success. */
  async auth(body: unknown = { version: '0.4.0', tee: 'sample', 'extra-params': { 'supported-hash-algorithms': ['sha256', 'sha384', 'sha512', 'sm3'] } }): Promise<HttpResponse> {
    const response = await httpRequest(this.baseUrl, {
      method: 'POST',
      path: '/kbs/v0/auth',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    if (response.status === 200) {
      const parsed = jsonBody(response) as { nonce?: unknown; 'extra-params'?: unknown };
      if (typeof parsed.nonce !== 'string') throw new Error('challenge without a string nonce');
      this.challenge = { nonce: parsed.nonce, extraParams: parsed['extra-params'] };
      this.storeCookie(response);
    }
    return response;
  }

  /** The hash the Rust client would pick: `selected-hash-algorithm` if present, else SHA-384. */
  negotiatedHash(): HashName {
    const extra = this.challenge?.extraParams;
    if (typeof extra === 'object' && extra !== null && 'selected-hash-algorithm' in extra) {
      const selected = (extra as Record<string, unknown>)['selected-hash-algorithm'];
      if (selected === 'sha256' || selected === 'sha384' || selected === 'sha512') return selected;
      throw new Error(`unsupported selected-hash-algorithm ${String(selected)}`);
    }
    return 'sha384';
  }

  /**
   * The attestation body the Rust guest sends for the current challenge, with honest sample
   * evidence. With `sampleDevice`, a `sampledevice` attester contributes additional evidence
   * bound to H(JCS({nonce, tee-pubkey})), and the primary binding covers its JSON text.
   */
  buildAttestation(
    options: {
      readonly nonce?: string;
      readonly reportData?: Uint8Array;
      readonly initData?: { readonly format: string; readonly body: string };
      readonly sampleDevice?: boolean;
    } = {},
  ): AttestationBody {
    if (this.challenge === undefined) throw new Error('auth first');
    const nonce = options.nonce ?? this.challenge.nonce;
    const teePubKey = this.teeKey.publicJwk;
    const hash = this.negotiatedHash();
    let additionalEvidence = '';
    if (options.sampleDevice === true) {
      const deviceDigest = digest(deviceRuntimeData(nonce, teePubKey), hash);
      additionalEvidence = JSON.stringify({ sampledevice: { svn: '2', report_data: b64stdEncode(deviceDigest) } });
    }
    const reportData = options.reportData ?? digest(primaryRuntimeData(nonce, teePubKey, additionalEvidence), hash);
    return {
      'init-data': options.initData === undefined ? null : { format: options.initData.format, body: options.initData.body },
      'runtime-data': { nonce, 'tee-pubkey': teePubKey },
      'tee-evidence': { primary_evidence: sampleEvidence(reportData), additional_evidence: additionalEvidence },
    };
  }

  /** POST /kbs/v0/attest with the session cookie (unless `cookie: null`); stores the token on 200. */
  async attest(body: unknown = this.buildAttestation(), options: { readonly cookie?: string | null } = {}): Promise<HttpResponse> {
    const cookie = options.cookie === undefined ? this.sessionId : options.cookie;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (cookie !== null && cookie !== undefined) headers.cookie = `${SESSION_COOKIE}=${cookie}`;
    const response = await httpRequest(this.baseUrl, {
      method: 'POST',
      path: '/kbs/v0/attest',
      headers,
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    if (response.status === 200) {
      const parsed = jsonBody(response) as { token?: unknown };
      if (typeof parsed.token !== 'string') throw new Error('attest response without a token');
      this.token = parsed.token;
      this.storeCookie(response);
    }
    return response;
  }

  /** Full handshake; throws with the KBS's error body when a step fails. */
  async rcar(): Promise<string> {
    const authResponse = await this.auth();
    if (authResponse.status !== 200) throw new Error(`/auth ${authResponse.status}: ${authResponse.body.toString()}`);
    const attestResponse = await this.attest();
    if (attestResponse.status !== 200 || this.token === undefined) {
      throw new Error(`/attest ${attestResponse.status}: ${attestResponse.body.toString()}`);
    }
    return this.token;
  }

  /** GET a resource over the cookie session (RCAR client) or with a Bearer token (CDH / passport). */
  async getResource(path: string, auth: { readonly bearer?: string; readonly cookie?: string | null } = {}): Promise<HttpResponse> {
    const headers: Record<string, string> = {};
    const cookie = auth.cookie === undefined ? (auth.bearer === undefined ? this.sessionId : undefined) : auth.cookie;
    if (cookie !== null && cookie !== undefined) headers.cookie = `${SESSION_COOKIE}=${cookie}`;
    if (auth.bearer !== undefined) headers.authorization = `Bearer ${auth.bearer}`;
    return httpRequest(this.baseUrl, { method: 'GET', path: `/kbs/v0/resource/${path}`, headers });
  }

  /** Decrypts a 200 resource response with the Rust client's AAD rule. */
  decrypt(response: HttpResponse): DecryptedJwe {
    if (response.status !== 200) throw new Error(`resource GET ${response.status}: ${response.body.toString()}`);
    return decryptJwe(parseJweResponse(jsonBody(response)), this.teeKey.privateKey);
  }

  private storeCookie(response: HttpResponse): void {
    const cookie = parseSetCookies(response).find((c) => c.name === SESSION_COOKIE);
    if (cookie !== undefined) this.sessionId = cookie.value;
  }
}

export interface DecodedJwt {
  readonly header: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
  readonly signingInput: string;
  readonly signature: Buffer;
}

export function decodeJwt(token: string): DecodedJwt {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error('a JWT has three parts');
  const [h = '', p = '', s = ''] = parts;
  return {
    header: JSON.parse(b64urlDecode(h).toString('utf8')) as Record<string, unknown>,
    payload: JSON.parse(b64urlDecode(p).toString('utf8')) as Record<string, unknown>,
    signingInput: `${h}.${p}`,
    signature: b64urlDecode(s),
  };
}

/** Checks an ES256 token against the `jwk` in its own header (what `insecure_header_jwk` trusts). */
export function verifyWithHeaderJwk(token: string): boolean {
  const jwt = decodeJwt(token);
  const jwk = jwt.header.jwk as { kty?: string; crv?: string; x?: string; y?: string } | undefined;
  if (jwt.header.alg !== 'ES256' || jwk?.kty !== 'EC' || jwk.crv !== 'P-256' || jwk.x === undefined || jwk.y === undefined) return false;
  const key = createPublicKey({ format: 'jwk', key: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y } });
  return verify('sha256', Buffer.from(jwt.signingInput, 'ascii'), { key, dsaEncoding: 'ieee-p1363' }, jwt.signature);
}

/** Reads a sample-evidence report_data back into bytes (for tests that tamper with it). */
export function reportDataBytes(body: AttestationBody): Buffer {
  const evidence = body['tee-evidence'].primary_evidence as { report_data: string };
  return b64stdDecode(evidence.report_data);
}
