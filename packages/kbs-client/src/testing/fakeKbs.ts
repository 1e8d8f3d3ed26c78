/**
 * A small in-process KBS for the client's tests: it speaks RCAR 0.4.0 over real HTTP, checks
 * the sample evidence binding exactly like the sample verifier (report_data == b64std(H(JCS))),
 * encrypts resources with the protocol package's JWE, and records every request byte for
 * assertions. It is deliberately independent from services/kbs.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  b64std,
  b64url,
  deviceRuntimeData,
  encryptForTeeKey,
  errorTypeUri,
  parseAdditionalEvidence,
  parseAttestationRequest,
  parseAuthRequest,
  primaryRuntimeData,
  runtimeDataDigest,
  type Json,
  type KbsErrorVariant,
  type RuntimeHashAlgorithm,
  type TeePubKey,
} from '@trustee/protocol';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface FakeKbsOptions {
  /** `extra-params` of the challenge; default `""`. */
  readonly challengeExtraParams?: Json;
  /** Fixed challenge nonce (default 32 random bytes, standard base64). */
  readonly nonce?: string;
  /** Number of initial `/auth` calls answered with 401. */
  readonly failAuthTimes?: number;
  /** Resource policy: allow? Default allow all. */
  readonly allow?: (claims: Record<string, unknown>, path: readonly string[]) => boolean;
  /** Admin token the admin endpoints require (default: none required). */
  readonly adminToken?: string;
  readonly tokenTtlSeconds?: number;
  /** Serve HTTPS with this key/cert. */
  readonly tls?: { readonly key: string; readonly cert: string };
}

interface Session {
  tee: string;
  nonce: string;
  hash: RuntimeHashAlgorithm;
  token?: string;
}

const HASHES: readonly string[] = ['sha256', 'sha384', 'sha512'];

export class FakeKbs {
  readonly requests: RecordedRequest[] = [];
  readonly resources = new Map<string, Uint8Array>();
  readonly referenceValues = new Map<string, Json>();
  readonly policies: Array<{ endpoint: string; body: unknown }> = [];
  readonly #sessions = new Map<string, Session>();
  readonly #server: http.Server;
  readonly #options: FakeKbsOptions;
  #authCalls = 0;
  url = '';

