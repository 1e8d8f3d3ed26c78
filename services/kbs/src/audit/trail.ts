/**
 * The audit trail in the KBS store (namespace `kbs_audit`): `record/<seq>` holds one record,
 * chained to `record/<seq-1>` by hash; `checkpoint/<next>` is a signed statement "records before
 * <next> were pruned, the last of them hashed <prev>"; `head` is a hint of the newest record.
 *
 * Several replicas append to one store without forking the chain: a record is written with the
 * store's conditional create (`set(…, {overwrite: false})`: INSERT … ON CONFLICT DO NOTHING on
 * PostgreSQL, SET NX on Redis, INSERT OR IGNORE-like on SQLite, O_EXCL on LocalFs); a replica that
 * loses the race for a sequence number reads the winner's record, chains onto it and tries the
 * next number. Within a process appends are serialized and group-committed: the entries queued
 * while one batch is being written go, chained in order, into the next batch, one
 * `setInOrder` call (one transaction on SQLite) that stops at the first sequence number another
 * replica took — the records after it were chained to a record that was not written, so they
 * are rebuilt onto the winner's record and written again.
 *
 * Where the store offers `updateExclusive` (SQLite), a batch is chained and written inside one
 * write transaction instead: it reads the head hint, probes forward to the newest record, and
 * writes the records after it, so no other process can take its numbers and nothing is retried
 * (with several KBS workers on one file, most batches lost the race before, each costing a
 * rebuild and another commit).
 */
import { hostname } from 'node:os';
import { setInOrder, type BatchWrite, type KeyValueStore } from '@trustee/storage';
import { canonicalJson } from '@trustee/protocol';
import type { CheckpointSigner } from './checkpointSigner.ts';
import { fingerprintOf, verifySignature } from './checkpointSigner.ts';
import {
  AUDIT_NAMESPACE,
  CHECKPOINT_PREFIX,
  checkpointKey,
  GENESIS,
  hashRecord,
  HEAD_KEY,
  parseRecord,
  RECORD_PREFIX,
  recordKey,
  sanitizeEntry,
  seqOfKey,
  sha256Hex,
  withoutHash,
  type AuditEntry,
  type AuditRecord,
  type UnsignedRecord,
} from './record.ts';

export interface Checkpoint {
  readonly v: 1;
  /** First sequence number kept. */
  readonly next: number;
  /** Hash of record `next - 1`, the last one pruned. */
  readonly prev: string;
  readonly time: string;
  readonly replica: string;
  readonly alg: 'Ed25519';
  /** base64 SPKI DER of the signer. */
  readonly publicKey: string;
  /** base64 Ed25519 signature over the canonical JSON of the checkpoint without `sig`. */
  readonly sig: string;
}

export interface AuditTrailOptions {
  readonly replica?: string;
  readonly now?: () => number;
  /** Records kept; older ones are pruned behind a signed checkpoint. 0 = keep all. */
  readonly maxRecords?: number;
  /** The checkpoint signer (loaded on first prune). */
  readonly signer?: () => Promise<CheckpointSigner>;
  /** Appends waiting at most; beyond, an entry is dropped and reported (a store that is away must not exhaust memory). */
  readonly maxPending?: number;
  readonly onError?: (error: unknown, entry: AuditEntry) => void;
}

const td = new TextDecoder();
const te = new TextEncoder();
const MAX_RACE_RETRIES = 10_000;
/** Records written in one batch at most (one transaction; the rest wait for the next). */
const MAX_BATCH = 256;

interface Waiting {
  readonly entry: AuditEntry;
  readonly original: AuditEntry;
  readonly report: (error: unknown, entry: AuditEntry) => void;
  readonly resolve: (record: AuditRecord) => void;
  readonly reject: (error: unknown) => void;
}

export function defaultReplicaId(): string {
  return `${hostname()}/${process.pid}`;
}

