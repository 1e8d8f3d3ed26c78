/**
 * Plugin requests, `/kbs/v0/{plugin}/{rest...}` (upstream trustee
 * `kbs/src/plugins/plugin_manager.rs`): the plugin decides per request whether it is an admin call
 * or a token + resource-policy call; encrypted answers are JWEs to the TEE key found in the
 * verified token.
 */
import type { Logger } from '@trustee/log';
import { encryptForTeeKey } from '@trustee/protocol';
import { isWithinKeyLimits, type ResourceRepository } from '@trustee/storage';
import type { JsonObject, TokenVerifier } from './backends.ts';
import { KbsError, kbsErrors, rethrowIfUnavailable } from './errors.ts';
import type { PolicyVerdict } from './policies/decisions.ts';
import type { ResourcePolicies } from './policies/resourcePolicies.ts';
import type { SessionManager } from './sessions.ts';
import { sessionIdFromCookie } from './sessions.ts';

export interface PluginRequest {
  readonly method: string;
  /** Path segments after the plugin name. */
  readonly path: readonly string[];
  readonly query: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

export interface KbsPlugin {
  readonly name: string;
  /** `true` → the request needs admin authorization; `false` → attestation token + resource policy. */
  requiresAdmin(request: PluginRequest): boolean;
  handle(request: PluginRequest): Promise<Uint8Array>;
  /** Whether the answer must be encrypted to the TEE key. */
  encrypted(request: PluginRequest): boolean;
}

/** `[A-Za-z0-9_-]+[A-Za-z0-9_.-]*`, exactly three segments (T:…/resource/backend.rs). */
const RESOURCE_SEGMENT = /^[A-Za-z0-9_-]+[A-Za-z0-9_.-]*$/;

/**
 * Upstream's segment rules, and the storage key-size limit of every backend (@trustee/storage
 * MAX_KEY_LENGTH), checked before storage so an over-long path gets the same answer as any
 * other invalid path whichever backend holds the resources.
 */
export function isValidResourcePath(path: readonly string[]): boolean {
  return path.length === 3 && path.every((segment) => RESOURCE_SEGMENT.test(segment)) && isWithinKeyLimits(path.join('/'));
}

/** The `resource` plugin: GET releases (encrypted), POST/DELETE are admin writes. */
export class ResourcePlugin implements KbsPlugin {
  readonly name = 'resource';
  readonly #repository: ResourceRepository;

  constructor(repository: ResourceRepository) {
    this.#repository = repository;
  }

  requiresAdmin(request: PluginRequest): boolean {
    return request.method === 'POST' || request.method === 'DELETE';
  }

  encrypted(request: PluginRequest): boolean {
    return request.method === 'GET';
  }

