/**
 * RCAR session state machine, stored in the shared KeyValueStore so several KBS
 * replicas on one database serve the same guests:
 *
 *   /auth   → Authed { request, challenge, id, timeout }
 *   /attest → Attested { token, id, timeout }           (challenge claimed exactly once)
 *
 * The cookie lifetime is fixed at /auth time and never extended. Expired sessions read as
 * absent and are deleted (the store's expiry does it on read; SqliteStore also sweeps), and this
 * process drops the ones it created or cached from memory and the store every few seconds.
 *
 * Attested is terminal (nothing but expiry ends it), so this process keeps the Attested sessions
 * it has seen in memory and serves resource requests from there; Authed state is always read
 * from the store, where another replica may have attested, spent or deleted it.
 */
import { randomUUID } from 'node:crypto';
import type { AuthRequest, Challenge } from '@trustee/protocol';
import type { KeyValueStore } from '@trustee/storage';
import { errorClassWithCode } from '@trustee/errors';

export const SESSION_NAMESPACE = 'kbs_protocol_session';
export const SESSION_COOKIE = 'kbs-session-id';
const SESSION_ID_PATTERN = /^[0-9a-f]{32}$/;

export type SessionState =
  | { readonly status: 'Authed'; readonly id: string; readonly timeout: string; readonly request: AuthRequest; readonly challenge: Challenge }
  | { readonly status: 'Attested'; readonly id: string; readonly timeout: string; readonly token: string; readonly tee?: string };

export interface Session {
  readonly id: string;
  readonly expiresAtMs: number;
  readonly state: SessionState;
}

export interface SessionManagerOptions {
  /** Session (cookie) lifetime: `[attestation_service] timeout` minutes, default 5. */
  readonly timeoutMinutes: number;
  readonly now: () => number;
  /**
   * How many unexpired sessions this process may have open at once (bounded store: an
   * unauthenticated peer cannot fill the database through /auth). Default 100 000.
   */
  readonly maxSessions?: number;
  /** Open sessions per client address; 0 = no per-client limit. Default 1024. */
  readonly maxSessionsPerClient?: number;
  /**
   * Bytes of session state (the stored JSON, tokens included) this process may have open at
   * once, and the bound of its in-memory cache of Attested sessions. Default 256 MiB.
   */
  readonly maxSessionBytes?: number;
  /** How often expired sessions are dropped from memory and deleted from the store. Default 5 s. */
  readonly sweepIntervalMs?: number;
}

export class SessionLimitError extends errorClassWithCode('session_limit') {}

export const DEFAULT_MAX_SESSIONS = 100_000;
export const DEFAULT_MAX_SESSIONS_PER_CLIENT = 1024;
export const DEFAULT_MAX_SESSION_BYTES = 256 * 1024 * 1024;

/** A session this process created: who opened it, until when, how many stored bytes it holds. */
interface OpenSession {
  readonly client: string;
  readonly expiresAtMs: number;
  bytes: number;
}

/** The open sessions of one client address, oldest first. */
interface ClientSessions {
  readonly ids: Set<string>;
  bytes: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Reads the session id from a Cookie header; undefined unless it is well-formed. */
export function sessionIdFromCookie(cookieHeader: string | undefined): string | undefined {
  if (cookieHeader === undefined) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    if (SESSION_ID_PATTERN.test(value)) return value;
  }
  return undefined;
}

/** `kbs-session-id=<id>; Expires=<HTTP-date>` — no Path, like upstream. */
export function sessionCookie(session: Pick<Session, 'id' | 'expiresAtMs'>): string {
  return `${SESSION_COOKIE}=${session.id}; Expires=${new Date(session.expiresAtMs).toUTCString()}`;
}

/**
 * Sessions with bounded footprint: every session this process opens is accounted to the
 * client address that asked for it (count and stored bytes). A client at its own quota is
 * refused; when the global count or byte cap is reached, the heaviest client loses its oldest
 * session before anyone else is refused, so one client cannot lock the others out. Expired
 * sessions leave memory and the store on a timer, not only when read.
 */
export class SessionManager {
  readonly #store: KeyValueStore;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #maxSessions: number;
  readonly #maxPerClient: number;
  readonly #maxBytes: number;
  /** Sessions this process created, in creation order (= expiry order: the lifetime is fixed). */
  readonly #open = new Map<string, OpenSession>();
  readonly #clients = new Map<string, ClientSessions>();
  #openBytes = 0;
  /** Attested sessions seen by this process, oldest first (bounded in count and token bytes). */
  readonly #attested = new Map<string, Session>();
  #attestedBytes = 0;
  readonly #sweeper: NodeJS.Timeout | undefined;

