/**
 * Scoped resource policies: Rego policies attached to a repository (`acme`, i.e. `acme/*`), a
 * repository and type (`acme/keys`, i.e. `acme/keys/*`) or one resource (`acme/keys/one`). A
 * release of `resource` path r/t/n needs the global `resource-policy` AND every scoped policy
 * above it to allow. Stored in the KBS store (every backend) in their own namespace, so the
 * upstream `kbs` namespace and `GET /kbs/v0/resource-policy` stay exactly as upstream has them.
 */
import { errorClassWithCode } from '@trustee/errors';
import type { KeyValueStore } from '@trustee/storage';
import { compilePolicy, type CompiledPolicy } from '@trustee/rego';

export const SCOPED_POLICY_NAMESPACE = 'kbs_scoped_policy';
const SUFFIX = '.rego';
/** The resource plugin's segment rule (resource.ts). */
const SEGMENT = /^[A-Za-z0-9_-]+[A-Za-z0-9_.-]*$/;
const MAX_SEGMENT = 64;
/** Bound on how many scoped policies a store may list for one admin call. */
export const MAX_LISTED_SCOPES = 10_000;

const decoder = new TextDecoder('utf-8', { fatal: true });

/** A scope as path segments (1 to 3); undefined when not a valid scope. */
export function parseScope(segments: readonly string[]): string[] | undefined {
  let parts = [...segments];
  // `acme/*` and `acme/keys/*` are accepted as written by operators.
  if (parts.length > 1 && parts[parts.length - 1] === '*') parts = parts.slice(0, -1);
  if (parts.length < 1 || parts.length > 3) return undefined;
  if (!parts.every((part) => part.length <= MAX_SEGMENT && SEGMENT.test(part))) return undefined;
  return parts;
}

/** The scopes above a resource path, outermost first (`acme`, `acme/keys`, `acme/keys/one`). */
export function scopesAbove(resourcePath: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 1; i <= Math.min(3, resourcePath.length); i++) out.push(resourcePath.slice(0, i).join('/'));
  return out;
}

export class ScopedPolicyUnreadable extends errorClassWithCode('scoped_policy_unreadable') {}

export interface ScopedPolicy {
  readonly scope: string;
  readonly source: string;
  readonly policy: CompiledPolicy;
}

/** Compiled scoped policies kept per scope (recompiled only when the stored text changes). */
const MAX_COMPILED = 1024;

export class ScopedPolicyStore {
  readonly #store: KeyValueStore;
  readonly #compiled = new Map<string, ScopedPolicy>();

  constructor(store: KeyValueStore) {
    this.#store = store;
  }

  async set(scope: string, source: string): Promise<void> {
    await this.#store.set(SCOPED_POLICY_NAMESPACE, scope + SUFFIX, new TextEncoder().encode(source));
  }

  async getSource(scope: string): Promise<string | undefined> {
    const bytes = await this.#store.get(SCOPED_POLICY_NAMESPACE, scope + SUFFIX);
    if (bytes === undefined) return undefined;
    try {
      return decoder.decode(bytes);
    } catch {
      // Fail closed: an unreadable scoped policy must deny, never be skipped.
      throw new ScopedPolicyUnreadable(`scoped policy ${scope} is not UTF-8`);
    }
  }

  async delete(scope: string): Promise<boolean> {
    return this.#store.delete(SCOPED_POLICY_NAMESPACE, scope + SUFFIX);
  }

  /** Scopes with a policy, sorted; `under` restricts to that scope and the scopes below it. */
  async list(under?: string): Promise<string[]> {
    const keys = await this.#store.list(SCOPED_POLICY_NAMESPACE, under);
    const scopes = keys.filter((key) => key.endsWith(SUFFIX)).map((key) => key.slice(0, -SUFFIX.length));
    const filtered = under === undefined ? scopes : scopes.filter((scope) => scope === under || scope.startsWith(`${under}/`));
    return filtered.slice(0, MAX_LISTED_SCOPES);
  }

  /** One scoped policy, compiled; undefined when none. Throws RegoError / ScopedPolicyUnreadable. */
  async get(scope: string): Promise<ScopedPolicy | undefined> {
    const source = await this.getSource(scope);
    return source === undefined ? undefined : this.#compile(scope, source);
  }

  /** The policy is re-read on every decision (another replica may have replaced it) but compiled once per text. */
  #compile(scope: string, source: string): ScopedPolicy {
    const cached = this.#compiled.get(scope);
    if (cached?.source === source) return cached;
    const compiled = { scope, source, policy: compilePolicy(source) };
    if (this.#compiled.size >= MAX_COMPILED) this.#compiled.clear();
    this.#compiled.set(scope, compiled);
    return compiled;
  }

  /**
   * The policies above a resource path, outermost first, compiled (the engine's bounded cache
   * keeps recompiles rare). Throws RegoError for a stored policy that no longer compiles.
   */
  async above(resourcePath: readonly string[]): Promise<ScopedPolicy[]> {
    const scopes = scopesAbove(resourcePath);
    const sources = await Promise.all(scopes.map((scope) => this.getSource(scope)));
    const out: ScopedPolicy[] = [];
    scopes.forEach((scope, index) => {
      const source = sources[index];
      if (source !== undefined) out.push(this.#compile(scope, source));
    });
    return out;
  }
}
