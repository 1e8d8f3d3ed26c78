/**
 * A local HTTPS stand-in for the Azure Key Vault secrets data plane, good enough for the real
 * `@azure/keyvault-secrets` SDK (each behaviour below is what SDK 4.12 expects;
 * `fakeKeyVault.test.ts` drives the real SDK against it):
 *
 * - HTTPS on 127.0.0.1 with a self-signed certificate, trusted by the client through a per-call
 *   pipeline policy (`clientOptions()`), never by disabling TLS verification;
 * - challenge authentication: a request without `Authorization` gets 401 with the
 *   `WWW-Authenticate: Bearer authorization=..., resource=...` header, then Bearer tokens from
 *   `credential()` are accepted;
 * - secrets with versions (every PUT adds one), case-insensitive names, content types, tags,
 *   enabled/nbf/exp attributes; disabled secrets answer 403 `SecretDisabled` like the service;
 * - soft delete (`/deletedsecrets`: get, purge, recover), 409 `ObjectIsDeletedButRecoverable`
 *   when a PUT reuses a soft-deleted name, paged listing with `nextLink`;
 * - an operator's side door (`putSecret`, `latest`, ...) to change the vault behind the KBS's
 *   back, a request log (no bodies, no values) and one-shot failure injection.
 *
 * @example
 * const vault = await FakeKeyVault.start();
 * const client = new SecretClient(vault.url, vault.credential(), vault.clientOptions());
 * await client.setSecret('x', 'y');
 * await vault.close();
 */
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:https';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import type { SecretClientOptions } from '@azure/keyvault-secrets';
import { createSelfSignedCertificate, type TlsMaterial } from './selfSignedCertificate.ts';

export const FAKE_TENANT_ID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const FAKE_TOKEN = 'fake-akv-access-token';
/** Path of the App Service-style managed identity endpoint (IDENTITY_ENDPOINT) the fake also serves. */
const MANAGED_IDENTITY_PATH = '/msi/token';
const NAME_PATTERN = /^[0-9a-zA-Z-]{1,127}$/;
const MAX_VALUE_LENGTH = 25 * 1024;
const RECOVERY_LEVEL = 'Recoverable+Purgeable';
const RECOVERABLE_DAYS = 90;

export interface FakeKeyVaultOptions {
  /** Default: a fresh self-signed certificate for 127.0.0.1. */
  readonly tls?: TlsMaterial;
  /** Items per listing page (the service's own maximum is 25). Default 25. */
  readonly pageSize?: number;
  /** Soft delete on (the default for every vault since 2020). Default true. */
  readonly softDelete?: boolean;
  /** Clock for created/updated/deleted timestamps, ms. Default Date.now. */
  readonly now?: () => number;
}

export interface OperatorSecretOptions {
  readonly contentType?: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly enabled?: boolean;
  readonly notBefore?: Date;
  readonly expiresOn?: Date;
}

interface SecretVersion {
  readonly version: string;
  readonly value: string;
  readonly contentType: string | undefined;
  readonly tags: Readonly<Record<string, string>> | undefined;
  readonly enabled: boolean;
  readonly nbf: number | undefined;
  readonly exp: number | undefined;
  readonly created: number;
}

interface SecretRecord {
  /** The name as first created (Key Vault keeps its case, matches case-insensitively). */
  readonly name: string;
  readonly versions: SecretVersion[];
}

interface DeletedRecord {
  readonly record: SecretRecord;
  readonly deletedDate: number;
}