  private constructor(options: FakeKbsOptions) {
    this.#options = options;
    const handler = (request: http.IncomingMessage, response: http.ServerResponse): void => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const recorded: RecordedRequest = { method: request.method ?? '', path: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks) };
        this.requests.push(recorded);
        try {
          this.#handle(recorded, response);
        } catch (error) {
          this.#fail(response, 'SerdeError', (error as Error).message);
        }
      });
    };
    this.#server = options.tls === undefined ? http.createServer(handler) : https.createServer({ key: options.tls.key, cert: options.tls.cert }, handler);
  }

  static async start(options: FakeKbsOptions = {}): Promise<FakeKbs> {
    const kbs = new FakeKbs(options);
    await new Promise<void>((resolve) => kbs.#server.listen(0, '127.0.0.1', resolve));
    const { port } = kbs.#server.address() as AddressInfo;
    kbs.url = `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`;
    return kbs;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  /** Requests whose path starts with the given prefix (e.g. `/kbs/v0/auth`). */
  requestsTo(prefix: string): RecordedRequest[] {
    return this.requests.filter((request) => request.path.startsWith(prefix));
  }

  #handle(request: RecordedRequest, response: http.ServerResponse): void {
    const url = new URL(request.path, 'http://kbs');
    const segments = url.pathname.split('/').slice(3).map(decodeURIComponent);
    const [first, ...rest] = segments;
    const route = `${request.method} ${first ?? ''}`;
    if (!url.pathname.startsWith('/kbs/v0/')) return this.#fail(response, 'InvalidRequestPath', `Request path ${url.pathname} is invalid`, 404);
    switch (route) {
      case 'POST auth':
        return this.#auth(request, response);
      case 'POST attest':
        return this.#attest(request, response);
      case 'GET resource':
        return this.#getResource(request, rest, response);
      case 'POST resource':
      case 'DELETE resource':
      case 'POST attestation-policy':
      case 'POST resource-policy':
      case 'GET resource-policy':
      case 'POST reference-value':
      case 'GET reference-value':
        return this.#admin(request, first ?? '', rest, response);
      default:
        return this.#fail(response, 'PluginNotFound', `Plugin ${first ?? ''} not found`, 404);
    }
  }

  #auth(request: RecordedRequest, response: http.ServerResponse): void {
    this.#authCalls++;
    if (this.#authCalls <= (this.#options.failAuthTimes ?? 0)) {
      return this.#fail(response, 'AttestationError', 'Attestation error: RCAR handshake Auth failed: injected failure');
    }
    const auth = parseAuthRequest(JSON.parse(request.body.toString('utf8')));
    if (auth.version !== '0.4.0') {
      return this.#fail(response, 'AttestationError', `Attestation error: RCAR handshake Auth failed: KBS Client Protocol Version Mismatch: expect =0.4.0 while the request is ${auth.version}`);
    }
    const extra = this.#options.challengeExtraParams ?? '';
    let hash: RuntimeHashAlgorithm = 'sha384';
    if (typeof extra === 'object' && extra !== null && !Array.isArray(extra)) {
      const selected = extra['selected-hash-algorithm'];
      if (typeof selected === 'string' && HASHES.includes(selected.toLowerCase())) hash = selected.toLowerCase() as RuntimeHashAlgorithm;
    }
    const id = randomBytes(16).toString('hex');
    const nonce = this.#options.nonce ?? b64std.encode(randomBytes(32));
    this.#sessions.set(id, { tee: auth.tee, nonce, hash });
    response.setHeader('Set-Cookie', `kbs-session-id=${id}; Expires=${new Date(Date.now() + 300_000).toUTCString()}`);
    this.#json(response, { nonce, 'extra-params': extra });
  }

  #attest(request: RecordedRequest, response: http.ServerResponse): void {
    const session = this.#session(request);
    if (session === undefined) return this.#fail(response, 'AttestationError', 'Attestation error: RCAR handshake Attest failed');
    const [id, state] = session;
    const attestation = parseAttestationRequest(JSON.parse(request.body.toString('utf8')));
    const runtime = attestation['runtime-data'];
    const additional = attestation['tee-evidence'].additional_evidence;
    const key = runtime['tee-pubkey'];
    const primaryDigest = runtimeDataDigest(primaryRuntimeData(runtime.nonce, key, additional), state.hash);
    const deviceDigest = runtimeDataDigest(deviceRuntimeData(runtime.nonce, key), state.hash);
    const primary = attestation['tee-evidence'].primary_evidence as Record<string, Json>;
    const devices = parseAdditionalEvidence(additional);
    const bound =
      runtime.nonce === state.nonce &&
      (state.tee !== 'sample' || primary.report_data === b64std.encode(primaryDigest)) &&
      Object.entries(devices).every(([tee, evidence]) => tee !== 'sampledevice' || (evidence as Record<string, Json>).report_data === b64std.encode(deviceDigest));
    if (!bound) return this.#fail(response, 'AttestationError', 'Attestation error: RCAR handshake Attest failed');
    const now = Math.floor(Date.now() / 1000);
    const claims = { iat: now, exp: now + (this.#options.tokenTtlSeconds ?? 300), tee: state.tee, 'tee-pubkey': key, 'init-data': attestation['init-data'] ?? null, devices: Object.keys(devices) };
    const token = `${b64url.encode(Buffer.from('{"alg":"none"}'))}.${b64url.encode(Buffer.from(JSON.stringify(claims)))}.c2ln`;
    state.token = token;
    response.setHeader('Set-Cookie', `kbs-session-id=${id}; Expires=${new Date(Date.now() + 300_000).toUTCString()}`);
    this.#json(response, { token });
  }

  #getResource(request: RecordedRequest, path: string[], response: http.ServerResponse): void {
    const sessionToken = this.#session(request)?.[1].token;
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const token = sessionToken ?? bearer;
    if (token === undefined) return this.#fail(response, 'TokenNotFound', 'Attestation Token not found');
    const claims = JSON.parse(Buffer.from(b64url.decode(token.split('.')[1] ?? '')).toString('utf8')) as Record<string, unknown>;
    if (!(this.#options.allow ?? (() => true))(claims, path)) return this.#fail(response, 'PolicyDeny', 'Access denied by policy');
    const resource = this.resources.get(path.join('/'));
    if (resource === undefined) return this.#fail(response, 'PluginInternalError', 'Plugin internal error');
    this.#json(response, encryptForTeeKey(resource, claims['tee-pubkey'] as TeePubKey));
  }

  #admin(request: RecordedRequest, endpoint: string, rest: string[], response: http.ServerResponse): void {
    const required = this.#options.adminToken;
    if (required !== undefined && request.headers.authorization !== `Bearer ${required}`) {
      return this.#fail(response, 'AdminAuthAccess', `admin access denied for endpoint ${request.path}: Admin access denied: Cannot verify token with any of the issuers`);
    }
    const key = rest.join('/');
    switch (`${request.method} ${endpoint}`) {
      case 'POST resource':
        this.resources.set(key, new Uint8Array(request.body));
        return this.#ok(response);
      case 'DELETE resource':
        if (!this.resources.delete(key)) return this.#fail(response, 'PluginInternalError', 'Plugin internal error');
        return this.#ok(response);
      case 'GET resource-policy':
        return this.#json(response, ['resource-policy']);
      case 'POST reference-value': {
        const message = JSON.parse(request.body.toString('utf8')) as { payload: string };
        const provenance = JSON.parse(Buffer.from(b64std.decode(message.payload)).toString('utf8')) as Record<string, Json>;
        for (const [name, value] of Object.entries(provenance)) this.referenceValues.set(name, value);
        return this.#json(response, null, '');
      }
      case 'GET reference-value': {
        const value = this.referenceValues.get(key);
        if (value === undefined) return this.#fail(response, 'RvpsError', `RVPS configuration failed: reference value ${key} not found`);
        return this.#json(response, value);
      }
      default:
        this.policies.push({ endpoint, body: JSON.parse(request.body.toString('utf8')) as unknown });
        return this.#ok(response);
    }
  }

  #session(request: RecordedRequest): [string, Session] | undefined {
    const id = /(?:^|;\s*)kbs-session-id=([^;]+)/.exec(request.headers.cookie ?? '')?.[1];
    const session = id === undefined ? undefined : this.#sessions.get(id);
    return id === undefined || session === undefined ? undefined : [id, session];
  }

  #ok(response: http.ServerResponse): void {
    response.writeHead(200, { 'Content-Type': 'text/xml' }).end();
  }

  #json(response: http.ServerResponse, value: unknown, text = JSON.stringify(value)): void {
    response.writeHead(200, { 'Content-Type': 'application/json' }).end(text);
  }

  #fail(response: http.ServerResponse, variant: KbsErrorVariant, detail: string, status = 401): void {
    response.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify({ type: errorTypeUri(variant), detail }));
  }
}