function checkpointBody(checkpoint: Checkpoint): string {
  const copy: Record<string, unknown> = { ...checkpoint };
  delete copy['sig'];
  return canonicalJson(copy);
}

function parseCheckpoint(bytes: Uint8Array | undefined): Checkpoint | undefined {
  if (bytes === undefined) return undefined;
  try {
    const value = JSON.parse(td.decode(bytes)) as Partial<Checkpoint>;
    if (value.v !== 1 || typeof value.next !== 'number' || typeof value.prev !== 'string' || typeof value.publicKey !== 'string' || typeof value.sig !== 'string') return undefined;
    return value as Checkpoint;
  } catch {
    return undefined;
  }
}

export class AuditTrail {
  readonly replica: string;
  readonly #store: KeyValueStore;
  readonly #now: () => number;
  readonly #maxRecords: number;
  readonly #signer: (() => Promise<CheckpointSigner>) | undefined;
  readonly #maxPending: number;
  readonly #onError: (error: unknown, entry: AuditEntry) => void;
  #head: Head | undefined;
  #waiting: Waiting[] = [];
  #writing: Promise<void> | undefined;
  #pending = 0;
  #dropped = 0;
  #appended = 0;
  #pruning: Promise<void> | undefined;

  constructor(store: KeyValueStore, options: AuditTrailOptions = {}) {
    this.#store = store;
    this.replica = options.replica ?? defaultReplicaId();
    this.#now = options.now ?? Date.now;
    this.#maxRecords = options.maxRecords ?? 0;
    this.#signer = options.signer;
    this.#maxPending = options.maxPending ?? 10_000;
    this.#onError = options.onError ?? (() => undefined);
  }

