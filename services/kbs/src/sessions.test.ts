/**
 * Invariant: a session id is accepted only as 32 lowercase hex in the `kbs-session-id` cookie;
 * a session lives exactly `timeout` minutes from /auth (never extended), and its challenge can
 * be claimed once, also by a second manager sharing the store (another replica).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { MemoryStore, SqliteStore } from '@trustee/storage';
import { SESSION_NAMESPACE, SessionManager, sessionCookie, sessionIdFromCookie } from './sessions.ts';

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
