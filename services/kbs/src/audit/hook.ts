/**
 * From HTTP outcomes to audit records. The request handlers put what they learn on
 * `request.kbsAudit` (auditFacts): that the call was an admin call, the TEE, the evidence digest,
 * the verified claims, the deciding policy's hash. Once the answer is sent, one `onResponse` hook
 * turns that into at most one record:
 *
 * - `POST /kbs/v0/attest` → `attestation` (success, failure, replayed)
 * - a guest plugin request → `release` (answer sent) or `deny` (refused: policy, token, path…)
 * - an admin call that changes something, or any admin call refused → `admin`
 *
 * The decision's claims (not secret: evidence claims and the token's public key) are kept beside
 * the trail for the console, bounded in size and time; the token itself never is.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TEE_NAMES } from '@trustee/protocol';
import type { KeyValueStore } from '@trustee/storage';
import type { JsonObject } from '../backends.ts';
import type { AuditEntry, AuditKind, PolicyRef } from './record.ts';
import { sha256Hex } from './record.ts';
import type { AuditTrail } from './trail.ts';

/** Claims of attestation decisions (release/deny decisions keep theirs in policies/decisions.ts's log). */
export const ATTESTATION_CLAIMS_NAMESPACE = 'kbs_attestation_claims';
/** Claims larger than this are not kept (their digest is). */
export const MAX_DECISION_BYTES = 64 * 1024;
/**
 * At most this many attestation claim sets are kept (oldest dropped), whatever the TTL: a flood
 * cannot fill the disk. Each process trims after every CLAIMS_TRIM_EVERY sets it stores, so the
 * store holds at most MAX_ATTESTATION_CLAIMS + CLAIMS_TRIM_EVERY × (KBS processes) sets.
 */
export const MAX_ATTESTATION_CLAIMS = 5000;
/**
 * A trim lists every kept id (~5,000): every 1,000 stores costs ~6 listed keys per attestation,
 * where every 100 cost ~50 (5% of a flow's KBS CPU in `pnpm bench:kbs`).
 */
export const CLAIMS_TRIM_EVERY = 1000;
const encoder = new TextEncoder();
const ATTESTATION_ID = /^a-[0-9a-z]{8,12}-[0-9a-f]{12}$/;

/** Time-ordered ids of attestation decisions: `a-<ms, base 36>-<48 random bits>`. */
export function newAttestationDecisionId(now: number): string {
  return `a-${now.toString(36)}-${randomBytes(6).toString('hex')}`;
}

export function isAttestationDecisionId(id: string): boolean {
  return ATTESTATION_ID.test(id);
}

export interface AuditFacts {
  decision: string;
  admin: boolean;
  tee?: string;
  evidence?: string;
  claims?: JsonObject;
  policies?: PolicyRef[];
  /** `allow`, `deny`, `error` for a policy decision; `success`, `failure`, `replayed` for attestation. */
  outcome?: string;
  reason?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    kbsAudit: AuditFacts | undefined;
  }
}

/** The facts of this request (created on first use). */
export function auditFacts(request: FastifyRequest): AuditFacts {
  request.kbsAudit ??= { decision: randomUUID(), admin: false };
  return request.kbsAudit;
}

/**
 * SHA-256 of the primary evidence as the guest sent it. Evidence nested too deeply to serialise
 * (a hostile body) is digested as that fact: the refusal stays a 401, never a 500.
 */
export function evidenceDigest(evidence: unknown): string {
  let text: string;
  try {
    text = typeof evidence === 'string' ? evidence : (JSON.stringify(evidence) ?? '');
  } catch {
    text = 'unserialisable evidence (nested too deeply)';
  }
  return createHash('sha256').update(text).digest('hex');
}

/** The payload of a JWT (the AS's token) as claims, without verifying it (it was just issued or verified). */
export function jwtClaims(token: string): JsonObject | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const value = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The TEE an EAR token speaks for: the annotated evidence of `submods.cpu0` holds the verifier's
 * claims under the TEE's name (beside init_data, report_data, …).
 */
export function teeOfClaims(claims: JsonObject): string | undefined {
  const submods = claims['submods'];
  if (typeof submods !== 'object' || submods === null || Array.isArray(submods)) return undefined;
  const cpu0 = submods['cpu0'];
  if (typeof cpu0 !== 'object' || cpu0 === null || Array.isArray(cpu0)) return undefined;
  const evidence = cpu0['ear.veraison.annotated-evidence'];
  if (typeof evidence !== 'object' || evidence === null || Array.isArray(evidence)) return undefined;
  const names = Object.keys(evidence).filter((name) => (TEE_NAMES as readonly string[]).includes(name));
  return names.length === 1 ? names[0] : undefined;
}

/**
 * The appraisal policies behind an EAR token: submod `<class><n>` was appraised by
 * `<ear.appraisal-policy-id>_<class>` (the AS's naming); without a token, the CPU policy.
 */
export function appraisalPolicyIds(claims: JsonObject | undefined): string[] {
  const submods = claims?.['submods'];
  if (typeof submods !== 'object' || submods === null || Array.isArray(submods)) return ['default_cpu'];
  const ids = new Set<string>();
  for (const [name, appraisal] of Object.entries(submods)) {
    const base = typeof appraisal === 'object' && appraisal !== null && !Array.isArray(appraisal) && typeof appraisal['ear.appraisal-policy-id'] === 'string' ? appraisal['ear.appraisal-policy-id'] : 'default';
    ids.add(`${base}_${name.replace(/\d+$/, '')}`);
  }
  return ids.size === 0 ? ['default_cpu'] : [...ids].sort();
}