/** One request as the fake saw it. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly authorized: boolean;
}

interface InjectedDelay {
  readonly ms: number;
  remaining: number;
}

interface InjectedFailure {
  readonly status: number;
  readonly code: string;
  readonly innerCode?: string;
  remaining: number;
}

export interface SecretSnapshot {
  readonly name: string;
  readonly version: string;
  readonly value: string;
  readonly contentType: string | undefined;
  readonly tags: Readonly<Record<string, string>> | undefined;
  readonly versionCount: number;
}

type SecretRequest = FastifyRequest<{ Params: { name: string; version?: string }; Querystring: Record<string, string | undefined> }>;

function errorBody(code: string, message: string, innerCode?: string): { error: Record<string, unknown> } {
  return { error: { code, message, ...(innerCode === undefined ? {} : { innererror: { code: innerCode } }) } };
}

function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}

function optionalInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

export class FakeKeyVault {
  #url = '';
  /** Trust anchor for clients (the server certificate itself). */
  readonly caPem: string;
  readonly requests: RecordedRequest[] = [];
  /** `getToken` calls made on `credential()` objects. */
  tokenRequests = 0;

  readonly #app: FastifyInstance;
  readonly #agent: Agent;
  readonly #secrets = new Map<string, SecretRecord>();
  readonly #deleted = new Map<string, DeletedRecord>();
  readonly #validTokens = new Set<string>([FAKE_TOKEN]);
  readonly #identityHeader = randomBytes(16).toString('hex');
  readonly #failures: InjectedFailure[] = [];
  readonly #delays: InjectedDelay[] = [];
  readonly #pageSize: number;
  readonly #softDelete: boolean;
  readonly #now: () => number;

  private constructor(tls: TlsMaterial, options: FakeKeyVaultOptions) {
    this.#app = Fastify({ https: { key: tls.key, cert: tls.cert }, logger: false, forceCloseConnections: true });
    this.caPem = tls.cert;
    this.#agent = new Agent({ ca: tls.cert, keepAlive: false });
    this.#pageSize = options.pageSize ?? 25;
    this.#softDelete = options.softDelete ?? true;
    this.#now = options.now ?? Date.now;
    this.#routes();
  }

  /** `https://127.0.0.1:<port>`, the vault URL to give the SDK. */
  get url(): string {
    return this.#url;
  }

  static async start(options: FakeKeyVaultOptions = {}): Promise<FakeKeyVault> {
    const tls = options.tls ?? (await createSelfSignedCertificate());
    const vault = new FakeKeyVault(tls, options);
    await vault.#app.listen({ host: '127.0.0.1', port: 0 });
    const address = vault.#app.server.address();
    if (address === null || typeof address === 'string') throw new Error('fake Key Vault has no TCP address');
    vault.#url = `https://127.0.0.1:${address.port}`;
    return vault;
  }

  // ---- what a test hands to the SDK -------------------------------------------------------

  /** A credential whose tokens the fake accepts (until `rejectTokens()`). */
  credential(): TokenCredential {
    return {
      getToken: async (_scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken> => {
        this.tokenRequests += 1;
        return { token: FAKE_TOKEN, expiresOnTimestamp: Date.now() + 3600_000 };
      },
    };
  }

  /** SecretClient options that reach this fake: trust its certificate, skip the resource-host check, no retries. */
  clientOptions(): SecretClientOptions {
    const agent = this.#agent;
    return {
      disableChallengeResourceVerification: true,
      retryOptions: { maxRetries: 0 },
      additionalPolicies: [
        {
          position: 'perCall',
          policy: {
            name: 'trustFakeKeyVaultCa',
            sendRequest: (request, next) => {
              request.agent = agent;
              return next(request);
            },
          },
        },
      ],
    };
  }

  /**
   * Environment for a child process (e.g. a KBS started with `credential = "managed_identity"`
   * and `disable_challenge_resource_verification = true`) to reach this fake: its CA through
   * NODE_EXTRA_CA_CERTS (a file you write with `caPem`), its token endpoint through
   * IDENTITY_ENDPOINT/IDENTITY_HEADER.
   */
  processEnvironment(caFile: string): Record<string, string> {
    return { NODE_EXTRA_CA_CERTS: caFile, IDENTITY_ENDPOINT: `${this.url}${MANAGED_IDENTITY_PATH}`, IDENTITY_HEADER: this.#identityHeader };
  }

    // ---- the operator's side door -----------------------------------------------------------

  /** Creates a new version directly, as someone using the portal or `az keyvault secret set` would. */
  putSecret(name: string, value: string, options: OperatorSecretOptions = {}): string {
    if (!NAME_PATTERN.test(name)) throw new Error(`invalid Key Vault secret name ${name}`);
    if (this.#deleted.has(name.toLowerCase())) throw new Error(`secret ${name} is deleted but recoverable; its name cannot be reused`);
    return this.#addVersion(name, {
      value,
      contentType: options.contentType,
      tags: options.tags,
      enabled: options.enabled ?? true,
      nbf: options.notBefore === undefined ? undefined : seconds(options.notBefore.getTime()),
      exp: options.expiresOn === undefined ? undefined : seconds(options.expiresOn.getTime()),
    });
  }

  /** The latest version of a live secret. */
  latest(name: string): SecretSnapshot | undefined {
    const record = this.#secrets.get(name.toLowerCase());
    const version = record?.versions.at(-1);
    if (record === undefined || version === undefined) return undefined;
    return { name: record.name, version: version.version, value: version.value, contentType: version.contentType, tags: version.tags, versionCount: record.versions.length };
  }

  /** Names of live secrets, as created. */
  names(): string[] {
    return [...this.#secrets.values()].map((record) => record.name).sort();
  }

  isSoftDeleted(name: string): boolean {
    return this.#deleted.has(name.toLowerCase());
  }

  /** The next `count` authorized requests fail with this status and error code. */
  failNext(count: number, status: number, code: string, innerCode?: string): void {
    this.#failures.push({ status, code, remaining: count, ...(innerCode === undefined ? {} : { innerCode }) });
  }

  /** The next `count` authorized requests are answered only after `ms` (a hung service). */
  delayNext(count: number, ms: number): void {
    this.#delays.push({ ms, remaining: count });
  }

  /** From now on every Bearer token is refused with 401 (a revoked role assignment). */
  rejectTokens(): void {
    this.#validTokens.clear();
  }

  /** Requests that reached a route, optionally only those with this method and path prefix. */
  count(method?: string, pathPrefix = ''): number {
    return this.requests.filter((request) => request.authorized && (method === undefined || request.method === method) && request.path.startsWith(pathPrefix)).length;
  }

  async close(): Promise<void> {
    this.#agent.destroy();
    await this.#app.close();
  }

  // ---- HTTP -------------------------------------------------------------------------------

  #addVersion(name: string, data: Omit<SecretVersion, 'version' | 'created'>): string {
    const key = name.toLowerCase();
    let record = this.#secrets.get(key);
    if (record === undefined) {
      record = { name, versions: [] };
      this.#secrets.set(key, record);
    }
    const version = randomBytes(16).toString('hex');
    record.versions.push({ ...data, version, created: seconds(this.#now()) });
    return version;
  }

  #attributes(version: SecretVersion): Record<string, unknown> {
    return {
      enabled: version.enabled,
      ...(version.nbf === undefined ? {} : { nbf: version.nbf }),
      ...(version.exp === undefined ? {} : { exp: version.exp }),
      created: version.created,
      updated: version.created,
      recoveryLevel: RECOVERY_LEVEL,
      recoverableDays: RECOVERABLE_DAYS,
    };
  }

  #bundle(record: SecretRecord, version: SecretVersion, withValue: boolean): Record<string, unknown> {
    return {
      ...(withValue ? { value: version.value } : {}),
      id: `${this.url}/secrets/${record.name}/${version.version}`,
      ...(version.contentType === undefined ? {} : { contentType: version.contentType }),
      attributes: this.#attributes(version),
      ...(version.tags === undefined ? {} : { tags: version.tags }),
    };
  }

  #deletedBundle(deleted: DeletedRecord): Record<string, unknown> {
    const version = deleted.record.versions.at(-1);
    return {
      ...(version === undefined ? {} : this.#bundle(deleted.record, version, false)),
      ...(this.#softDelete
        ? {
            recoveryId: `${this.url}/deletedsecrets/${deleted.record.name}`,
            deletedDate: deleted.deletedDate,
            scheduledPurgeDate: deleted.deletedDate + RECOVERABLE_DAYS * 86400,
          }
        : {}),
    };
  }

  /**
   * The App Service / Container Apps managed identity protocol (what ManagedIdentityCredential
   * speaks when IDENTITY_ENDPOINT and IDENTITY_HEADER are set), so a KBS *process* can get a
   * token from the fake with no code of its own: see `processEnvironment()`.
   */
  async #managedIdentityToken(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const authorized = request.headers['x-identity-header'] === this.#identityHeader;
    this.requests.push({ method: request.method, path: MANAGED_IDENTITY_PATH, authorized });
    if (!authorized) return reply.code(401).send({ error: 'invalid_request', error_description: 'X-IDENTITY-HEADER missing or wrong' });
    this.tokenRequests += 1;
    const query = request.query as Record<string, unknown>;
    return reply.code(200).send({
      access_token: FAKE_TOKEN,
      expires_on: String(Math.floor(Date.now() / 1000) + 3600),
      resource: typeof query['resource'] === 'string' ? query['resource'] : 'https://vault.azure.net',
      token_type: 'Bearer',
    });
  }

  #notFound(reply: FastifyReply, name: string, what = 'Secret'): FastifyReply {
    return reply.code(404).send(errorBody('SecretNotFound', `A secret with (name/id) ${name} was not found in this key vault. ${what === 'Secret' ? '' : '(deleted)'}`.trim()));
  }

  #routes(): void {
    const app = this.#app;
    // The challenge request carries `content-type: application/json` and no body.
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
      const text = typeof body === 'string' ? body : body.toString('utf8');
      if (text.length === 0) return done(null, undefined);
      try {
        done(null, JSON.parse(text) as unknown);
      } catch {
        done(Object.assign(new Error('request body is not JSON'), { statusCode: 400 }), undefined);
      }
    });

    app.addHook('onRequest', async (request, reply) => {
      const path = request.url.split('?')[0] ?? '';
      if (path === MANAGED_IDENTITY_PATH) return this.#managedIdentityToken(request, reply);
      const authorization = request.headers.authorization;
      const token = authorization?.startsWith('Bearer ') === true ? authorization.slice('Bearer '.length) : undefined;
      const authorized = token !== undefined && this.#validTokens.has(token);
      this.requests.push({ method: request.method, path, authorized });
      if (!authorized) {
        return reply
          .code(401)
          .header('www-authenticate', `Bearer authorization="https://login.microsoftonline.com/${FAKE_TENANT_ID}", resource="https://vault.azure.net"`)
          .send(token === undefined ? undefined : errorBody('Unauthorized', 'AKV10032: Invalid issuer or token.'));
      }
      const query = request.query as Record<string, unknown>;
      if (typeof query['api-version'] !== 'string') return reply.code(400).send(errorBody('BadParameter', 'The api-version query parameter is required.'));
      const delay = this.#delays[0];
      if (delay !== undefined) {
        delay.remaining -= 1;
        if (delay.remaining <= 0) this.#delays.shift();
        await new Promise((resolve) => setTimeout(resolve, delay.ms));
      }
      const failure = this.#failures[0];
      if (failure !== undefined) {
        failure.remaining -= 1;
        if (failure.remaining <= 0) this.#failures.shift();
        return reply.code(failure.status).send(errorBody(failure.code, `injected failure ${failure.status}`, failure.innerCode));
      }
      return undefined;
    });

    app.put('/secrets/:name', async (request: SecretRequest, reply) => {
      const { name } = request.params;
      if (!NAME_PATTERN.test(name)) return reply.code(400).send(errorBody('BadParameter', 'The secret name must be 1-127 characters of 0-9, a-z, A-Z and -.'));
      if (this.#deleted.has(name.toLowerCase())) {
        return reply
          .code(409)
          .send(errorBody('Conflict', `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`, 'ObjectIsDeletedButRecoverable'));
      }
      const body = request.body as { value?: unknown; contentType?: unknown; tags?: unknown; attributes?: unknown } | undefined;
      if (typeof body?.value !== 'string') return reply.code(400).send(errorBody('BadParameter', 'Property value is required.'));
      if (body.value.length > MAX_VALUE_LENGTH) return reply.code(400).send(errorBody('BadParameter', 'The secret value exceeds the maximum size of 25 KB.'));
      const attributes = (typeof body.attributes === 'object' && body.attributes !== null ? body.attributes : {}) as Record<string, unknown>;
      const tags = typeof body.tags === 'object' && body.tags !== null ? (body.tags as Record<string, string>) : undefined;
      this.#addVersion(name, {
        value: body.value,
        contentType: typeof body.contentType === 'string' ? body.contentType : undefined,
        tags,
        enabled: attributes['enabled'] !== false,
        nbf: optionalInteger(attributes['nbf']),
        exp: optionalInteger(attributes['exp']),
      });
      const record = this.#secrets.get(name.toLowerCase());
      const version = record?.versions.at(-1);
      if (record === undefined || version === undefined) return reply.code(500).send(errorBody('InternalError', 'lost the secret'));
      return reply.code(200).send(this.#bundle(record, version, true));
    });

    const getSecret = async (request: SecretRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const { name, version: wanted } = request.params;
      const record = this.#secrets.get(name.toLowerCase());
      const version = wanted === undefined || wanted === '' ? record?.versions.at(-1) : record?.versions.find((candidate) => candidate.version === wanted);
      if (record === undefined || version === undefined) return this.#notFound(reply, name);
      if (!version.enabled) return reply.code(403).send(errorBody('Forbidden', 'Operation get is not allowed on a disabled secret.', 'SecretDisabled'));
      return reply.code(200).send(this.#bundle(record, version, true));
    };
    app.get('/secrets/:name/', getSecret);
    app.get('/secrets/:name/:version', getSecret);

    app.get('/secrets', async (request: FastifyRequest<{ Querystring: Record<string, string | undefined> }>, reply) => {
      const requested = Number(request.query['maxresults'] ?? this.#pageSize);
      const pageSize = Number.isInteger(requested) && requested >= 1 ? Math.min(requested, this.#pageSize) : this.#pageSize;
      const offset = Number(request.query['$skiptoken'] ?? 0);
      if (!Number.isInteger(offset) || offset < 0) return reply.code(400).send(errorBody('BadParameter', 'invalid $skiptoken'));
      const records = [...this.#secrets.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const page = records.slice(offset, offset + pageSize).flatMap((record) => {
        const version = record.versions.at(-1);
        if (version === undefined) return [];
        return [
          {
            id: `${this.url}/secrets/${record.name}`,
            attributes: this.#attributes(version),
            ...(version.contentType === undefined ? {} : { contentType: version.contentType }),
            ...(version.tags === undefined ? {} : { tags: version.tags }),
          },
        ];
      });
      const more = offset + pageSize < records.length;
      const apiVersion = encodeURIComponent(request.query['api-version'] ?? '');
      return reply.code(200).send({
        value: page,
        nextLink: more ? `${this.url}/secrets?api-version=${apiVersion}&$skiptoken=${offset + pageSize}&maxresults=${pageSize}` : null,
      });
    });

    app.delete('/secrets/:name', async (request: SecretRequest, reply) => {
      const key = request.params.name.toLowerCase();
      const record = this.#secrets.get(key);
      if (record === undefined) return this.#notFound(reply, request.params.name);
      this.#secrets.delete(key);
      const deleted = { record, deletedDate: seconds(this.#now()) };
      if (this.#softDelete) this.#deleted.set(key, deleted);
      return reply.code(200).send(this.#deletedBundle(deleted));
    });

    app.get('/deletedsecrets/:name', async (request: SecretRequest, reply) => {
      const deleted = this.#deleted.get(request.params.name.toLowerCase());
      if (deleted === undefined) return this.#notFound(reply, request.params.name, 'Deleted secret');
      return reply.code(200).send(this.#deletedBundle(deleted));
    });

    app.delete('/deletedsecrets/:name', async (request: SecretRequest, reply) => {
      if (!this.#deleted.delete(request.params.name.toLowerCase())) return this.#notFound(reply, request.params.name, 'Deleted secret');
      return reply.code(204).send();
    });

    app.post('/deletedsecrets/:name/recover', async (request: SecretRequest, reply) => {
      const key = request.params.name.toLowerCase();
      const deleted = this.#deleted.get(key);
      const version = deleted?.record.versions.at(-1);
      if (deleted === undefined || version === undefined) return this.#notFound(reply, request.params.name, 'Deleted secret');
      this.#deleted.delete(key);
      this.#secrets.set(key, deleted.record);
      return reply.code(200).send(this.#bundle(deleted.record, version, false));
    });
  }
}