  constructor(store: KeyValueStore, options: SessionManagerOptions) {
    this.#store = store;
    this.#timeoutMs = options.timeoutMinutes * 60_000;
    this.#now = options.now;
    this.#maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
    this.#maxPerClient = options.maxSessionsPerClient ?? DEFAULT_MAX_SESSIONS_PER_CLIENT;
    this.#maxBytes = options.maxSessionBytes ?? DEFAULT_MAX_SESSION_BYTES;
    const interval = options.sweepIntervalMs ?? 5_000;
    if (interval > 0) {
      this.#sweeper = setInterval(() => this.sweep(), interval);
      this.#sweeper.unref();
    }
  }

  /** Open sessions, their stored bytes and the Attested sessions cached in memory (metrics, tests). */
  stats(): { readonly open: number; readonly openBytes: number; readonly attestedCached: number; readonly attestedCachedBytes: number } {
    return { open: this.#open.size, openBytes: this.#openBytes, attestedCached: this.#attested.size, attestedCachedBytes: this.#attestedBytes };
  }

  /** Drops every expired session from memory and deletes the ones this process created from the store. */
  sweep(): void {
    const now = this.#now();
    for (const [id, session] of this.#attested) if (session.expiresAtMs <= now) this.#forgetAttested(id);
    this.#dropExpiredOpen(now);
  }

  /** Stops the sweeper (the store is the caller's to close). */
  close(): void {
    clearInterval(this.#sweeper);
  }

  #dropExpiredOpen(now: number): void {
    for (const [id, open] of this.#open) {
      if (open.expiresAtMs > now) break;
      this.#forgetOpen(id);
      this.#deleteStored(id);
    }
  }

  #forgetOpen(id: string): void {
    const open = this.#open.get(id);
    if (open === undefined) return;
    this.#open.delete(id);
    this.#openBytes -= open.bytes;
    const client = this.#clients.get(open.client);
    if (client === undefined) return;
    client.ids.delete(id);
    client.bytes -= open.bytes;
    if (client.ids.size === 0) this.#clients.delete(open.client);
  }

  #forgetAttested(id: string): void {
    const session = this.#attested.get(id);
    if (session === undefined) return;
    this.#attested.delete(id);
    this.#attestedBytes -= attestedBytes(session);
  }

