/**
 * A KBS client that speaks RCAR 0.4.0 like guest-components' `kbs_protocol`: `/auth`
 * with every supported hash algorithm, runtime data bound by JCS digest with the negotiated
 * hash, the `kbs-session-id` cookie for `/attest` and resource GETs, JWE decryption with the TEE
 * key, and the upstream retry rules (RCAR 5× 1 s apart, resource GET 3× re-handshaking on 401).
 * With a token (passport mode) it sends `Authorization: Bearer` instead and never attests.
 *
 * @example
 * const client = new KbsClient({ url: 'http://127.0.0.1:8080' });
 * const secret = await client.getResource('default/key/testfile');
 */
import {
  DEFAULT_RUNTIME_HASH,
  HASH_ALGORITHMS,
  KBS_PROTOCOL_VERSION,
  ProtocolError,
  b64std,
  b64url,
  canonicalJson,
  decryptJweResponse,
  deviceRuntimeData,
  parseAttestResponse,
  parseChallenge,
  parseErrorInformation,
  parseJweResponse,
  primaryRuntimeData,
  runtimeDataDigest,
  type ErrorInformation,
  type Json,
  type RuntimeHashAlgorithm,
  type TeePubKey,
} from '@trustee/protocol';
import { sampleAttester, sampleDeviceAttester, sampleDeviceEnabled, type Attester } from './attesters.ts';
import { SessionCookieJar } from './cookieJar.ts';
import { createHttpTransport, type HttpResponse, type HttpTransport } from './httpTransport.ts';
import { initDataDigest, initDataMessage } from './initData.ts';
import { KbsClientError } from './kbsClientError.ts';
import { encodePath, parseResourceLocation, splitPath } from './resourceUri.ts';
import { generateTeeKey, type TeeKeyAlgorithm, type TeeKeyPair } from './teeKey.ts';

export const KBS_PREFIX = '/kbs/v0';
export const USER_AGENT = 'trustee-ts-kbs-client/0.1.0';

export interface KbsClientOptions {
  /** KBS root URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** Extra trusted root CA (PEM) for HTTPS, added to the system roots. */
  readonly caCertPem?: string;
  /** Primary attester; default `sample`. Its `tee` is the one sent in `/auth`. */
  readonly attester?: Attester;
  /** Device attesters for `additional_evidence`; default `sampledevice` iff `ENABLE_SAMPLE_DEVICE` is set. */
  readonly deviceAttesters?: readonly Attester[];
  /** TEE key; default a fresh key of `teeKeyAlgorithm`. */
  readonly teeKey?: TeeKeyPair;
  readonly teeKeyAlgorithm?: TeeKeyAlgorithm;
  /** Init-data TOML text sent as `{"format":"toml","body":…}`. */
  readonly initData?: string;
  /**
   * Attestation policy selector: sent as `extra-params.id` in /auth (guest-components PR #1604's
   * `attestation_policy_selector`); the KBS maps it to its AS policies. Empty/absent: not sent.
   */
  readonly policySelector?: string;
  /** Passport mode: an attestation token for `Authorization: Bearer` (needs the matching `teeKey`). */
  readonly token?: string;
  /** Admin bearer token for the admin endpoints; none = anonymous. */
  readonly adminToken?: string;
  readonly rcarMaxAttempts?: number;
  readonly rcarRetryDelayMs?: number;
  readonly resourceMaxAttempts?: number;
  readonly timeoutMs?: number;
  /** Replaces the node:http transport (tests). */
  readonly transport?: HttpTransport;
  readonly now?: () => number;
  /** Warnings (retries, anonymous admin calls). Never receives secrets. */
  readonly log?: (message: string) => void;
}

export interface AttestationPolicyOptions {
  /** Policy id; the KBS evaluates `default_<class>`, hence the upstream default `default_cpu`. */
  readonly id?: string;
  readonly type?: string;
}

type Method = 'GET' | 'POST' | 'DELETE';

export class KbsClient {
  readonly #baseUrl: URL;
  readonly #basePath: string;
  readonly #transport: HttpTransport;
  readonly #jar: SessionCookieJar;
  readonly #attester: Attester;
  readonly #deviceAttesters: readonly Attester[];
  readonly #teeKey: TeeKeyPair;
  readonly #initData: string | undefined;
  readonly #policySelector: string | undefined;
  readonly #adminToken: string | undefined;
  readonly #passportToken: string | undefined;
  readonly #rcarMaxAttempts: number;
  readonly #rcarRetryDelayMs: number;
  readonly #resourceMaxAttempts: number;
  readonly #now: () => number;
  readonly #log: (message: string) => void;
  #token: string | undefined;

