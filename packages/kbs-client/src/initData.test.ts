// Invariant: the init-data digest is H_alg(the exact TOML text) with the document's own
// algorithm, and text the client cannot read is still sendable (the KBS decides).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { initDataDigest, initDataMessage } from './initData.ts';

describe('init-data', () => {
  it.each(['sha256', 'sha384', 'sha512', 'SHA384'])('digests with %s', (algorithm) => {
    const toml = `version = "0.1.0"\nalgorithm = "${algorithm}"\n\n[data]\n"policy.rego" = '''\npackage agent_policy\n'''\n`;
    expect(initDataDigest(toml)).toEqual(new Uint8Array(createHash(algorithm.toLowerCase()).update(toml, 'utf8').digest()));
  });

  it.each([
    ['not TOML', '{"json": true}'],
    ['no algorithm', 'version = "0.1.0"\n'],
    ['an unknown algorithm', 'algorithm = "md5"\n'],
    ['a non-string algorithm', 'algorithm = 384\n'],
  ])('gives no digest for %s', (_name, text) => {
    expect(initDataDigest(text)).toBeUndefined();
  });

  it('wraps the text as {format: toml, body}', () => {
    expect(initDataMessage('a = 1')).toEqual({ format: 'toml', body: 'a = 1' });
  });
});
