/**
 * Invariant: an admin role reaches exactly the URIs (path plus query) its anchored ACL regexes
 * match, and no role reaches anything through another role's rule.
 */
import { expect, test } from 'vitest';
import { RegexAcl } from './regexAcl.ts';

const acl = new RegexAcl([
  { role: 'admin', allowedEndpoints: '^/kbs/.+$' },
  { role: 'secrets-writer', allowedEndpoints: '^/kbs/v0/resource/team-a/.+$' },
  { role: 'policy', allowedEndpoints: '^/kbs/v0/resource-policy$' },
]);

test.each([
  ['admin', '/kbs/v0/resource-policy', true],
  ['admin', '/kbs/v0/resource/a/b/c?x=1', true],
  ['secrets-writer', '/kbs/v0/resource/team-a/key/one', true],
  ['secrets-writer', '/kbs/v0/resource/team-b/key/one', false],
  ['secrets-writer', '/kbs/v0/resource-policy', false],
  ['policy', '/kbs/v0/resource-policy', true],
  ['policy', '/kbs/v0/resource-policy?x=1', false],
  ['policy', '/kbs/v0/resource-policyX', false],
  ['nobody', '/kbs/v0/resource-policy', false],
  ['Admin', '/kbs/v0/resource-policy', false],
] as const)('%s → %s: %s', (role, uri, allowed) => {
  expect(acl.allows(role, uri)).toBe(allowed);
});
