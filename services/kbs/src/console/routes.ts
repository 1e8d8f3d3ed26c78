/**
 * The operator console under `/console`: static assets (built by Vite from services/kbs/console
 * into services/kbs/console/dist; `pnpm build:console`) and a read-mostly JSON API under
 * `/console/api/`. The console holds no power of its own: every API call passes the same admin
 * gate as the admin API (the Bearer token, checked against `[admin]`; the regex ACL sees
 * `/kbs/v0/console/api/<name>`), and changes (policies) go through the admin API itself. The one
 * thing only the console does, revealing a resource value, is written to the audit trail first.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { POLICY_NAMESPACE as ATTESTATION_POLICY_NAMESPACE } from '@trustee/attestation/config';
import { errorClassWithCode } from '@trustee/errors';
import type { Readiness } from '@trustee/grpc';
import type { KeyValueStore } from '@trustee/storage';
import { AdminDenied, type AdminAuthorizer, type AdminIdentity } from '../admin/authorizer.ts';
import { ATTESTATION_CLAIMS_NAMESPACE, isAttestationDecisionId, type AuditRecorder } from '../audit/hook.ts';
import { sha256Hex, type AuditRecord } from '../audit/record.ts';
import { verifyTrail } from '../audit/trail.ts';
import type { KbsMetrics } from '../metrics.ts';
import type { ResourcePolicies } from '../policies/resourcePolicies.ts';
import { validateResourcePolicy, PolicyRejected } from '../policies/validation.ts';
import { isValidResourcePath } from '../resource.ts';
import { crossSiteReason, secureHeaders } from './security.ts';

export const CONSOLE_PREFIX = '/console';
/** Where `vite build` writes the console (same relative place from src/console and dist/console). */
export const CONSOLE_DIST = fileURLToPath(new URL('../../console/dist/', import.meta.url));
const MAX_ASSET_BYTES = 4 * 1024 * 1024;
const MAX_LISTED = 2000;
const AUDIT_READ_LIMIT = 2000;
const REFERENCE_VALUE_NAMESPACE = 'reference_value';
const COLLATERAL_NAMESPACES = ['collateral_amd', 'collateral_intel'] as const;
/** AMD CA chains are refreshed after this age (packages/verifiers amdCollateral default). */
const AMD_CHAIN_MAX_AGE_MS = 24 * 3600 * 1000;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

export interface ConsoleDeps {
  readonly admin: AdminAuthorizer;
  readonly store: KeyValueStore;
  /** Where the audit trail and the attestation claims live (audit/index.ts openAuditStore). */
  readonly auditStore: KeyValueStore;
  readonly policies: ResourcePolicies;
  readonly metrics: KbsMetrics;
  readonly readiness: Readiness;
  readonly audit: AuditRecorder | undefined;
  /** Resource values (the kvstorage resource plugin's repository); absent without one. */
  readonly resources: { readonly namespace: string; read(path: string): Promise<Uint8Array | undefined> } | undefined;
  readonly now?: () => number;
  /** Directory of the built assets (default CONSOLE_DIST). */
  readonly assetsDir?: string;
}

interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

/** Loads the built assets once (a fixed set; a request can never name a file outside it). */
function loadAssets(dir: string): Map<string, Asset> | undefined {
  const assets = new Map<string, Asset>();
  let entries;
  try {
    entries = readdirSync(dir, { recursive: true, withFileTypes: true });
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const file = join(entry.parentPath, entry.name);
    const dot = entry.name.lastIndexOf('.');
    const type = CONTENT_TYPES[dot < 0 ? '' : entry.name.slice(dot)];
    if (type === undefined || statSync(file).size > MAX_ASSET_BYTES) continue;
    assets.set(relative(dir, file).split(sep).join('/'), { type, body: readFileSync(file) });
  }
  return assets.has('index.html') ? assets : undefined;
}