export interface StoredDecision {
  readonly decision: string;
  readonly time: string;
  readonly claimsDigest: string;
  readonly claims?: JsonObject;
  readonly truncated?: true;
}

export interface AuditRecorderOptions {
  readonly trail: AuditTrail;
  readonly store: KeyValueStore;
  readonly now?: () => number;
  readonly decisionTtlMs: number;
  /** Hash of an attestation policy's text, when this process can read it (builtin AS). */
  readonly attestationPolicyHash?: (id: string) => Promise<string | undefined>;
  readonly log?: (message: string) => void;
}

const KBS_PREFIX = '/kbs/v0/';

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

export class AuditRecorder {
  readonly #options: AuditRecorderOptions;
  #stored = 0;

  constructor(options: AuditRecorderOptions) {
    this.#options = options;
  }

  get trail(): AuditTrail {
    return this.#options.trail;
  }

  /** Registers the facts decoration and the onResponse hook on one app. */
  register(app: FastifyInstance): void {
    app.addHook('onResponse', async (request, reply) => {
      const entry = await this.#entryFor(request, reply.statusCode);
      if (entry === undefined) return;
      const facts = request.kbsAudit;
      // The answer has gone; a record that cannot be stored is reported on the request's own
      // log line (with its reqId and decision id), never silently dropped.
      await Promise.all([
        this.#options.trail
          .append(entry, (error) => request.log.error({ decision: entry.decision, reason: (error as Error).message }, 'audit record not stored'))
          .catch(() => undefined),
        facts?.claims === undefined || entry.kind !== 'attestation'
          ? undefined
          : this.#storeClaims(entry.decision, facts.claims).catch((error: unknown) => request.log.warn({ decision: entry.decision, reason: (error as Error).message }, 'attestation claims not stored')),
      ]);
    });
  }

  /** Appends one record outside a request (console reveal). */
  append(entry: AuditEntry): Promise<unknown> {
    return this.#options.trail.append(entry);
  }

  async #storeClaims(decision: string, claims: JsonObject): Promise<void> {
    const text = JSON.stringify(claims);
    const now = (this.#options.now ?? Date.now)();
    const head: StoredDecision = { decision, time: new Date(now).toISOString(), claimsDigest: sha256Hex(text) };
    // The claims are serialised once: their text goes into the stored JSON as it is (the same
    // bytes JSON.stringify of the whole StoredDecision would give).
    const json = Buffer.byteLength(text) <= MAX_DECISION_BYTES ? `${JSON.stringify(head).slice(0, -1)},"claims":${text}}` : JSON.stringify({ ...head, truncated: true });
    await this.#options.store.set(ATTESTATION_CLAIMS_NAMESPACE, decision, encoder.encode(json), { expiresAtMs: now + this.#options.decisionTtlMs });
    if (++this.#stored % CLAIMS_TRIM_EVERY === 0) await this.#trimClaims();
  }

  /** Drops the oldest claim sets beyond MAX_ATTESTATION_CLAIMS (ids sort by time within one length). */
  async #trimClaims(): Promise<void> {
    const ids = (await this.#options.store.list(ATTESTATION_CLAIMS_NAMESPACE)).filter(isAttestationDecisionId);
    ids.sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
    // 256 at a time: one group commit on SQLite instead of one transaction per id.
    const old = ids.slice(0, Math.max(0, ids.length - MAX_ATTESTATION_CLAIMS));
    for (let i = 0; i < old.length; i += 256) await Promise.all(old.slice(i, i + 256).map((id) => this.#options.store.delete(ATTESTATION_CLAIMS_NAMESPACE, id)));
  }

  async #entryFor(request: FastifyRequest, status: number): Promise<AuditEntry | undefined> {
    const facts = request.kbsAudit;
    const path = pathOf(request.url);
    const identity = request.kbsAdmin;
    // An attestation whose claims are kept gets a time-ordered id (the key of its claims).
    if (request.kbsRoute === 'attest' && facts?.claims !== undefined) facts.decision = newAttestationDecisionId((this.#options.now ?? Date.now)());
    const base = { decision: facts?.decision ?? randomUUID(), status, method: request.method, ...(request.kbsErrorCode === undefined ? {} : { reason: request.kbsErrorCode }) };
    if (facts?.admin === true || identity !== undefined) {
      const ok = status < 400;
      if (ok && request.method === 'GET') return undefined; // reads change nothing
      return { ...base, kind: 'admin', outcome: ok ? 'ok' : 'refused', resource: path, ...(identity === undefined ? {} : { admin: { ...identity } }) };
    }
    if (request.kbsRoute === 'attest' && facts?.outcome !== undefined) {
      const policies: PolicyRef[] = [];
      for (const id of appraisalPolicyIds(facts.claims)) {
        const hash = await this.#options.attestationPolicyHash?.(id).catch(() => undefined);
        policies.push({ id, ...(hash === undefined ? {} : { hash }) });
      }
      return {
        ...base,
        kind: 'attestation',
        outcome: facts.outcome,
        ...(facts.tee === undefined ? {} : { tee: facts.tee }),
        ...(facts.evidence === undefined ? {} : { evidence: facts.evidence }),
        policies,
      };
    }
    if (request.kbsRoute === 'plugin' && path.startsWith(KBS_PREFIX)) {
      const kind: AuditKind = status < 400 ? 'release' : 'deny';
      return {
        ...base,
        kind,
        outcome: status < 400 ? 'allow' : (facts?.outcome ?? 'refused'),
        resource: path.slice(KBS_PREFIX.length),
        ...(facts?.tee === undefined ? {} : { tee: facts.tee }),
        ...(facts?.policies === undefined ? {} : { policies: facts.policies }),
      };
    }
    return undefined;
  }
}
