/**
 * Invariant: init-data binds as H(raw TOML bytes) with the document's own algorithm, the three
 * keys are mandatory, and the claim transformations (cdh.toml/aa.toml → JSON, policy.rego →
 * agent_policy_claims) match upstream.
 */
import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { AttestationError } from './attestationError.ts';
import { expectedInitData, parseInitDataToml } from './initData.ts';

const agentPolicy = `package agent_policy

import future.keywords.in

default CreateContainerRequest := false

policy_data := {
  "containers": [
    {"OCI": {"Annotations": {"io.kubernetes.cri.image-name": "docker.io/library/nginx:1"}, "Process": {"User": {"UID": 101}}}}
  ]
}
`;

const document = `version = "0.1.0"
algorithm = "sha384"

[data]
"aa.toml" = '''
[token_configs.kbs]
url = "http://kbs:8080"
'''
"cdh.toml" = "not = toml = really"
"policy.rego" = '''
${agentPolicy}'''
"other" = "kept"
`;

describe('parseInitDataToml', () => {
  test('digest is H(raw bytes) with the declared algorithm', () => {
    const result = parseInitDataToml(document);
    expect(Buffer.from(result.digest!).toString('hex')).toBe(createHash('sha384').update(document, 'utf8').digest('hex'));
  });

  test('whitespace changes the digest (raw bytes, not the parsed document)', () => {
    const a = parseInitDataToml(document);
    const b = parseInitDataToml(document + '\n');
    expect(Buffer.from(a.digest!).equals(Buffer.from(b.digest!))).toBe(false);
  });

  test('claims transformations', () => {
    const { claims } = parseInitDataToml(document);
    expect(claims).toEqual({
      'aa.toml': { token_configs: { kbs: { url: 'http://kbs:8080' } } },
      'cdh.toml': 'not = toml = really',
      other: 'kept',
      agent_policy_claims: {
        containers: [{ OCI: { Annotations: { 'io.kubernetes.cri.image-name': 'docker.io/library/nginx:1' }, Process: { User: { UID: 101 } } } }],
      },
    });
  });

  test('policy.rego without policy_data (or with non-JSON after it) stays as text', () => {
    const withoutData = parseInitDataToml('version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"policy.rego" = "package x"\n');
    expect(withoutData.claims).toEqual({ 'policy.rego': 'package x' });
    const brokenJson = parseInitDataToml('version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"policy.rego" = "policy_data := { nope"\n');
    expect(brokenJson.claims).toEqual({ 'policy.rego': 'policy_data := { nope' });
  });

  test('sha256 and sha512 documents', () => {
    const text256 = 'version = "0.1.0"\nalgorithm = "sha256"\n[data]\n';
    expect(parseInitDataToml(text256).digest).toHaveLength(32);
    expect(parseInitDataToml(text256.replace('sha256', 'sha512')).digest).toHaveLength(64);
  });

  test('a __proto__ key is data, not a prototype change', () => {
    const { claims } = parseInitDataToml('version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"__proto__" = "x"\n');
    expect(Object.getPrototypeOf(claims)).toBe(Object.prototype);
    expect(Object.keys(claims as object)).toEqual(['__proto__']);
  });

  test.each<[string, string]>([
    ['not TOML', 'version = '],
    ['missing version', 'algorithm = "sha256"\n[data]\n'],
    ['numeric version', 'version = 1\nalgorithm = "sha256"\n[data]\n'],
    ['missing algorithm', 'version = "0.1.0"\n[data]\n'],
    ['IANA algorithm name', 'version = "0.1.0"\nalgorithm = "sha-384"\n[data]\n'],
    ['missing data', 'version = "0.1.0"\nalgorithm = "sha256"\n'],
    ['data not a table', 'version = "0.1.0"\nalgorithm = "sha256"\ndata = "x"\n'],
    ['non-string data value', 'version = "0.1.0"\nalgorithm = "sha256"\n[data]\nx = 1\n'],
  ])('rejects %s', (_name, text) => {
    expect(() => parseInitDataToml(text)).toThrowError(AttestationError);
    try {
      parseInitDataToml(text);
    } catch (error) {
      expect((error as AttestationError).code).toBe('invalid_init_data');
    }
  });
});

describe('expectedInitData', () => {
  test('digest input is used as is with null claims; absent is not checked', () => {
    const digest = new Uint8Array(32).fill(7);
    expect(expectedInitData({ digest })).toEqual({ digest, claims: null });
    expect(expectedInitData(undefined)).toEqual({ digest: undefined, claims: null });
  });
});