class ConsoleError extends errorClassWithCode('console_request') {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function sendJson(reply: FastifyReply, status: number, value: unknown): FastifyReply {
  return secureHeaders(reply).code(status).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(JSON.stringify(value));
}

function jsonBodyOf(request: FastifyRequest): Record<string, unknown> {
  const raw = request.body;
  const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : '';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConsoleError(400, 'body must be JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConsoleError(400, 'body must be a JSON object');
  return value as Record<string, unknown>;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

function parseJson(bytes: Uint8Array | undefined): unknown {
  if (bytes === undefined) return undefined;
  const text = utf8(bytes);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function registerConsole(app: FastifyInstance, deps: ConsoleDeps): void {
  const now = deps.now ?? Date.now;
  const assets = loadAssets(deps.assetsDir ?? CONSOLE_DIST);

  const sendAsset = (reply: FastifyReply, name: string): FastifyReply => {
    const asset = assets?.get(name);
    if (asset === undefined) {
      if (assets === undefined) return secureHeaders(reply).code(503).type('text/plain; charset=utf-8').send('The console is not built: run `pnpm build:console` (or `pnpm build`) and restart the KBS.\n');
      return secureHeaders(reply).code(404).type('text/plain; charset=utf-8').send('not found\n');
    }
    // Hashed asset names never change content; index.html must be re-read on every visit.
    const cache = name === 'index.html' ? 'no-cache' : 'public, max-age=31536000, immutable';
    return secureHeaders(reply).header('cache-control', cache).type(asset.type).send(asset.body);
  };

  app.get(CONSOLE_PREFIX, async (_request, reply) => reply.redirect(`${CONSOLE_PREFIX}/`, 302));
  app.get(`${CONSOLE_PREFIX}/`, async (_request, reply) => sendAsset(reply, 'index.html'));
  app.get(`${CONSOLE_PREFIX}/assets/*`, async (request, reply) => {
    const name = (request.params as { '*': string })['*'];
    return sendAsset(reply, `assets/${name}`);
  });

  /** Admin gate + cross-site refusal for one API call; resolves the caller's identity. */
  const guard = async (request: FastifyRequest, name: string): Promise<AdminIdentity> => {
    const crossSite = crossSiteReason(request);
    if (crossSite !== undefined) throw new ConsoleError(403, `cross-site request refused (${crossSite})`);
    try {
      const identity = await deps.admin.authorize(request.headers.authorization, `/kbs/v0/console/api/${name}`);
      request.kbsAdmin = identity;
      return identity;
    } catch (error) {
      if (error instanceof AdminDenied) throw new ConsoleError(401, error.message);
      throw error;
    }
  };

  const api = (method: 'GET' | 'POST', name: string, handler: (request: FastifyRequest, identity: AdminIdentity) => Promise<unknown>): void => {
    app.route({
      method,
      url: `${CONSOLE_PREFIX}/api/${name}`,
      handler: async (request, reply) => {
        try {
          const identity = await guard(request, name.replace(/\/:.*$/, ''));
          return sendJson(reply, 200, await handler(request, identity));
        } catch (error) {
          if (error instanceof ConsoleError) return sendJson(reply, error.status, { error: error.message });
          request.log.error({ err: error }, 'console API failed');
          return sendJson(reply, 500, { error: `internal error (request ${request.id})` });
        }
      },
    });
  };

  // The API answers only its own routes; anything else below /console/api is a JSON 404.
  app.route({
    method: ['GET', 'POST', 'PUT', 'DELETE'],
    url: `${CONSOLE_PREFIX}/api/*`,
    handler: async (_request, reply) => sendJson(reply, 404, { error: 'no such console API' }),
  });

  const recentRecords = async (limit: number): Promise<AuditRecord[]> => (deps.audit === undefined ? [] : deps.audit.trail.recent(limit));

  api('GET', 'session', async (_request, identity) => ({ identity, replica: deps.audit?.trail.replica, audit: deps.audit !== undefined }));

  api('GET', 'overview', async () => {
    const records = await recentRecords(AUDIT_READ_LIMIT);
    const since = now() - 30 * 60_000;
    const minutes = new Map<number, { attestations: number; failures: number; releases: number; denials: number }>();
    for (let t = Math.floor(since / 60_000); t <= Math.floor(now() / 60_000); t++) minutes.set(t, { attestations: 0, failures: 0, releases: 0, denials: 0 });
    const reasons = new Map<string, number>();
    for (const record of records) {
      const minute = minutes.get(Math.floor(Date.parse(record.time) / 60_000));
      if (record.kind === 'attestation') {
        if (minute !== undefined) minute[record.outcome === 'failure' ? 'failures' : 'attestations']++;
      } else if (record.kind === 'release') {
        if (minute !== undefined) minute.releases++;
      } else if (record.kind === 'deny') {
        if (minute !== undefined) minute.denials++;
      }
      if ((record.kind === 'deny' || (record.kind === 'attestation' && record.outcome === 'failure')) && Date.parse(record.time) >= since) {
        const reason = `${record.kind}: ${record.reason ?? record.outcome}`;
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      }
    }
    const metrics = await deps.metrics.registry.getMetricsAsJSON();
    const counter = (name: string): Array<{ labels: Record<string, string | number>; value: number }> =>
      (metrics.find((metric) => metric.name === name)?.values ?? []).map((value) => ({ labels: value.labels as Record<string, string | number>, value: value.value }));
    return {
      minutes: [...minutes.entries()].map(([minute, counts]) => ({ minute: new Date(minute * 60_000).toISOString(), ...counts })),
      failures: [...reasons.entries()].sort((a, b) => b[1] - a[1]).map(([reason, count]) => ({ reason, count })),
      // Upstream's metric names (services/kbs/src/metrics.ts), reshaped into the labels the overview table shows.
      metrics: {
        attestations: [
          ...counter('kbs_attestation_successes_total').map((value) => ({ labels: { tee: value.labels['tee_type'] ?? '', outcome: 'success' }, value: value.value })),
          ...counter('kbs_attestation_failures_total').map((value) => ({ labels: { tee: value.labels['tee_type'] ?? '', outcome: 'failure' }, value: value.value })),
        ],
        policy: (
          [
            ['allow', 'kbs_policy_approvals_total'],
            ['deny', 'kbs_policy_violations_total'],
            ['error', 'kbs_policy_errors_total'],
          ] as const
        ).map(([result, name]) => ({ labels: { result }, value: counter(name).reduce((sum, value) => sum + value.value, 0) })),
      },
      recordsRead: records.length,
    };
  });

  api('GET', 'audit', async (request) => {
    const limit = Math.min(AUDIT_READ_LIMIT, Math.max(1, Number((request.query as { limit?: string }).limit ?? 500) || 500));
    return { records: await recentRecords(limit) };
  });

  api('GET', 'audit/verify', async () => verifyTrail(deps.auditStore));

  api('GET', 'attestation-claims/:decision', async (request) => {
    const decision = (request.params as { decision: string }).decision;
    if (!isAttestationDecisionId(decision)) throw new ConsoleError(400, 'not an attestation decision id');
    const stored = parseJson(await deps.auditStore.get(ATTESTATION_CLAIMS_NAMESPACE, decision));
    if (stored === undefined) throw new ConsoleError(404, 'no claims kept for this decision (expired or none)');
    return stored;
  });

  api('GET', 'resources', async () => {
    if (deps.resources === undefined) return { available: false, resources: [] };
    const paths = (await deps.store.list(deps.resources.namespace)).slice(0, MAX_LISTED);
    const written = new Map<string, { time: string; by: string | undefined }>();
    for (const record of await recentRecords(AUDIT_READ_LIMIT)) {
      if (record.kind !== 'admin' || record.outcome !== 'ok' || record.method !== 'POST' || record.resource?.startsWith('/kbs/v0/resource/') !== true) continue;
      const path = record.resource.slice('/kbs/v0/resource/'.length);
      if (!written.has(path)) written.set(path, { time: record.time, by: record.admin?.subject ?? record.admin?.role });
    }
    const resources = [];
    for (const path of paths) {
      const value = await deps.store.get(deps.resources.namespace, path);
      resources.push({ path, size: value?.byteLength ?? 0, written: written.get(path)?.time, by: written.get(path)?.by });
    }
    return { available: true, resources };
  });

  api('POST', 'resources/reveal', async (request, identity) => {
    if (deps.resources === undefined) throw new ConsoleError(404, 'no key-value resource repository');
    const path = jsonBodyOf(request)['path'];
    if (typeof path !== 'string' || !isValidResourcePath(path.split('/'))) throw new ConsoleError(400, 'invalid resource path');
    if (deps.audit === undefined) throw new ConsoleError(403, 'revealing a value needs the audit trail ([audit] enabled)');
    const value = await deps.resources.read(path);
    // Audited before the value leaves: no record, no reveal.
    await deps.audit.append({ kind: 'reveal', decision: randomUUID(), outcome: value === undefined ? 'refused' : 'ok', resource: path, method: 'POST', admin: { ...identity } });
    if (value === undefined) throw new ConsoleError(404, 'resource not found');
    const text = utf8(value);
    return { path, size: value.byteLength, base64: Buffer.from(value).toString('base64'), ...(text === undefined ? {} : { text }) };
  });

  api('GET', 'policies', async () => {
    const source = await deps.policies.global.source();
    const scoped = [];
    for (const scope of (await deps.policies.scoped.list()).slice(0, MAX_LISTED)) {
      const text = await deps.policies.scoped.getSource(scope);
      if (text !== undefined) scoped.push({ scope, source: text, hash: sha256Hex(text) });
    }
    const attestation = [];
    for (const key of (await deps.store.list(ATTESTATION_POLICY_NAMESPACE)).slice(0, MAX_LISTED)) {
      const bytes = await deps.store.get(ATTESTATION_POLICY_NAMESPACE, key);
      const text = bytes === undefined ? undefined : utf8(bytes);
      if (text !== undefined && key.endsWith('.rego')) attestation.push({ id: key.slice(0, -'.rego'.length), source: text, hash: sha256Hex(text) });
    }
    return { resource: source === undefined ? null : { source, hash: sha256Hex(source) }, scoped, attestation };
  });

  api('POST', 'policies/check', async (request) => {
    const source = jsonBodyOf(request)['source'];
    if (typeof source !== 'string') throw new ConsoleError(400, 'source must be a string');
    try {
      validateResourcePolicy(source);
      return { ok: true };
    } catch (error) {
      if (error instanceof PolicyRejected) return { ok: false, error: error.message };
      throw error;
    }
  });

  api('GET', 'reference-values', async () => {
    const values = [];
    for (const key of (await deps.store.list(REFERENCE_VALUE_NAMESPACE)).slice(0, MAX_LISTED)) {
      const bytes = await deps.store.get(REFERENCE_VALUE_NAMESPACE, key);
      values.push({ id: key, value: parseJson(bytes) ?? (bytes === undefined ? null : utf8(bytes) ?? `(${bytes.byteLength} bytes, not UTF-8)`) });
    }
    return { values };
  });

  api('GET', 'collateral', async () => {
    const entries = [];
    for (const namespace of COLLATERAL_NAMESPACES) {
      for (const key of (await deps.store.list(namespace)).slice(0, MAX_LISTED)) {
        const bytes = await deps.store.get(namespace, key);
        const json = parseJson(bytes) as { fetchedAtMs?: unknown; fetchedAt?: unknown; freshUntil?: unknown; nextUpdate?: unknown } | undefined;
        const fetchedMs = typeof json?.fetchedAtMs === 'number' ? json.fetchedAtMs : typeof json?.fetchedAt === 'string' ? Date.parse(json.fetchedAt) : undefined;
        let nextRefresh: string | undefined;
        if (namespace === 'collateral_amd' && key.startsWith('chain/') && fetchedMs !== undefined) nextRefresh = new Date(fetchedMs + AMD_CHAIN_MAX_AGE_MS).toISOString();
        const next = json?.freshUntil ?? json?.nextUpdate;
        if (typeof next === 'string' || typeof next === 'number') nextRefresh = new Date(next).toISOString();
        entries.push({
          cache: namespace,
          key,
          size: bytes?.byteLength ?? 0,
          ...(fetchedMs === undefined || Number.isNaN(fetchedMs) ? {} : { fetched: new Date(fetchedMs).toISOString() }),
          ...(nextRefresh === undefined ? {} : { nextRefresh }),
          ...(namespace === 'collateral_amd' && key.startsWith('vcek/') ? { note: 'VCEK for one TCB: kept without expiry' } : {}),
        });
      }
    }
    return { entries };
  });

  api('GET', 'health', async () => {
    const started = performance.now();
    let storage: { ok: boolean; ms: number; error?: string };
    try {
      await deps.store.ping();
      storage = { ok: true, ms: Math.round((performance.now() - started) * 10) / 10 };
    } catch (error) {
      storage = { ok: false, ms: Math.round(performance.now() - started), error: (error as Error).message };
    }
    const replicas = new Map<string, { last: string; records: number }>();
    for (const record of await recentRecords(AUDIT_READ_LIMIT)) {
      const seen = replicas.get(record.replica);
      if (seen === undefined) replicas.set(record.replica, { last: record.time, records: 1 });
      else seen.records++;
    }
    return {
      readiness: await deps.readiness.report(),
      storage,
      replica: deps.audit?.trail.replica,
      audit: deps.audit?.trail.stats,
      replicas: [...replicas.entries()].map(([replica, seen]) => ({ replica, ...seen })),
    };
  });
}
