/**
 * Admin endpoints below `/kbs/v0/resource-policy/` (ours; upstream has only the bare
 * `/kbs/v0/resource-policy`, which stays as it is). Every one passes the admin gate first, and the
 * resource path or scope is part of the URI, so a `regex_acl` rule such as
 * `^/kbs/v0/resource-policy/(scope|explain|dry-run|decisions/for)/acme(/.*)?$` confines a role to its scope.
 *
 * | method | path (after /kbs/v0/resource-policy/) | body | answer |
 * | --- | --- | --- | --- |
 * | GET | `scope` | | `["acme", "acme/keys", ...]` |
 * | GET | `scope/<scope>` | | `{"scope", "policy": b64url Rego}` |
 * | POST | `scope/<scope>` | `{"policy": b64url Rego}` | `{"scope"}` (checked before it is stored) |
 * | DELETE | `scope/<scope>` | | `{"scope", "deleted": true}` |
 * | POST | `explain/<repo>/<type>/<tag>` | `{"token"}`, `{"decision_id"}` or `{"claims"}`, optional `"plugin"`, `"query"` | ExplainReport |
 * | GET | `decisions` | | newest decisions first (no claims) |
 * | GET | `decisions/for/<scope>` | | newest decisions below a scope (no claims) |
 * | GET | `decisions/<id>` | | the decision record |
 * | POST | `dry-run` or `dry-run/<scope>` | `{"policy": b64url Rego}` | DryRunReport |
 *
 * `<scope>` is `repo`, `repo/type` or `repo/type/tag` (a trailing `/*` is accepted).
 */
import { compilePolicy } from '@trustee/rego';
import type { JsonObject, TokenVerifier } from '../backends.ts';
import { kbsErrors, parseJsonBody } from '../errors.ts';
import { decodePolicyText } from '../admin/policyBody.ts';
import { MAX_DECISIONS_READ, type DecisionRecord, type DecisionRequest } from './decisions.ts';
import type { PolicyTarget, ResourcePolicies } from './resourcePolicies.ts';
import { parseScope } from './scopes.ts';
import { PolicyRejected, validateResourcePolicy } from './validation.ts';

/** The first segments after `/kbs/v0/resource-policy/` that these endpoints serve. */
export const POLICY_ADMIN_SUBPATHS = ['scope', 'explain', 'decisions', 'dry-run'] as const;
const SUBPATHS = new Set<string>(POLICY_ADMIN_SUBPATHS);
/** Claims documents posted for explain are bounded like a token's claims (AS: 1 MiB per token). */
const MAX_CLAIMS_BYTES = 1024 * 1024;
const PLUGIN = /^[A-Za-z0-9_-]{1,64}$/;

export interface PolicyAdminDeps {
  readonly policies: ResourcePolicies;
  readonly tokenVerifier: TokenVerifier;
}

export interface PolicyAdminAnswer {
  readonly status: number;
  readonly body: string;
}

/** Whether `/kbs/v0/resource-policy/<rest>` is one of these endpoints (the bare path stays upstream's). */
export function isPolicyAdminPath(rest: readonly string[]): boolean {
  return rest.length > 0 && SUBPATHS.has(rest[0] ?? '');
}

function ok(value: unknown): PolicyAdminAnswer {
  return { status: 200, body: JSON.stringify(value) };
}

function objectBody(body: Uint8Array): Record<string, unknown> {
  const json = parseJsonBody(body, (message) => kbsErrors.parsePolicy(`invalid JSON: ${message}`));
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw kbsErrors.parsePolicy('body must be a JSON object');
  return json as Record<string, unknown>;
}

function scopeOf(segments: readonly string[]): string {
  const scope = parseScope(segments);
  if (scope === undefined) throw kbsErrors.invalidRequestPath(`/kbs/v0/resource-policy/scope/${segments.join('/')}`);
  return scope.join('/');
}

/** The posted policy text, checked (syntax, compile, no network builtins). */
function checkedPolicy(record: Record<string, unknown>): string {
  let source: string;
  try {
    source = decodePolicyText(record['policy']);
  } catch (error) {
    throw kbsErrors.parsePolicy((error as Error).message);
  }
  try {
    validateResourcePolicy(source);
  } catch (error) {
    if (error instanceof PolicyRejected) throw kbsErrors.policyEngine(error.message);
    throw error;
  }
  return source;
}

