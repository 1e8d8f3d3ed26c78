/**
 * Audit records: one per release, deny, attestation outcome, admin change and console reveal,
 * chained by SHA-256 (`hash` = SHA-256 of the RFC 8785 canonical JSON of the record without
 * `hash`; `prev` = the previous record's `hash`, or GENESIS for sequence 1). What a record may
 * hold is closed (AuditEntry): digests, ids, paths, outcomes and the admin's role/subject/issuer
 * — never a resource value, a token or a key.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '@trustee/protocol';

export const AUDIT_NAMESPACE = 'kbs_audit';
export const RECORD_PREFIX = 'record/';
export const CHECKPOINT_PREFIX = 'checkpoint/';
export const HEAD_KEY = 'head';
export const GENESIS = '0'.repeat(64);
const SEQ_DIGITS = 15;

export type AuditKind = 'attestation' | 'release' | 'deny' | 'admin' | 'reveal';

export interface PolicyRef {
  readonly id: string;
  /** SHA-256 (hex) of the policy text that decided; absent when another process holds it (remote AS). */
  readonly hash?: string;
}

export interface AdminRef {
  readonly role?: string;
  readonly subject?: string;
  readonly issuer?: string;
}

/** What a caller supplies; the trail adds seq, prev, time, replica and hash. */
export interface AuditEntry {
  readonly kind: AuditKind;
  /** Per-decision id (UUID), also the key of the decision's stored claims. */
  readonly decision: string;
  /** `success`/`failure`/`replayed` (attestation), `allow`/`deny`/`error` (release/deny), `ok`/`refused` (admin, reveal). */
  readonly outcome: string;
  readonly tee?: string;
  /** SHA-256 (hex) of the primary evidence as sent. */
  readonly evidence?: string;
  readonly policies?: readonly PolicyRef[];
  /** Resource path (`repo/type/tag`) or the admin endpoint path. */
  readonly resource?: string;
  readonly method?: string;
  readonly status?: number;
  /** ErrorInformation type name (`PolicyDeny`, `TokenVerifierError`, …) or a short cause. */
  readonly reason?: string;
  readonly admin?: AdminRef;
}

export interface AuditRecord extends AuditEntry {
  readonly v: 1;
  readonly seq: number;
  readonly prev: string;
  /** ISO 8601 UTC. */
  readonly time: string;
  readonly replica: string;
  readonly hash: string;
}

export type UnsignedRecord = Omit<AuditRecord, 'hash'>;

export function recordKey(seq: number): string {
  return RECORD_PREFIX + String(seq).padStart(SEQ_DIGITS, '0');
}

export function checkpointKey(next: number): string {
  return CHECKPOINT_PREFIX + String(next).padStart(SEQ_DIGITS, '0');
}

/** Sequence number of a `record/…` or `checkpoint/…` key, undefined for anything else. */
export function seqOfKey(key: string, prefix: string): number | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const digits = key.slice(prefix.length);
  if (!/^\d{1,16}$/.test(digits)) return undefined;
  return Number(digits);
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function hashRecord(record: UnsignedRecord): string {
  return sha256Hex(canonicalJson(record));
}

/** Bounds on what one record may carry: a hostile path or reason cannot bloat the chain. */
const MAX_FIELD = 512;

function clip(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value.length > MAX_FIELD ? `${value.slice(0, MAX_FIELD)}…` : value;
}

/** Copies only the known fields of an entry (nothing else a caller passes can reach the store). */
export function sanitizeEntry(entry: AuditEntry): AuditEntry {
  const admin = entry.admin === undefined ? undefined : {
    ...(entry.admin.role === undefined ? {} : { role: clip(entry.admin.role) as string }),
    ...(entry.admin.subject === undefined ? {} : { subject: clip(entry.admin.subject) as string }),
    ...(entry.admin.issuer === undefined ? {} : { issuer: clip(entry.admin.issuer) as string }),
  };
  const optional = <K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));
  return {
    kind: entry.kind,
    decision: clip(entry.decision) as string,
    outcome: clip(entry.outcome) as string,
    ...optional('tee', clip(entry.tee)),
    ...optional('evidence', clip(entry.evidence)),
    ...optional('policies', entry.policies?.slice(0, 16).map((policy) => ({ id: clip(policy.id) as string, ...optional('hash', clip(policy.hash)) }))),
    ...optional('resource', clip(entry.resource)),
    ...optional('method', clip(entry.method)),
    ...optional('status', entry.status),
    ...optional('reason', clip(entry.reason)),
    ...optional('admin', admin),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses stored bytes into a record shape (fields checked for type, not for the hash). */
export function parseRecord(bytes: Uint8Array): AuditRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
  if (!isObject(value)) return undefined;
  const { v, seq, prev, time, replica, hash, kind, decision, outcome } = value;
  if (v !== 1 || typeof seq !== 'number' || !Number.isSafeInteger(seq) || typeof prev !== 'string' || typeof time !== 'string') return undefined;
  if (typeof replica !== 'string' || typeof hash !== 'string' || typeof kind !== 'string' || typeof decision !== 'string' || typeof outcome !== 'string') return undefined;
  return value as unknown as AuditRecord;
}

export function withoutHash(record: AuditRecord): UnsignedRecord {
  const copy: Record<string, unknown> = { ...record };
  delete copy['hash'];
  return copy as unknown as UnsignedRecord;
}
