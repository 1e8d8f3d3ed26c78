// Invariant: resource locations map to /kbs/v0/<plugin>/<segments>[?query] and nothing a caller
// passes can escape that path (no dot segments, no empty segments).
import { describe, expect, it } from 'vitest';
import { KbsClientError } from './kbsClientError.ts';
import { encodePath, parseResourceLocation } from './resourceUri.ts';

describe('parseResourceLocation', () => {
  it.each([
    ['default/key/testfile', 'resource', ['default', 'key', 'testfile'], undefined],
    ['/default/key/testfile', 'resource', ['default', 'key', 'testfile'], undefined],
    ['kbs:///default/key/testfile', 'resource', ['default', 'key', 'testfile'], undefined],
    ['kbs://example.org/a/b/c', 'resource', ['a', 'b', 'c'], undefined],
    ['kbs+nebula-ca:///credential?name=n&ip=1.2.3.4', 'nebula-ca', ['credential'], 'name=n&ip=1.2.3.4'],
    ['a/b/c?x=1', 'resource', ['a', 'b', 'c'], 'x=1'],
  ])('%s', (input, plugin, segments, query) => {
    expect(parseResourceLocation(input)).toEqual({ plugin, segments, query });
  });

  it.each(['', 'a//b', 'a/./b', 'a/../b', 'a/b/', 'kbs+bad/x:///a'])('refuses %j', (input) => {
    expect(() => parseResourceLocation(input)).toThrow(KbsClientError);
  });

  it('percent-encodes segments', () => {
    expect(encodePath(['a b', 'c#d', 'e?f', 'ü'])).toBe('a%20b/c%23d/e%3Ff/%C3%BC');
  });
});