export async function handlePolicyAdmin(method: string, rest: readonly string[], body: Uint8Array, deps: PolicyAdminDeps): Promise<PolicyAdminAnswer> {
  const [sub, ...tail] = rest;
  const { policies } = deps;
  switch (`${method} ${sub ?? ''}`) {
    case 'GET scope':
      if (tail.length === 0) return ok(await policies.scoped.list());
      return getScope(policies, scopeOf(tail));
    case 'POST scope': {
      const scope = scopeOf(tail);
      await policies.scoped.set(scope, checkedPolicy(objectBody(body)));
      return ok({ scope });
    }
    case 'DELETE scope': {
      const scope = scopeOf(tail);
      if (!(await policies.scoped.delete(scope))) throw kbsErrors.policyEngine(`no policy for scope ${scope}`);
      return ok({ scope, deleted: true });
    }
    case 'POST explain':
      return ok(await explain(tail, objectBody(body), deps));
    case 'GET decisions':
      if (tail.length === 0) return ok(summaries(await policies.log.recent(100)));
      if (tail[0] === 'for') {
        // A team's own decisions: the scope is in the URI, so regex_acl can confine it.
        const scope = scopeOf(tail.slice(1));
        const records = await policies.log.recent(MAX_DECISIONS_READ);
        return ok(summaries(records.filter((r) => r.request.plugin === 'resource' && `${r.request.path.join('/')}/`.startsWith(`${scope}/`)).slice(0, 100)));
      }
      return getDecision(policies, tail);
    case 'POST dry-run': {
      const target: PolicyTarget = tail.length === 0 ? { kind: 'global' } : { kind: 'scope', scope: scopeOf(tail) };
      const source = checkedPolicy(objectBody(body));
      return ok(await policies.dryRun(target, compilePolicy(source), MAX_DECISIONS_READ));
    }
    default:
      throw kbsErrors.methodNotAllowed(method, `/kbs/v0/resource-policy/${rest.join('/')}`);
  }
}

function summaries(records: readonly DecisionRecord[]): unknown[] {
  return records.map(({ id, time, request, allowed, verdicts }) => ({ id, time, resource: `${request.plugin}/${request.path.join('/')}`, allowed, verdicts }));
}

async function getScope(policies: ResourcePolicies, scope: string): Promise<PolicyAdminAnswer> {
  const source = await policies.scoped.getSource(scope);
  if (source === undefined) throw kbsErrors.policyEngine(`no policy for scope ${scope}`);
  return ok({ scope, policy: Buffer.from(source, 'utf8').toString('base64url') });
}

async function getDecision(policies: ResourcePolicies, tail: readonly string[]): Promise<PolicyAdminAnswer> {
  const record = tail.length === 1 ? await policies.decision(tail[0] ?? '') : undefined;
  if (record === undefined) throw kbsErrors.policyEngine(`decision ${tail.join('/')} not found (decisions are kept 7 days)`);
  return ok(record);
}

async function explain(tail: readonly string[], record: Record<string, unknown>, deps: PolicyAdminDeps): Promise<unknown> {
  const plugin = record['plugin'] ?? 'resource';
  if (typeof plugin !== 'string' || !PLUGIN.test(plugin)) throw kbsErrors.parsePolicy('`plugin` must be a plugin name');
  const query = record['query'] ?? {};
  if (typeof query !== 'object' || query === null || Array.isArray(query) || !Object.values(query).every((v) => typeof v === 'string')) {
    throw kbsErrors.parsePolicy('`query` must be an object of strings');
  }
  if (tail.length === 0) throw kbsErrors.invalidRequestPath('/kbs/v0/resource-policy/explain');
  let request: DecisionRequest = { plugin, path: [...tail], query: query as Record<string, string> };
  const sources = ['token', 'decision_id', 'claims'].filter((key) => record[key] !== undefined);
  if (sources.length !== 1) throw kbsErrors.parsePolicy('give exactly one of `token`, `decision_id`, `claims`');
  let claims: JsonObject;
  let decisionId: string | undefined;
  if (record['token'] !== undefined) {
    const token = record['token'];
    if (typeof token !== 'string' || token.length > 1024 * 1024) throw kbsErrors.parsePolicy('`token` must be a JWT string');
    try {
      claims = await deps.tokenVerifier.verify(token);
    } catch (error) {
      throw kbsErrors.policyEngine(`explain: the token does not verify: ${(error as Error).message}`);
    }
  } else if (record['decision_id'] !== undefined) {
    const id = record['decision_id'];
    const decision = typeof id === 'string' ? await deps.policies.decision(id) : undefined;
    if (decision === undefined) throw kbsErrors.policyEngine(`explain: decision ${typeof id === 'string' ? id : ''} not found (decisions are kept 7 days)`);
    if (decision.request.plugin !== request.plugin || decision.request.path.join('/') !== request.path.join('/')) {
      throw kbsErrors.policyEngine(`explain: decision ${decision.id} was for ${decision.request.plugin}/${decision.request.path.join('/')}, not ${request.plugin}/${request.path.join('/')}`);
    }
    if (decision.claims === undefined) throw kbsErrors.policyEngine(`explain: decision ${decision.id} has no stored claims (they were over the record limit)`);
    claims = decision.claims;
    decisionId = decision.id;
    if (record['query'] === undefined) request = { ...request, query: decision.request.query };
  } else {
    const value = record['claims'];
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw kbsErrors.parsePolicy('`claims` must be a JSON object');
    if (JSON.stringify(value).length > MAX_CLAIMS_BYTES) throw kbsErrors.parsePolicy(`\`claims\` over ${MAX_CLAIMS_BYTES} bytes`);
    claims = value as JsonObject;
  }
  const report = await deps.policies.explain(claims, request);
  return decisionId === undefined ? report : { decision_id: decisionId, ...report };
}
