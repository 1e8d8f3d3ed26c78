// Invariant: only a live `kbs-session-id` cookie is ever sent back; expiry and unrelated cookies
// never leak into requests.
import { describe, expect, it } from 'vitest';
import { SessionCookieJar } from './cookieJar.ts';

describe('SessionCookieJar', () => {
  const now = Date.parse('2026-08-21T10:00:00Z');

  it('stores the upstream Set-Cookie form and sends it until Expires', () => {
    let clock = now;
    const jar = new SessionCookieJar(() => clock);
    jar.store(['kbs-session-id=9f0c2d4e5b6a47c8a1b2c3d4e5f60718; Expires=Fri, 21 Aug 2026 10:05:00 GMT']);
    expect(jar.header()).toBe('kbs-session-id=9f0c2d4e5b6a47c8a1b2c3d4e5f60718');
    clock = Date.parse('2026-08-21T10:04:59Z');
    expect(jar.header()).toBeDefined();
    clock = Date.parse('2026-08-21T10:05:00Z');
    expect(jar.header()).toBeUndefined();
  });

  it.each([
    ['another cookie', ['other=1; Path=/']],
    ['an already expired cookie', ['kbs-session-id=abc; Expires=Thu, 01 Jan 1970 00:00:00 GMT']],
    ['Max-Age=0', ['kbs-session-id=abc; Max-Age=0']],
    ['an empty value', ['kbs-session-id=']],
    ['a cookie whose name only starts with ours', ['kbs-session-id-x=abc']],
  ])('ignores or clears on %s', (_name, headers) => {
    const jar = new SessionCookieJar(() => now);
    jar.store(headers);
    expect(jar.header()).toBeUndefined();
  });

  it('replaces the session on a new cookie and keeps a cookie without expiry', () => {
    const jar = new SessionCookieJar(() => now);
    jar.store(['kbs-session-id=old']);
    jar.store(['x=y', 'kbs-session-id=new; HttpOnly']);
    expect(jar.header()).toBe('kbs-session-id=new');
    jar.store(['kbs-session-id=gone; Max-Age=0']);
    expect(jar.header()).toBeUndefined();
  });
});