  async handle(request: PluginRequest): Promise<Uint8Array> {
    if (!isValidResourcePath(request.path)) throw kbsErrors.pluginInternal('invalid resource path');
    const key = request.path.join('/');
    switch (request.method) {
      case 'GET': {
        const value = await this.#repository.read(key);
        if (value === undefined) throw kbsErrors.pluginInternal('resource not found');
        return value;
      }
      case 'POST':
        await this.#repository.write(key, request.body);
        return new Uint8Array();
      case 'DELETE':
        if (!(await this.#repository.delete(key))) throw kbsErrors.pluginInternal('resource not found');
        return new Uint8Array();
      default:
        throw kbsErrors.pluginInternal(`method ${request.method} not supported by the resource plugin`);
    }
  }
}

/** The `sample` plugin (upstream demo): every method is admin-only and answers a fixed text. */
export class SamplePlugin implements KbsPlugin {
  readonly name = 'sample';

  requiresAdmin(): boolean {
    return true;
  }

  encrypted(): boolean {
    return false;
  }

  async handle(): Promise<Uint8Array> {
    return new TextEncoder().encode('sample plugin response');
  }
}

export interface PluginResponse {
  readonly contentType: 'application/json' | 'text/xml';
  readonly body: Uint8Array | string;
}

export interface PluginDeps {
  readonly plugins: ReadonlyMap<string, KbsPlugin>;
  readonly sessions: SessionManager | undefined;
  readonly tokenVerifier: TokenVerifier;
  /** The global resource policy and the scoped ones, with the decision log. */
  readonly policies: ResourcePolicies;
  /** The request's logger (`request.log`, with its `reqId`). */
  readonly log?: Logger;
  /** Rejects with KbsError (AdminAuthInitialization, upstream's quirk for plugin admin paths) when denied. */
  authorizeAdmin(headers: RequestHeaders, uri: string): Promise<void>;
  readonly onPolicyDecision?: (result: 'allow' | 'deny' | 'error') => void;
  /** The verified claims, the decision id and the verdicts (audit trail), before the guest learns the outcome. */
  readonly onDecision?: (event: { readonly result: 'allow' | 'deny' | 'error'; readonly claims: JsonObject; readonly decisionId: string | undefined; readonly verdicts: readonly PolicyVerdict[]; readonly globalPolicyHash?: string | undefined }) => void;
  /** Called after a token-authorised answer was produced (audit: what went to which attested TEE). */
  readonly onRelease?: (event: { plugin: string; path: string; issuer: string | undefined; status: string | undefined; decision: string }) => void;
}

export interface RequestHeaders {
  readonly cookie?: string | undefined;
  readonly authorization?: string | undefined;
}

const BEARER = /^Bearer +([^\s]+)\s*$/i;
const ALLOW_RULE_NAME = 'data.policy.allow';

/** Token of an attested, live session first, else the Bearer header (upstream `kbs/src/api_server.rs`). */
async function findToken(headers: RequestHeaders, sessions: SessionManager | undefined): Promise<string> {
  const id = sessionIdFromCookie(headers.cookie);
  if (id !== undefined && sessions !== undefined) {
    const session = await sessions.get(id);
    if (session?.state.status === 'Attested') return session.state.token;
  }
  const match = headers.authorization === undefined ? null : BEARER.exec(headers.authorization);
  if (match?.[1] === undefined) throw kbsErrors.tokenNotFound();
  return match[1];
}

/** Upstream wraps every plugin failure (storage backend errors included) as PluginInternalError. */
async function runPlugin(plugin: KbsPlugin, request: PluginRequest): Promise<Uint8Array> {
  try {
    return await plugin.handle(request);
  } catch (error) {
    if (error instanceof KbsError) throw error;
    rethrowIfUnavailable(error);
    throw kbsErrors.pluginInternal(`${plugin.name} plugin failed: ${(error as Error).message}`);
  }
}

export async function handlePluginRequest(pluginName: string, request: PluginRequest, headers: RequestHeaders, uri: string, deps: PluginDeps): Promise<PluginResponse> {
  const plugin = deps.plugins.get(pluginName);
  if (plugin === undefined) throw kbsErrors.pluginNotFound(pluginName);

  if (plugin.requiresAdmin(request)) {
    await deps.authorizeAdmin(headers, uri);
    return { contentType: 'text/xml', body: await runPlugin(plugin, request) };
  }

  const token = await findToken(headers, deps.sessions);
  let claims: JsonObject;
  try {
    claims = await deps.tokenVerifier.verify(token);
  } catch (error) {
    throw kbsErrors.tokenVerifier((error as Error).message);
  }
  let decision;
  try {
    decision = await deps.policies.decide(claims, { plugin: pluginName, path: request.path, query: request.query }, deps.log);
  } catch (error) {
    deps.onPolicyDecision?.('error');
    deps.onDecision?.({ result: 'error', claims, decisionId: undefined, verdicts: [] });
    throw error;
  }
  deps.onPolicyDecision?.(decision.allowed ? 'allow' : 'deny');
  deps.onDecision?.({ result: decision.allowed ? 'allow' : 'deny', claims, decisionId: decision.decisionId, verdicts: decision.verdicts, globalPolicyHash: decision.globalPolicyHash });
  if (!decision.allowed) {
    // The guest gets upstream's PolicyDeny; the reason (logged) names the policy and the decision id to explain.
    const denied = decision.verdicts.find((verdict) => verdict.result !== true)?.policy ?? 'resource-policy';
    throw kbsErrors.policyDeny(`${ALLOW_RULE_NAME} of ${denied} is not true for ${pluginName}/${request.path.join('/')} (decision ${decision.decisionId})`);
  }

  const plaintext = await runPlugin(plugin, request);
  const release = (): void => deps.onRelease?.({ plugin: pluginName, path: request.path.join('/'), issuer: stringClaim(claims, 'iss'), status: earStatus(claims), decision: decision.decisionId });
  if (!plugin.encrypted(request)) {
    release();
    return { contentType: 'text/xml', body: plaintext };
  }
  let teePubKey;
  try {
    teePubKey = deps.tokenVerifier.extractTeePubKey(claims);
  } catch (error) {
    throw kbsErrors.tokenVerifier(`tee-pubkey in the token claims is invalid: ${(error as Error).message}`);
  }
  if (teePubKey === undefined) throw kbsErrors.tokenVerifier('no tee-pubkey in the token claims');
  let body: string;
  try {
    body = JSON.stringify(encryptForTeeKey(plaintext, teePubKey));
  } catch (error) {
    if (error instanceof KbsError) throw error;
    throw kbsErrors.jwe((error as Error).message);
  }
  release();
  return { contentType: 'application/json', body };
}

function stringClaim(claims: JsonObject, name: string): string | undefined {
  const value = claims[name];
  return typeof value === 'string' ? value : undefined;
}

/** `submods.cpu0["ear.status"]` of an EAR token, when present. */
function earStatus(claims: JsonObject): string | undefined {
  const submods = claims['submods'];
  if (typeof submods !== 'object' || submods === null || Array.isArray(submods)) return undefined;
  const cpu0 = submods['cpu0'];
  if (typeof cpu0 !== 'object' || cpu0 === null || Array.isArray(cpu0)) return undefined;
  const status = cpu0['ear.status'];
  return typeof status === 'string' ? status : undefined;
}

