/**
 * The decision log: every resource-policy decision the KBS makes for a guest gets an id and a
 * record (what was asked, the verified claims it was decided on, each policy's answer), kept in
 * the KBS store for DECISION_TTL_MS. The operator explains a deny later by its id (the guest only
 * ever sees upstream's PolicyDeny), and a policy dry run replays the recorded decisions.
 *
 * Records hold token claims (attestation results, public keys, init-data claims), never a
 * resource value: the policy never sees one. Each record is bounded (MAX_RECORD_BYTES; larger
 * claims are dropped from the record and the record says so).
 */
import { randomBytes } from 'node:crypto';
import type { KeyValueStore } from '@trustee/storage';
import type { JsonObject } from '../backends.ts';

export const DECISION_NAMESPACE = 'kbs_decisions';
/** Records expire after 7 days. */
export const DECISION_TTL_MS = 7 * 24 * 3600 * 1000;
/** Claims larger than this are not kept in the record (the decision still is). */
export const MAX_RECORD_BYTES = 256 * 1024;
/**
 * Records kept (older ones are pruned every PRUNE_EVERY writes of each process, so the store holds
 * at most MAX_DECISIONS_KEPT + PRUNE_EVERY × (KBS processes)). A prune lists every kept id: every
 * 1,000 writes costs ~6 listed keys per decision.
 */
export const MAX_DECISIONS_KEPT = 5000;
export const PRUNE_EVERY = 1000;
/** Upper bound on records one listing or dry run reads. */
export const MAX_DECISIONS_READ = 1000;

const ID = /^d-[0-9a-z]{8,12}-[0-9a-f]{12}$/;
const decoder = new TextDecoder('utf-8', { fatal: true });

export interface PolicyVerdict {
  /** `resource-policy` for the global policy, `scope:<scope>` for a scoped one. */
  readonly policy: string;
  /** true = allow, false = deny, 'error' = the policy failed to evaluate (denies). */
  readonly result: boolean | 'error';
}

export interface DecisionRequest {
  readonly plugin: string;
  readonly path: readonly string[];
  readonly query: Readonly<Record<string, string>>;
}

export interface DecisionRecord {
  readonly id: string;
  /** RFC 3339 time of the decision. */
  readonly time: string;
  readonly request: DecisionRequest;
  readonly allowed: boolean;
  readonly verdicts: readonly PolicyVerdict[];
  /** The verified token claims the decision was made on (absent when over MAX_RECORD_BYTES). */
  readonly claims?: JsonObject;
  readonly claimsDropped?: true;
}

export function isDecisionId(id: string): boolean {
  return ID.test(id);
}

/** Time-ordered ids: `d-<ms since epoch, base 36>-<48 random bits>`. */
export function newDecisionId(now: number = Date.now()): string {
  return `d-${now.toString(36)}-${randomBytes(6).toString('hex')}`;
}

/** Ids sort by time within one base-36 length; (length, text) is exact. */
function byTime(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

const encoder = new TextEncoder();
/** The claims text `build` measured, so `store` does not serialise the claims a second time. */
const claimsTexts = new WeakMap<DecisionRecord, string>();

/** JSON.stringify(record), with the claims text `build` made spliced in as it is (same bytes). */
function serialise(record: DecisionRecord): string {
  const claimsText = claimsTexts.get(record);
  if (claimsText === undefined || record.claims === undefined) return JSON.stringify(record);
  const { claims: _claims, ...rest } = record;
  return `${JSON.stringify(rest).slice(0, -1)},"claims":${claimsText}}`;
}

export class DecisionLog {
  readonly #store: KeyValueStore;
  readonly #now: () => number;
  readonly #keep: number;
  #writes = 0;
  #pruning: Promise<number> | undefined;

  constructor(store: KeyValueStore, now: () => number = Date.now, keep = MAX_DECISIONS_KEPT) {
    this.#store = store;
    this.#now = now;
    this.#keep = keep;
  }

  /** A new record (with its new id), not yet stored. */
  build(request: DecisionRequest, claims: JsonObject, allowed: boolean, verdicts: readonly PolicyVerdict[]): DecisionRecord {
    const now = this.#now();
    const base = { id: newDecisionId(now), time: new Date(now).toISOString(), request: { plugin: request.plugin, path: [...request.path], query: { ...request.query } }, allowed, verdicts };
    const claimsText = JSON.stringify(claims);
    if (claimsText.length > MAX_RECORD_BYTES) return { ...base, claimsDropped: true };
    const record: DecisionRecord = { ...base, claims };
    claimsTexts.set(record, claimsText);
    return record;
  }

  /** Stores a record until DECISION_TTL_MS after its time. */
  async store(record: DecisionRecord): Promise<void> {
    const expiresAtMs = Date.parse(record.time) + DECISION_TTL_MS;
    await this.#store.set(DECISION_NAMESPACE, record.id, encoder.encode(serialise(record)), { expiresAtMs });
    this.#writes += 1;
    if (this.#writes % PRUNE_EVERY === 0 && this.#pruning === undefined) {
      this.#pruning = this.prune().finally(() => {
        this.#pruning = undefined;
      });
      await this.#pruning;
    }
  }

  /** Deletes the oldest records beyond the kept count. */
  async prune(): Promise<number> {
    const ids = (await this.#store.list(DECISION_NAMESPACE, 'd-')).filter(isDecisionId);
    if (ids.length <= this.#keep) return 0;
    ids.sort(byTime);
    const old = ids.slice(0, ids.length - this.#keep);
    // 256 at a time: one group commit on SQLite instead of one transaction per id.
    for (let i = 0; i < old.length; i += 256) await Promise.all(old.slice(i, i + 256).map((id) => this.#store.delete(DECISION_NAMESPACE, id)));
    return old.length;
  }

  async get(id: string): Promise<DecisionRecord | undefined> {
    if (!isDecisionId(id)) return undefined;
    const bytes = await this.#store.get(DECISION_NAMESPACE, id);
    if (bytes === undefined) return undefined;
    try {
      return JSON.parse(decoder.decode(bytes)) as DecisionRecord;
    } catch {
      return undefined;
    }
  }

  /** Ids of the newest decisions first, at most `limit` (≤ MAX_DECISIONS_READ). */
  async recentIds(limit = 100): Promise<string[]> {
    const keys = (await this.#store.list(DECISION_NAMESPACE, 'd-')).filter(isDecisionId);
    keys.sort(byTime);
    return keys.reverse().slice(0, Math.min(limit, MAX_DECISIONS_READ));
  }

  /** The newest decisions, records read one by one (at most `limit`). */
  async recent(limit = 100): Promise<DecisionRecord[]> {
    const ids = await this.recentIds(limit);
    const records = await Promise.all(ids.map((id) => this.get(id)));
    return records.filter((record): record is DecisionRecord => record !== undefined);
  }
}
