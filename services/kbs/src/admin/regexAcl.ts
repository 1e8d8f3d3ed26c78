/**
 * `[admin.authorization.regex_acl]`: a role may call an endpoint when one of its
 * ACL regexes matches the request URI (path plus query string).
 */
import type { AclConfig } from './adminConfig.ts';

export class RegexAcl {
  readonly #rules: ReadonlyArray<{ readonly role: string; readonly pattern: RegExp }>;

  constructor(acls: readonly AclConfig[]) {
    this.#rules = acls.map((acl) => ({ role: acl.role, pattern: new RegExp(acl.allowedEndpoints, 'u') }));
  }

  allows(role: string, uri: string): boolean {
    return this.#rules.some((rule) => rule.role === role && rule.pattern.test(uri));
  }
}