  get stats(): { appended: number; dropped: number; pending: number } {
    return { appended: this.#appended, dropped: this.#dropped, pending: this.#pending };
  }

  /**
   * Queues one record; resolves with it once stored (rejects when the store refused it). A
   * failure is reported to `onError` (the request's own reporter, so the line carries its request
   * id) or else to the trail's.
   */
  append(entry: AuditEntry, onError?: (error: unknown, entry: AuditEntry) => void): Promise<AuditRecord> {
    const report = onError ?? this.#onError;
    if (this.#pending >= this.#maxPending) {
      this.#dropped++;
      const error = new Error(`audit queue full (${this.#maxPending} records waiting): record dropped`);
      report(error, entry);
      return Promise.reject(error);
    }
    const clean = sanitizeEntry(entry);
    this.#pending++;
    const result = new Promise<AuditRecord>((resolve, reject) => this.#waiting.push({ entry: clean, original: entry, report, resolve, reject }));
    this.#writing ??= this.#drain();
    return result;
  }

  /** Resolves once every queued append (and a prune under way) is done. */
  async flush(): Promise<void> {
    while (this.#writing !== undefined) await this.#writing;
    await this.#pruning;
  }

  /** Writes batches until nothing waits; a batch the store refuses rejects its entries only. */
  async #drain(): Promise<void> {
    try {
      while (this.#waiting.length > 0) {
        const batch = this.#waiting.splice(0, MAX_BATCH);
        try {
          const records = await this.#write(batch.map((waiting) => waiting.entry));
          for (const [index, waiting] of batch.entries()) waiting.resolve(records[index] as AuditRecord);
        } catch (error) {
          for (const waiting of batch) {
            waiting.report(error, waiting.original);
            waiting.reject(error);
          }
        } finally {
          this.#pending -= batch.length;
        }
      }
    } finally {
      this.#writing = undefined;
    }
  }

  async #discoverHead(): Promise<Head> {
    let head = { seq: 0, hash: GENESIS };
    const hint = await this.#store.get(AUDIT_NAMESPACE, HEAD_KEY);
    let hinted: { seq: number } | undefined;
    try {
      hinted = hint === undefined ? undefined : (JSON.parse(td.decode(hint)) as { seq: number });
    } catch {
      hinted = undefined;
    }
    let start = typeof hinted?.seq === 'number' && Number.isSafeInteger(hinted.seq) ? hinted.seq : undefined;
    if (start === undefined) {
      const keys = await this.#store.list(AUDIT_NAMESPACE, RECORD_PREFIX);
      const last = keys.length === 0 ? undefined : seqOfKey(keys[keys.length - 1] ?? '', RECORD_PREFIX);
      start = last ?? 0;
      if (last === undefined) {
        const checkpoint = await latestCheckpoint(this.#store);
        if (checkpoint !== undefined) return { seq: checkpoint.next - 1, hash: checkpoint.prev };
      }
    }
    if (start > 0) {
      const bytes = await this.#store.get(AUDIT_NAMESPACE, recordKey(start));
      if (bytes !== undefined) head = { seq: start, hash: chainHashOf(bytes) };
    }
    return head;
  }

  /** Appends `entries` in order; resolves with their records. */
  async #write(entries: readonly AuditEntry[]): Promise<AuditRecord[]> {
    this.#head ??= await this.#discoverHead();
    if (this.#store.updateExclusive !== undefined) return this.#writeExclusive(entries, this.#store.updateExclusive.bind(this.#store));
    const written: AuditRecord[] = [];
    for (let attempt = 0; attempt < MAX_RACE_RETRIES; attempt++) {
      const { records, writes } = this.#chain(entries.slice(written.length), this.#head);
      const created = Math.min(await setInOrder(this.#store, writes.map((write): BatchWrite => ({ namespace: AUDIT_NAMESPACE, ...write }))), records.length);
      for (const record of records.slice(0, created)) {
        this.#accept(record);
        written.push(record);
      }
      if (written.length === entries.length) return written;
      // Another replica took the next number: chain onto its newest record (probe forward past
      // the records it wrote in the same batch).
      let newest: Head = this.#head;
      for (let winner = await this.#store.get(AUDIT_NAMESPACE, recordKey(newest.seq + 1)); winner !== undefined; winner = await this.#store.get(AUDIT_NAMESPACE, recordKey(newest.seq + 1))) {
        newest = { seq: newest.seq + 1, hash: chainHashOf(winner) };
      }
      this.#head = newest;
    }
    throw new Error('audit append lost the race too often');
  }

  /** Chains `entries` onto the store's newest record and writes them, in one exclusive transaction. */
  async #writeExclusive(entries: readonly AuditEntry[], updateExclusive: NonNullable<KeyValueStore['updateExclusive']>): Promise<AuditRecord[]> {
    const known = this.#head ?? { seq: 0, hash: GENESIS };
    const records = await updateExclusive(AUDIT_NAMESPACE, (read) => {
      // Start from the hint or this process's own head, whichever is newer, then probe forward
      // past records written without a hint update (an older process) — normally one read.
      const hint = parseHead(read(HEAD_KEY));
      let head = hint !== undefined && hint.seq > known.seq ? hint : known;
      for (let next = read(recordKey(head.seq + 1)); next !== undefined; next = read(recordKey(head.seq + 1))) {
        head = { seq: head.seq + 1, hash: chainHashOf(next) };
      }
      const { records: built, writes } = this.#chain(entries, head);
      return { writes, result: built };
    });
    for (const record of records) this.#accept(record);
    return records;
  }

  /**
   * `entries` chained onto `head`, and their writes: each record created only where its number
   * is free, then the head hint — a hint only (races may leave it behind the newest record;
   * readers probe forward), in the batch's own transaction and only once the batch is fully
   * written: one write per batch.
   */
  #chain(entries: readonly AuditEntry[], head: Head): { records: AuditRecord[]; writes: Omit<BatchWrite, 'namespace'>[] } {
    const records: AuditRecord[] = [];
    const writes: Omit<BatchWrite, 'namespace'>[] = [];
    let last = head;
    for (const entry of entries) {
      const unsigned: UnsignedRecord = { v: 1, seq: last.seq + 1, prev: last.hash, time: new Date(this.#now()).toISOString(), replica: this.replica, ...entry };
      const record: AuditRecord = { ...unsigned, hash: hashRecord(unsigned) };
      records.push(record);
      writes.push({ key: recordKey(record.seq), value: te.encode(JSON.stringify(record)), overwrite: false });
      last = { seq: record.seq, hash: record.hash };
    }
    writes.push({ key: HEAD_KEY, value: te.encode(JSON.stringify(last)) });
    return { records, writes };
  }

  /** A record the store took: it is this process's head now. */
  #accept(record: AuditRecord): void {
    this.#head = { seq: record.seq, hash: record.hash };
    this.#appended++;
    this.#maybePrune(record.seq);
  }

  #maybePrune(seq: number): void {
    if (this.#maxRecords <= 0 || this.#signer === undefined || this.#pruning !== undefined) return;
    const slack = Math.max(10, Math.floor(this.#maxRecords / 10));
    if (seq % slack !== 0 || seq <= this.#maxRecords + slack) return;
    const signer = this.#signer;
    this.#pruning = pruneTrail(this.#store, { keep: this.#maxRecords, signer, replica: this.replica, now: this.#now })
      .then(
        () => undefined,
        (error: unknown) => this.#onError(error, { kind: 'admin', decision: 'prune', outcome: 'error' }),
      )
      .finally(() => {
        this.#pruning = undefined;
      });
  }

  /** The newest records, newest first (at most `limit`), read from the store (every replica's). */
  async recent(limit: number): Promise<AuditRecord[]> {
    const head = await this.#discoverHead();
    let seq = head.seq;
    // Probe forward past the hint (other replicas' appends).
    for (let bytes = await this.#store.get(AUDIT_NAMESPACE, recordKey(seq + 1)); bytes !== undefined; bytes = await this.#store.get(AUDIT_NAMESPACE, recordKey(seq + 1))) seq++;
    const seqs: number[] = [];
    for (let s = seq; s >= 1 && seqs.length < limit; s--) seqs.push(s);
    const records: AuditRecord[] = [];
    for (let i = 0; i < seqs.length; i += 64) {
      const batch = await Promise.all(seqs.slice(i, i + 64).map((s) => this.#store.get(AUDIT_NAMESPACE, recordKey(s))));
      for (const bytes of batch) {
        if (bytes === undefined) return records; // pruned below here
        const record = parseRecord(bytes);
        if (record !== undefined) records.push(record);
      }
    }
    return records;
  }
}

/** The newest record's number and hash: what the next record chains onto. */
interface Head {
  readonly seq: number;
  readonly hash: string;
}

/** The hash the next record chains onto: a stored record's own, or its bytes' digest when it does not parse. */
function chainHashOf(bytes: Uint8Array): string {
  return parseRecord(bytes)?.hash ?? sha256Hex(bytes);
}

/** The head hint `{seq, hash}`, or undefined when absent or unusable. */
function parseHead(bytes: Uint8Array | undefined): Head | undefined {
  if (bytes === undefined) return undefined;
  try {
    const value = JSON.parse(td.decode(bytes)) as { seq?: unknown; hash?: unknown };
    return typeof value.seq === 'number' && Number.isSafeInteger(value.seq) && value.seq >= 0 && typeof value.hash === 'string' ? { seq: value.seq, hash: value.hash } : undefined;
  } catch {
    return undefined;
  }
}

function maxOf(values: readonly number[], floor: number): number {
  let max = floor;
  for (const value of values) if (value > max) max = value;
  return max;
}

export async function latestCheckpoint(store: KeyValueStore): Promise<Checkpoint | undefined> {
  const keys = await store.list(AUDIT_NAMESPACE, CHECKPOINT_PREFIX);
  for (let i = keys.length - 1; i >= 0; i--) {
    const checkpoint = parseCheckpoint(await store.get(AUDIT_NAMESPACE, keys[i] ?? ''));
    if (checkpoint !== undefined) return checkpoint;
  }
  return undefined;
}

/**
 * Keeps the newest `keep` records: writes a signed checkpoint for the cut (conditional create,
 * so two replicas pruning at once agree), then deletes the records and checkpoints before it.
 * A lock key (60 s expiry) keeps concurrent prunes apart.
 */
export async function pruneTrail(store: KeyValueStore, options: { keep: number; signer: () => Promise<CheckpointSigner>; replica: string; now?: () => number }): Promise<{ pruned: number; checkpoint?: Checkpoint }> {
  const now = options.now ?? Date.now;
  if (!(await store.set(AUDIT_NAMESPACE, 'prune-lock', te.encode(options.replica), { overwrite: false, expiresAtMs: now() + 60_000 }))) return { pruned: 0 };
  try {
    const keys = await store.list(AUDIT_NAMESPACE, RECORD_PREFIX);
    const seqs = keys.map((key) => seqOfKey(key, RECORD_PREFIX)).filter((seq): seq is number => seq !== undefined);
    const last = maxOf(seqs, 0);
    const cut = last - options.keep;
    const previous = await latestCheckpoint(store);
    if (cut < 1 || (previous !== undefined && previous.next > cut)) return { pruned: 0 };
    const lastPruned = parseRecord((await store.get(AUDIT_NAMESPACE, recordKey(cut))) ?? new Uint8Array());
    if (lastPruned === undefined) throw new Error(`audit prune: record ${cut} is missing or unreadable; run audit verify`);
    const signer = await options.signer();
    const body: Omit<Checkpoint, 'sig'> = { v: 1, next: cut + 1, prev: lastPruned.hash, time: new Date(now()).toISOString(), replica: options.replica, alg: 'Ed25519', publicKey: signer.publicKey };
    const checkpoint: Checkpoint = { ...body, sig: signer.sign(canonicalJson(body)) };
    await store.set(AUDIT_NAMESPACE, checkpointKey(checkpoint.next), te.encode(JSON.stringify(checkpoint)), { overwrite: false });
    let pruned = 0;
    for (const seq of seqs) {
      if (seq <= cut && (await store.delete(AUDIT_NAMESPACE, recordKey(seq)))) pruned++;
    }
    for (const key of await store.list(AUDIT_NAMESPACE, CHECKPOINT_PREFIX)) {
      const next = seqOfKey(key, CHECKPOINT_PREFIX);
      if (next !== undefined && next < checkpoint.next) await store.delete(AUDIT_NAMESPACE, key);
    }
    return { pruned, checkpoint };
  } finally {
    await store.delete(AUDIT_NAMESPACE, 'prune-lock');
  }
}

export interface VerifyProblem {
  readonly seq: number;
  readonly problem: string;
}

export interface VerifyReport {
  readonly ok: boolean;
  /** Records checked. */
  readonly records: number;
  readonly first: number | undefined;
  readonly last: number | undefined;
  readonly checkpoint?: { readonly next: number; readonly time: string; readonly signer: string };
  /** The first broken or missing record. */
  readonly problem?: VerifyProblem;
}

/**
 * Walks the chain from the newest signed checkpoint (or sequence 1) to the newest record and
 * names the first record that is missing, unreadable, out of place, edited (hash) or not
 * chained to its predecessor. `trustedPublicKey` (base64 SPKI) pins the checkpoint signer.
 */
export async function verifyTrail(store: KeyValueStore, options: { trustedPublicKey?: string | undefined } = {}): Promise<VerifyReport> {
  const keys = await store.list(AUDIT_NAMESPACE, RECORD_PREFIX);
  const seqs = keys.map((key) => seqOfKey(key, RECORD_PREFIX)).filter((seq): seq is number => seq !== undefined);
  const checkpoint = await latestCheckpoint(store);
  let start = 1;
  let expectedPrev = GENESIS;
  let checkpointInfo: VerifyReport['checkpoint'];
  const fail = (seq: number, problem: string, records: number): VerifyReport => ({
    ok: false,
    records,
    first: start,
    last: seqs.length === 0 ? undefined : maxOf(seqs, 0),
    ...(checkpointInfo === undefined ? {} : { checkpoint: checkpointInfo }),
    problem: { seq, problem },
  });
  if (checkpoint !== undefined) {
    checkpointInfo = { next: checkpoint.next, time: checkpoint.time, signer: fingerprintOf(checkpoint.publicKey) };
    if (!verifySignature(checkpoint.publicKey, checkpointBody(checkpoint), checkpoint.sig)) return fail(checkpoint.next, `checkpoint ${checkpoint.next}: signature does not verify`, 0);
    if (options.trustedPublicKey !== undefined && options.trustedPublicKey !== checkpoint.publicKey) {
      return fail(checkpoint.next, `checkpoint ${checkpoint.next}: signed by ${fingerprintOf(checkpoint.publicKey)}, not by the trusted key ${fingerprintOf(options.trustedPublicKey)}`, 0);
    }
    start = checkpoint.next;
    expectedPrev = checkpoint.prev;
  }
  let last = maxOf(seqs, start - 1);
  const hint = await store.get(AUDIT_NAMESPACE, HEAD_KEY);
  let headHint: { seq: number; hash: string } | undefined;
  try {
    headHint = hint === undefined ? undefined : (JSON.parse(td.decode(hint)) as { seq: number; hash: string });
  } catch {
    headHint = undefined;
  }
  if (headHint !== undefined && Number.isSafeInteger(headHint.seq) && headHint.seq > last) last = headHint.seq;

  let checked = 0;
  for (let base = start; base <= last; base += 64) {
    const batchSeqs: number[] = [];
    for (let seq = base; seq <= Math.min(last, base + 63); seq++) batchSeqs.push(seq);
    const values = await Promise.all(batchSeqs.map((seq) => store.get(AUDIT_NAMESPACE, recordKey(seq))));
    for (const [index, seq] of batchSeqs.entries()) {
      const bytes = values[index];
      if (bytes === undefined) return fail(seq, `record ${seq} is missing (deleted${seq === start && checkpoint === undefined ? ', or pruned without a checkpoint' : ''})`, checked);
      const record = parseRecord(bytes);
      if (record === undefined) return fail(seq, `record ${seq} is unreadable`, checked);
      if (record.seq !== seq) return fail(seq, `record ${seq} holds sequence ${record.seq} (records moved or reordered)`, checked);
      if (hashRecord(withoutHash(record)) !== record.hash) return fail(seq, `record ${seq} was edited (its hash does not match its content)`, checked);
      if (record.prev !== expectedPrev) return fail(seq, `record ${seq} does not chain to ${seq === start && checkpoint !== undefined ? 'the checkpoint' : `record ${seq - 1}`} (a record before it was rewritten, removed or reordered)`, checked);
      if (headHint !== undefined && headHint.seq === seq && headHint.hash !== record.hash) return fail(seq, `record ${seq} differs from the head the trail last wrote`, checked);
      expectedPrev = record.hash;
      checked++;
    }
  }
  return { ok: true, records: checked, first: checked === 0 ? undefined : start, last: checked === 0 ? undefined : last, ...(checkpointInfo === undefined ? {} : { checkpoint: checkpointInfo }) };
}

/** Every kept record with `time >= since` (ISO or ms), oldest first. */
export async function* exportTrail(store: KeyValueStore, since: number): AsyncGenerator<AuditRecord> {
  const keys = await store.list(AUDIT_NAMESPACE, RECORD_PREFIX);
  for (let i = 0; i < keys.length; i += 64) {
    const values = await Promise.all(keys.slice(i, i + 64).map((key) => store.get(AUDIT_NAMESPACE, key)));
    for (const bytes of values) {
      const record = bytes === undefined ? undefined : parseRecord(bytes);
      if (record !== undefined && Date.parse(record.time) >= since) yield record;
    }
  }
}