  constructor(options: KbsClientOptions) {
    let base: URL;
    try {
      base = new URL(options.url);
    } catch {
      throw new KbsClientError('usage', `invalid KBS URL ${JSON.stringify(options.url)}`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new KbsClientError('usage', `KBS URL must be http or https, got ${base.protocol}`);
    base.search = '';
    base.hash = '';
    this.#baseUrl = base;
    this.#basePath = base.pathname.replace(/\/+$/, '');
    this.#transport =
      options.transport ??
      createHttpTransport({
        userAgent: USER_AGENT,
        ...(options.caCertPem === undefined ? {} : { caCertPem: options.caCertPem }),
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      });
    this.#now = options.now ?? Date.now;
    this.#jar = new SessionCookieJar(this.#now);
    this.#attester = options.attester ?? sampleAttester;
    this.#policySelector = options.policySelector === '' ? undefined : options.policySelector;
    this.#deviceAttesters = options.deviceAttesters ?? (sampleDeviceEnabled() ? [sampleDeviceAttester] : []);
    this.#teeKey = options.teeKey ?? generateTeeKey(options.teeKeyAlgorithm);
    this.#initData = options.initData;
    this.#adminToken = options.adminToken;
    this.#passportToken = options.token;
    this.#token = options.token;
    this.#rcarMaxAttempts = Math.max(1, options.rcarMaxAttempts ?? 5);
    this.#rcarRetryDelayMs = Math.max(0, options.rcarRetryDelayMs ?? 1000);
    this.#resourceMaxAttempts = Math.max(1, options.resourceMaxAttempts ?? 3);
    this.#log = options.log ?? (() => undefined);
  }

  /** The tee-pubkey JWK sent in runtime data. */
  get teePublicKey(): TeePubKey {
    return this.#teeKey.publicJwk;
  }

  /** The current attestation token, if any. */
  get token(): string | undefined {
    return this.#token;
  }

  /**
   * Returns a valid attestation token, running the RCAR handshake (with retries) when there is
   * none or the cached one is outside its `nbf`..`exp` window.
   */
  async attest(): Promise<string> {
    if (this.#passportToken !== undefined) throw new KbsClientError('usage', 'a client created with a token cannot attest');
    if (this.#token !== undefined && tokenIsCurrent(this.#token, this.#now())) return this.#token;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#rcarHandshake();
      } catch (error) {
        if (attempt >= this.#rcarMaxAttempts || (error instanceof KbsClientError && error.code === 'usage')) throw error;
        this.#log(`RCAR handshake failed (${describe(error)}), retry ${attempt}...`);
        if (this.#rcarRetryDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.#rcarRetryDelayMs));
      }
    }
  }

  /**
   * Fetches and decrypts a resource. `path` is `repo/type/tag` or a resource URI
   * (`kbs:///repo/type/tag`, `kbs+plugin:///a/b?q`).
   */
  async getResource(path: string): Promise<Uint8Array> {
    const location = parseResourceLocation(path);
    const url = this.#url(`${location.plugin}/${encodePath(location.segments)}`, location.query);
    const passport = this.#passportToken !== undefined;
    if (!passport) await this.attest();

    let lastError: KbsClientError | undefined;
    for (let attempt = 1; attempt <= this.#resourceMaxAttempts; attempt++) {
      const headers: Record<string, string> = {};
      if (passport) headers.Authorization = `Bearer ${this.#passportToken ?? ''}`;
      else this.#addCookie(headers);
      const response = await this.#transport({ method: 'GET', url, headers });
      if (response.status === 200) return this.#decrypt(response);
      const failure = kbsFailure(response, `GET resource ${location.segments.join('/')}`);
      if (response.status === 404) throw new KbsClientError('not_found', failure.message, { status: 404, ...(failure.info === undefined ? {} : { info: failure.info }) });
      if (response.status !== 401 || failure.info === undefined) throw failure;
      lastError = failure;
      if (passport) break;
      if (attempt < this.#resourceMaxAttempts) {
        this.#log(`resource request unauthorized (${failure.info.type}), new RCAR handshake`);
        await this.#rcarHandshake();
      }
    }
    throw new KbsClientError('unauthorized', lastError?.message ?? 'resource request unauthorized', {
      status: 401,
      ...(lastError?.info === undefined ? {} : { info: lastError.info }),
    });
  }

  /** `POST /resource/<path>` with the raw bytes (admin). */
  async setResource(path: string, content: Uint8Array): Promise<void> {
    const url = this.#url(`resource/${encodePath(splitPath(path, 'resource path'))}`);
    await this.#admin('POST', url, content, 'application/octet-stream');
  }

  /** `DELETE /resource/<path>` (admin). */
  async deleteResource(path: string): Promise<void> {
    await this.#admin('DELETE', this.#url(`resource/${encodePath(splitPath(path, 'resource path'))}`));
  }

  /** `POST /attestation-policy` with `{"type","policy_id","policy":<b64url>}` (admin). */
  async setAttestationPolicy(policy: string | Uint8Array, options: AttestationPolicyOptions = {}): Promise<void> {
    const body = JSON.stringify({ type: options.type ?? 'rego', policy_id: options.id ?? 'default_cpu', policy: b64url.encode(bytesOf(policy)) });
    await this.#admin('POST', this.#url('attestation-policy'), Buffer.from(body, 'utf8'), 'application/json');
  }

  /** `POST /resource-policy` with `{"policy":<b64url>}` (admin). */
  async setResourcePolicy(policy: string | Uint8Array): Promise<void> {
    const body = JSON.stringify({ policy: b64url.encode(bytesOf(policy)) });
    await this.#admin('POST', this.#url('resource-policy'), Buffer.from(body, 'utf8'), 'application/json');
  }

  /** `GET /resource-policy`: the stored resource-policy ids (admin). */
  async getResourcePolicy(): Promise<string[]> {
    const value = jsonBody(await this.#admin('GET', this.#url('resource-policy')), 'resource-policy list');
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
      throw new KbsClientError('protocol', 'resource-policy list is not a JSON array of strings');
    }
    return value;
  }

  /** `POST /resource-policy/scope/<scope>` with `{"policy":<b64url>}` (admin; scope `repo`, `repo/type` or `repo/type/tag`). */
  async setScopedPolicy(scope: string, policy: string | Uint8Array): Promise<void> {
    const body = JSON.stringify({ policy: b64url.encode(bytesOf(policy)) });
    await this.#admin('POST', this.#url(`resource-policy/scope/${encodePath(splitPath(scope, 'scope'))}`), Buffer.from(body, 'utf8'), 'application/json');
  }

  /** `GET /resource-policy/scope/<scope>`: the scoped policy's Rego text (admin). */
  async getScopedPolicy(scope: string): Promise<string> {
    const value = jsonBody(await this.#admin('GET', this.#url(`resource-policy/scope/${encodePath(splitPath(scope, 'scope'))}`)), 'scoped policy');
    const policy = typeof value === 'object' && value !== null ? (value as { policy?: unknown }).policy : undefined;
    if (typeof policy !== 'string') throw new KbsClientError('protocol', 'scoped policy answer has no policy');
    return Buffer.from(b64url.decode(policy)).toString('utf8');
  }

  /** `GET /resource-policy/scope`: the scopes that have a policy (admin). */
  async listScopedPolicies(): Promise<string[]> {
    const value = jsonBody(await this.#admin('GET', this.#url('resource-policy/scope')), 'scope list');
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw new KbsClientError('protocol', 'scope list is not a JSON array of strings');
    return value;
  }

  /** `DELETE /resource-policy/scope/<scope>` (admin). */
  async deleteScopedPolicy(scope: string): Promise<void> {
    await this.#admin('DELETE', this.#url(`resource-policy/scope/${encodePath(splitPath(scope, 'scope'))}`));
  }

  /**
   * `POST /resource-policy/explain/<path>`: allow/deny per policy with the failing rule bodies,
   * expressions and compared values, for a token, a recorded decision id or a claims document (admin).
   */
  async explainResourcePolicy(path: string, source: { token: string } | { decision_id: string } | { claims: Json }, plugin = 'resource'): Promise<Json> {
    const body = JSON.stringify({ ...source, ...(plugin === 'resource' ? {} : { plugin }) });
    return jsonBody(await this.#admin('POST', this.#url(`resource-policy/explain/${encodePath(splitPath(path, 'resource path'))}`), Buffer.from(body, 'utf8'), 'application/json'), 'explanation') as Json;
  }

  /** `GET /resource-policy/decisions[/for/<scope>]`: the newest recorded decisions, all or below a scope (admin). */
  async listDecisions(scope?: string): Promise<Json> {
    const path = scope === undefined ? 'resource-policy/decisions' : `resource-policy/decisions/for/${encodePath(splitPath(scope, 'scope'))}`;
    return jsonBody(await this.#admin('GET', this.#url(path)), 'decision list') as Json;
  }

  /** `POST /resource-policy/dry-run[/<scope>]`: which recorded decisions the candidate policy changes (admin). */
  async dryRunResourcePolicy(policy: string | Uint8Array, scope?: string): Promise<Json> {
    const body = JSON.stringify({ policy: b64url.encode(bytesOf(policy)) });
    const path = scope === undefined ? 'resource-policy/dry-run' : `resource-policy/dry-run/${encodePath(splitPath(scope, 'scope'))}`;
    return jsonBody(await this.#admin('POST', this.#url(path), Buffer.from(body, 'utf8'), 'application/json'), 'dry run') as Json;
  }

  /**
   * `POST /reference-value` with an RVPS `sample` message whose provenance is `{name: value}`
   * (admin). The KBS/RVPS must have the sample extractor enabled.
   */
  async setSampleReferenceValue(name: string, value: Json): Promise<void> {
    const provenance = canonicalJson({ [name]: value });
    const message = canonicalJson({ version: '0.1.0', type: 'sample', payload: b64std.encode(Buffer.from(provenance, 'utf8')) });
    await this.#admin('POST', this.#url('reference-value'), Buffer.from(message, 'utf8'), 'application/json');
  }

  /** `GET /reference-value/<id>`: the stored value JSON (admin). */
  async getReferenceValue(id: string): Promise<Json> {
    const response = await this.#admin('GET', this.#url(`reference-value/${encodePath(splitPath(id, 'reference value id'))}`), undefined, 'application/json');
    return jsonBody(response, 'reference value') as Json;
  }

  async #rcarHandshake(): Promise<string> {
    const tee = this.#attester.tee;
    const extraParams = { 'supported-hash-algorithms': HASH_ALGORITHMS, ...(this.#policySelector === undefined ? {} : { id: this.#policySelector }) };
    const authBody = JSON.stringify({ version: KBS_PROTOCOL_VERSION, tee, 'extra-params': extraParams });
    const authResponse = await this.#rcarPost('auth', authBody);
    if (authResponse.status !== 200) throw kbsFailure(authResponse, 'RCAR auth');
    const challenge = protocolParse(() => parseChallenge(jsonBody(authResponse, 'challenge')));
    const hash = selectedHashAlgorithm(challenge['extra-params']);

    const teePubKey = this.#teeKey.publicJwk;
    const deviceDigest = runtimeDataDigest(deviceRuntimeData(challenge.nonce, teePubKey), hash);
    const deviceEvidence: Record<string, unknown> = {};
    for (const device of this.#deviceAttesters) {
      deviceEvidence[device.tee] = await evidenceFrom(device, deviceDigest, undefined);
    }
    const additionalEvidence = Object.keys(deviceEvidence).length === 0 ? '' : JSON.stringify(deviceEvidence);
    const primaryDigest = runtimeDataDigest(primaryRuntimeData(challenge.nonce, teePubKey, additionalEvidence), hash);
    const initDigest = this.#initData === undefined ? undefined : initDataDigest(this.#initData);
    const primaryEvidence = await evidenceFrom(this.#attester, primaryDigest, initDigest);

    const attestBody = JSON.stringify({
      'init-data': this.#initData === undefined ? null : initDataMessage(this.#initData),
      'runtime-data': { nonce: challenge.nonce, 'tee-pubkey': teePubKey },
      'tee-evidence': { primary_evidence: primaryEvidence, additional_evidence: additionalEvidence },
    });
    const attestResponse = await this.#rcarPost('attest', attestBody);
    if (attestResponse.status !== 200) throw kbsFailure(attestResponse, 'RCAR attest');
    const { token } = protocolParse(() => parseAttestResponse(jsonBody(attestResponse, 'attest response')));
    if (tokenTimes(token) === undefined) throw new KbsClientError('protocol', 'attestation token is not a JWT with a JSON payload');
    this.#token = token;
    return token;
  }

  async #rcarPost(endpoint: string, body: string): Promise<HttpResponse> {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    this.#addCookie(headers);
    const response = await this.#transport({ method: 'POST', url: this.#url(endpoint), headers, body: Buffer.from(body, 'utf8') });
    this.#jar.store(setCookies(response));
    return response;
  }

  async #admin(method: Method, url: URL, body?: Uint8Array, contentType?: string): Promise<HttpResponse> {
    const headers: Record<string, string> = {};
    if (contentType !== undefined) headers['Content-Type'] = contentType;
    if (this.#adminToken !== undefined) headers.Authorization = `Bearer ${this.#adminToken}`;
    else this.#log('no admin token provided; sending an anonymous admin request');
    const response = await this.#transport({ method, url, headers, ...(body === undefined ? {} : { body }) });
    if (response.status !== 200) throw kbsFailure(response, `${method} ${url.pathname}`);
    return response;
  }

  #decrypt(response: HttpResponse): Uint8Array {
    const jwe = protocolParse(() => parseJweResponse(jsonBody(response, 'JWE response')));
    try {
      return decryptJweResponse(jwe, this.#teeKey.privateKey);
    } catch (error) {
      throw new KbsClientError('decrypt', `cannot decrypt the resource: ${(error as Error).message}`, { cause: error });
    }
  }

  #addCookie(headers: Record<string, string>): void {
    const cookie = this.#jar.header();
    if (cookie !== undefined) headers.Cookie = cookie;
  }

  #url(relative: string, query?: string): URL {
    const url = new URL(this.#baseUrl.href);
    url.pathname = `${this.#basePath}${KBS_PREFIX}/${relative}`;
    if (query !== undefined) url.search = query;
    return url;
  }
}

function selectedHashAlgorithm(extraParams: Json): RuntimeHashAlgorithm {
  if (typeof extraParams !== 'object' || extraParams === null || Array.isArray(extraParams) || !Object.hasOwn(extraParams, 'selected-hash-algorithm')) {
    return DEFAULT_RUNTIME_HASH;
  }
  const selected = extraParams['selected-hash-algorithm'];
  if (typeof selected !== 'string') throw new KbsClientError('protocol', 'challenge selected-hash-algorithm is not a string');
  const name = selected.toLowerCase();
  if (!(HASH_ALGORITHMS as readonly string[]).includes(name)) throw new KbsClientError('protocol', `challenge selected an unknown hash algorithm ${JSON.stringify(selected)}`);
  return name as RuntimeHashAlgorithm;
}

async function evidenceFrom(attester: Attester, reportData: Uint8Array, initDigest: Uint8Array | undefined): Promise<unknown> {
  let evidence: unknown;
  try {
    evidence = await attester.getEvidence(reportData, initDigest);
  } catch (error) {
    if (error instanceof KbsClientError) throw error;
    throw new KbsClientError('evidence', `${attester.tee} attester failed: ${describe(error)}`, { cause: error });
  }
  if (evidence === undefined) throw new KbsClientError('evidence', `${attester.tee} attester returned no evidence`);
  return evidence;
}

/** Turns a non-200 KBS response into a KbsClientError carrying its ErrorInformation when parseable. */
function kbsFailure(response: HttpResponse, what: string): KbsClientError {
  let info: ErrorInformation | undefined;
  try {
    info = parseErrorInformation(JSON.parse(response.body.toString('utf8')));
  } catch {
    info = undefined;
  }
  if (info !== undefined) {
    return new KbsClientError('kbs', `${what} failed (HTTP ${response.status}): ${info.type}: ${info.detail}`, { status: response.status, info });
  }
  const text = response.body.toString('utf8').slice(0, 500);
  return new KbsClientError('kbs', `${what} failed (HTTP ${response.status}) without ErrorInformation: ${JSON.stringify(text)}`, { status: response.status });
}

function jsonBody(response: HttpResponse, what: string): unknown {
  try {
    return JSON.parse(response.body.toString('utf8'));
  } catch {
    throw new KbsClientError('protocol', `${what} is not JSON`);
  }
}

function protocolParse<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof ProtocolError) throw new KbsClientError('protocol', error.message, { cause: error });
    throw error;
  }
}

function setCookies(response: HttpResponse): string[] {
  const value = response.headers['set-cookie'];
  return value === undefined ? [] : value;
}

function bytesOf(value: string | Uint8Array): Uint8Array {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `exp`/`nbf` of a JWT payload (not verified: the client only needs to know when to re-attest). */
export function tokenTimes(token: string): { exp?: number; nbf?: number } | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1] === undefined) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(b64url.decode(parts[1])).toString('utf8'));
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return undefined;
    const { exp, nbf } = payload as Record<string, unknown>;
    return { ...(typeof exp === 'number' ? { exp } : {}), ...(typeof nbf === 'number' ? { nbf } : {}) };
  } catch {
    return undefined;
  }
}

function tokenIsCurrent(token: string, nowMs: number): boolean {
  const times = tokenTimes(token);
  if (times === undefined) return false;
  const now = nowMs / 1000;
  return (times.exp === undefined || times.exp >= now) && (times.nbf === undefined || times.nbf <= now);
}
