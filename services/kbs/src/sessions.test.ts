/**
 * Invariant: a session id is accepted only as 32 lowercase hex in the `kbs-session-id` cookie;
 * a session lives exactly `timeout` minutes from /auth (never extended), and its challenge can
 * be claimed once, also by a second manager sharing the store (another replica).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { MemoryStore, SqliteStore } from '@trustee/storage';
import { SESSION_NAMESPACE, SessionLimitError, SessionManager, sessionCookie, sessionIdFromCookie, type SessionManagerOptions } from './sessions.ts';

const ID = '0123456789abcdef0123456789abcdef';
const request = { version: '0.4.0', tee: 'sample', 'extra-params': '' };
const challenge = { nonce: 'bm9uY2U=', 'extra-params': '' };

test.each([
  [`kbs-session-id=${ID}`, ID],
  [`a=b; kbs-session-id=${ID}; c=d`, ID],
  [`  kbs-session-id = ${ID} `, ID],
  [`kbs-session-id=${ID.toUpperCase()}`, undefined],
  [`kbs-session-id=${ID}0`, undefined],
  ['kbs-session-id=../../etc/passwd', undefined],
  [`other-id=${ID}`, undefined],
  ['', undefined],
  [undefined, undefined],
])('sessionIdFromCookie(%j) → %j', (header, expected) => {
  expect(sessionIdFromCookie(header)).toBe(expected);
});

test('cookie has no Path and an HTTP-date expiry', () => {
  expect(sessionCookie({ id: ID, expiresAtMs: Date.UTC(2026, 7, 21, 10, 5, 0) })).toBe(`kbs-session-id=${ID}; Expires=Fri, 21 Aug 2026 10:05:00 GMT`);
});

test('lifetime is fixed at creation; attested sessions keep it; expired ones are deleted', async () => {
  let now = 1_000_000;
  const store = new MemoryStore(() => now);
  const sessions = new SessionManager(store, { timeoutMinutes: 5, now: () => now });
  const session = await sessions.create(request, challenge);
  expect(session.id).toMatch(/^[0-9a-f]{32}$/);
  expect(session.expiresAtMs).toBe(1_000_000 + 300_000);
  now += 200_000;
  const attested = await sessions.markAttested(session, 'token');
  expect(attested.expiresAtMs).toBe(session.expiresAtMs);
  expect((await sessions.get(session.id))?.state).toMatchObject({ status: 'Attested', token: 'token' });
  now = session.expiresAtMs;
  expect(await sessions.get(session.id)).toBeUndefined();
  expect(await store.list(SESSION_NAMESPACE)).toEqual([]);
});

test('a challenge is claimed once, across two managers sharing one SQLite file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sessions-'));
  const a = new SqliteStore({ path: join(dir, 'kbs.sqlite'), sweepIntervalMs: 0 });
  const b = new SqliteStore({ path: join(dir, 'kbs.sqlite'), sweepIntervalMs: 0, synchronous: 'NORMAL' });
  try {
    const replicaA = new SessionManager(a, { timeoutMinutes: 5, now: Date.now });
    const replicaB = new SessionManager(b, { timeoutMinutes: 5, now: Date.now });
    const session = await replicaA.create(request, challenge);
    const seenByB = await replicaB.get(session.id);
    expect(seenByB?.state.status).toBe('Authed');
    expect(await replicaB.claimChallenge(seenByB ?? session)).toBe(true);
    expect(await replicaA.claimChallenge(session)).toBe(false);
  } finally {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unparseable stored state reads as no session', async () => {
  const store = new MemoryStore();
  await store.set(SESSION_NAMESPACE, ID, new TextEncoder().encode('{not json'));
  expect(await new SessionManager(store, { timeoutMinutes: 5, now: Date.now }).get(ID)).toBeUndefined();
});

test('an attested session is served from memory until it expires; Authed state is always re-read', async () => {
  let now = 1_000_000;
  const store = new MemoryStore(() => now);
  const replicaA = new SessionManager(store, { timeoutMinutes: 5, now: () => now });
  const replicaB = new SessionManager(store, { timeoutMinutes: 5, now: () => now });
  const session = await replicaA.create(request, challenge);
  expect((await replicaA.get(session.id))?.state.status).toBe('Authed');
  await replicaB.markAttested(session, 'token-b');
  // A saw Authed before; it must not keep serving that.
  expect((await replicaA.get(session.id))?.state).toMatchObject({ status: 'Attested', token: 'token-b' });
  await store.delete(SESSION_NAMESPACE, session.id);
  expect((await replicaA.get(session.id))?.state).toMatchObject({ status: 'Attested', token: 'token-b' });
  now = session.expiresAtMs;
  expect(await replicaA.get(session.id)).toBeUndefined();
  expect(await replicaB.get(session.id)).toBeUndefined();
});

describe('bounded footprint (issue 8: no global lockout, no unbounded memory)', () => {
  const managers: SessionManager[] = [];
  afterEach(() => {
    for (const manager of managers.splice(0)) manager.close();
  });
  const manager = (store: MemoryStore, now: () => number, limits: Partial<SessionManagerOptions> = {}): SessionManager => {
    const created = new SessionManager(store, { timeoutMinutes: 5, now, sweepIntervalMs: 0, ...limits });
    managers.push(created);
    return created;
  };

  test('a client at its quota is refused; other clients are not', async () => {
    const now = 1_000_000;
    const sessions = manager(new MemoryStore(() => now), () => now, { maxSessionsPerClient: 3 });
    for (let i = 0; i < 3; i += 1) await sessions.create(request, challenge, '10.0.0.1');
    await expect(sessions.create(request, challenge, '10.0.0.1')).rejects.toThrow(new SessionLimitError('too many open sessions from this address'));
    await expect(sessions.create(request, challenge, '10.0.0.2')).resolves.toBeDefined();
    expect(sessions.stats().open).toBe(4);
  });

  test('at the global cap the heaviest client loses its oldest session; the heaviest itself is refused', async () => {
    const now = 1_000_000;
    const store = new MemoryStore(() => now);
    const sessions = manager(store, () => now, { maxSessions: 4, maxSessionsPerClient: 0 });
    const flood = [];
    for (let i = 0; i < 4; i += 1) flood.push(await sessions.create(request, challenge, 'heavy'));
    await expect(sessions.create(request, challenge, 'heavy')).rejects.toThrow(new SessionLimitError('too many open sessions'));
    const guest = await sessions.create(request, challenge, 'guest');
    expect(await sessions.get(guest.id)).toBeDefined();
    expect(await sessions.get(flood[0]?.id ?? '')).toBeUndefined();
    expect(await sessions.get(flood[1]?.id ?? '')).toBeDefined();
    expect(sessions.stats().open).toBe(4);
    expect(await store.list(SESSION_NAMESPACE)).toHaveLength(4);
  });

  test('stored bytes are capped too: a token that does not fit is refused to the heaviest client', async () => {
    const now = 1_000_000;
    const sessions = manager(new MemoryStore(() => now), () => now, { maxSessionBytes: 4096 });
    const session = await sessions.create(request, challenge, 'a');
    await expect(sessions.markAttested(session, 'x'.repeat(8192))).rejects.toThrow(SessionLimitError);
    const small = await sessions.markAttested(session, 'x'.repeat(1024));
    expect(small.state.status).toBe('Attested');
    expect(sessions.stats().openBytes).toBeLessThanOrEqual(4096);
  });

  test('expired sessions leave memory and the store on the sweep, without being read', async () => {
    let now = 1_000_000;
    const store = new MemoryStore(() => now);
    const sessions = manager(store, () => now);
    for (let i = 0; i < 10; i += 1) await sessions.markAttested(await sessions.create(request, challenge, 'c'), `token-${i}`);
    expect(sessions.stats()).toMatchObject({ open: 10, attestedCached: 10 });
    now += 5 * 60_000;
    sessions.sweep();
    expect(sessions.stats()).toEqual({ open: 0, openBytes: 0, attestedCached: 0, attestedCachedBytes: 0 });
    await new Promise((resolve) => setImmediate(resolve));
    now -= 1;
    expect(await store.list(SESSION_NAMESPACE)).toEqual([]);
  });
});