  /** Store deletion in the background: a failure only leaves a row the store's own expiry removes. */
  #deleteStored(id: string): void {
    this.#store.delete(SESSION_NAMESPACE, id).catch(() => undefined);
    this.#store.delete(SESSION_NAMESPACE, `${id}.claim`).catch(() => undefined);
  }

  /** The client holding the most session bytes (then the most sessions). */
  #heaviestClient(): string | undefined {
    let heaviest: string | undefined;
    let best: ClientSessions | undefined;
    for (const [client, sessions] of this.#clients) {
      if (best === undefined || sessions.bytes > best.bytes || (sessions.bytes === best.bytes && sessions.ids.size > best.ids.size)) {
        heaviest = client;
        best = sessions;
      }
    }
    return heaviest;
  }

  /**
   * Makes room for `extraBytes` more (and, when `newSession`, one more session) of `client`,
   * evicting the heaviest other client's oldest sessions; throws when `client` is the heaviest.
   */
  #makeRoom(client: string, extraBytes: number, newSession: boolean): void {
    const own = this.#clients.get(client);
    if (newSession && this.#maxPerClient > 0 && (own?.ids.size ?? 0) >= this.#maxPerClient) {
      throw new SessionLimitError('too many open sessions from this address');
    }
    const full = (): boolean => (newSession && this.#open.size >= this.#maxSessions) || this.#openBytes + extraBytes > this.#maxBytes;
    while (full()) {
      const heaviest = this.#heaviestClient();
      const victim = heaviest === undefined ? undefined : this.#clients.get(heaviest);
      const mine = this.#clients.get(client);
      if (heaviest === undefined || victim === undefined || heaviest === client || (mine !== undefined && mine.bytes >= victim.bytes)) {
        throw new SessionLimitError('too many open sessions');
      }
      const oldest = victim.ids.values().next();
      if (oldest.done === true) throw new SessionLimitError('too many open sessions');
      this.#forgetOpen(oldest.value);
      this.#forgetAttested(oldest.value);
      this.#deleteStored(oldest.value);
    }
  }

  #rememberAttested(session: Session): void {
    this.#forgetAttested(session.id);
    const bytes = attestedBytes(session);
    if (bytes > this.#maxBytes) return;
    while (this.#attested.size > 0 && (this.#attested.size >= this.#maxSessions || this.#attestedBytes + bytes > this.#maxBytes)) {
      const oldest = this.#attested.keys().next();
      if (oldest.done === true) break;
      this.#forgetAttested(oldest.value);
    }
    this.#attested.set(session.id, session);
    this.#attestedBytes += bytes;
  }

  async #write(id: string, encoded: Uint8Array, expiresAtMs: number): Promise<void> {
    await this.#store.set(SESSION_NAMESPACE, id, encoded, { expiresAtMs });
  }

  /**
   * Starts a session for an accepted /auth request from `client` (the peer address).
   *
   * @throws SessionLimitError when the client is at its quota, or the process at its caps and
   *   this client is the heaviest.
   */
  async create(request: AuthRequest, challenge: Challenge, client = 'unknown'): Promise<Session> {
    const now = this.#now();
    this.#dropExpiredOpen(now);
    const id = randomUUID().replaceAll('-', '');
    const expiresAtMs = now + this.#timeoutMs;
    const state: SessionState = { status: 'Authed', id, timeout: new Date(expiresAtMs).toISOString(), request, challenge };
    const encoded = encoder.encode(JSON.stringify(state));
    const size = encoded.byteLength;
    this.#makeRoom(client, size, true);
    const open: OpenSession = { client, expiresAtMs, bytes: size };
    // Accounted before the write so concurrent /auth calls see it.
    this.#open.set(id, open);
    this.#openBytes += size;
    const sessions = this.#clients.get(client) ?? { ids: new Set<string>(), bytes: 0 };
    sessions.ids.add(id);
    sessions.bytes += size;
    this.#clients.set(client, sessions);
    try {
      await this.#write(id, encoded, expiresAtMs);
    } catch (error) {
      this.#forgetOpen(id);
      throw error;
    }
    return { id, expiresAtMs, state };
  }

  /** The live session, or undefined when absent, expired (then deleted) or unreadable. */
  async get(id: string): Promise<Session | undefined> {
    if (!SESSION_ID_PATTERN.test(id)) return undefined;
    const known = this.#attested.get(id);
    if (known !== undefined) {
      if (known.expiresAtMs > this.#now()) return known;
      this.#forgetAttested(id);
    }
    const bytes = await this.#store.get(SESSION_NAMESPACE, id);
    if (bytes === undefined) return undefined;
    let state: SessionState;
    try {
      state = JSON.parse(decoder.decode(bytes)) as SessionState;
    } catch {
      return undefined;
    }
    const expiresAtMs = Date.parse(state.timeout);
    if (!Number.isFinite(expiresAtMs) || expiresAtMs <= this.#now()) {
      this.#forgetOpen(id);
      await this.#store.delete(SESSION_NAMESPACE, id);
      await this.#store.delete(SESSION_NAMESPACE, `${id}.claim`);
      return undefined;
    }
    const session: Session = { id, expiresAtMs, state };
    if (state.status === 'Attested') this.#rememberAttested(session);
    return session;
  }

  /**
   * Claims the session's challenge for one attestation attempt. Only the first caller — in this
   * process or any replica sharing the store — gets `true`: a nonce is verified at most once.
   */
  async claimChallenge(session: Session): Promise<boolean> {
    return this.#store.set(SESSION_NAMESPACE, `${session.id}.claim`, new Uint8Array([1]), { overwrite: false, expiresAtMs: session.expiresAtMs });
  }

  /**
   * Stores the token: the session becomes Attested.
   *
   * @throws SessionLimitError when the token does not fit the byte cap (this client is the heaviest).
   */
  async markAttested(session: Session, token: string, tee?: string): Promise<Session> {
    const state: SessionState = { status: 'Attested', id: session.id, timeout: session.state.timeout, token, ...(tee === undefined ? {} : { tee }) };
    const encoded = encoder.encode(JSON.stringify(state));
    const open = this.#open.get(session.id);
    if (open !== undefined) {
      const growth = Math.max(0, encoded.byteLength - open.bytes);
      this.#makeRoom(open.client, growth, false);
      // makeRoom evicts only other clients' sessions, so this one is still accounted.
      open.bytes += growth;
      this.#openBytes += growth;
      const client = this.#clients.get(open.client);
      if (client !== undefined) client.bytes += growth;
    }
    await this.#write(session.id, encoded, session.expiresAtMs);
    const attested: Session = { ...session, state };
    this.#rememberAttested(attested);
    return attested;
  }

  async delete(id: string): Promise<void> {
    this.#forgetAttested(id);
    this.#forgetOpen(id);
    await this.#store.delete(SESSION_NAMESPACE, id);
    await this.#store.delete(SESSION_NAMESPACE, `${id}.claim`);
  }
}

/** Memory an Attested session holds (its token dominates). */
function attestedBytes(session: Session): number {
  return session.state.status === 'Attested' ? session.state.token.length + 256 : 256;
}
