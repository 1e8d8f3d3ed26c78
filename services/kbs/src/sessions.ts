/**
 * RCAR session state machine (spec §1.3), stored in the shared KeyValueStore so several KBS
 * replicas on one database serve the same guests:
 *
 *   /auth   → Authed { request, challenge, id, timeout }
 *   /attest → Attested { token, id, timeout }           (challenge claimed exactly once)
 *
 * The cookie lifetime is fixed at /auth time and never extended. Expired sessions read as
 * absent and are deleted (the store's expiry does it on read; SqliteStore also sweeps).
 *
 * Attested is terminal (nothing but expiry ends it), so this process keeps the Attested sessions
 * it has seen in memory and serves resource requests from there; Authed state is always read
 * from the store, where another replica may have attested, spent or deleted it.
 */
import { randomUUID } from 'node:crypto';
import type { AuthRequest, Challenge } from '@trustee/protocol';
import type { KeyValueStore } from '@trustee/storage';

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
   * How many unexpired sessions this process may have created (bounded store: an
   * unauthenticated peer cannot fill the database through /auth). Default 100 000.
   */
  readonly maxSessions?: number;
}

export class SessionLimitError extends Error {}

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

export class SessionManager {
  readonly #store: KeyValueStore;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #maxSessions: number;
  /** Expiry times of sessions this process created, oldest first. */
  readonly #created: number[] = [];
  /** Attested sessions seen by this process, oldest first (bounded like the session count). */
  readonly #attested = new Map<string, Session>();

  constructor(store: KeyValueStore, options: SessionManagerOptions) {
    this.#store = store;
    this.#timeoutMs = options.timeoutMinutes * 60_000;
    this.#now = options.now;
    this.#maxSessions = options.maxSessions ?? 100_000;
  }

  #liveCount(): number {
    const now = this.#now();
    let expired = 0;
    while (expired < this.#created.length && (this.#created[expired] ?? 0) <= now) expired += 1;
    if (expired > 0) this.#created.splice(0, expired);
    return this.#created.length;
  }

  #rememberAttested(session: Session): void {
    if (this.#attested.size >= this.#maxSessions) {
      const oldest = this.#attested.keys().next();
      if (oldest.done !== true) this.#attested.delete(oldest.value);
    }
    this.#attested.set(session.id, session);
  }

  async #write(state: SessionState, expiresAtMs: number): Promise<void> {
    await this.#store.set(SESSION_NAMESPACE, state.id, encoder.encode(JSON.stringify(state)), { expiresAtMs });
  }

  /** Starts a session for an accepted /auth request. */
  async create(request: AuthRequest, challenge: Challenge): Promise<Session> {
    if (this.#liveCount() >= this.#maxSessions) throw new SessionLimitError('too many open sessions');
    const id = randomUUID().replaceAll('-', '');
    const expiresAtMs = this.#now() + this.#timeoutMs;
    const state: SessionState = { status: 'Authed', id, timeout: new Date(expiresAtMs).toISOString(), request, challenge };
    await this.#write(state, expiresAtMs);
    this.#created.push(expiresAtMs);
    return { id, expiresAtMs, state };
  }

  /** The live session, or undefined when absent, expired (then deleted) or unreadable. */
  async get(id: string): Promise<Session | undefined> {
    if (!SESSION_ID_PATTERN.test(id)) return undefined;
    const known = this.#attested.get(id);
    if (known !== undefined) {
      if (known.expiresAtMs > this.#now()) return known;
      this.#attested.delete(id);
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

  async markAttested(session: Session, token: string, tee?: string): Promise<Session> {
    const state: SessionState = { status: 'Attested', id: session.id, timeout: session.state.timeout, token, ...(tee === undefined ? {} : { tee }) };
    await this.#write(state, session.expiresAtMs);
    const attested: Session = { ...session, state };
    this.#rememberAttested(attested);
    return attested;
  }

  async delete(id: string): Promise<void> {
    this.#attested.delete(id);
    await this.#store.delete(SESSION_NAMESPACE, id);
    await this.#store.delete(SESSION_NAMESPACE, `${id}.claim`);
  }
}
