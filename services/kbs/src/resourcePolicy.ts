/**
 * The KBS resource policy: Rego stored in namespace `kbs` under
 * `resource-policy.rego`, rule `data.policy.allow`, input = verified token claims, data =
 * `{plugin, "resource-path", query}`. Anything but `true` denies.
 *
 * The policy is re-read from the store on every decision (another replica may have replaced
 * it) but compiled only when its text changes.
 */
import { createHash } from 'node:crypto';
import { DEFAULT_RESOURCE_POLICY } from '@trustee/protocol';
import { compilePolicy, RegoError, type CompiledPolicy, type RegoJson } from '@trustee/rego';
import type { KeyValueStore } from '@trustee/storage';
import type { JsonObject } from './backends.ts';
import { KbsError, kbsErrors } from './errors.ts';
import { PolicyRejected, validateResourcePolicy } from './policies/validation.ts';

export const POLICY_NAMESPACE = 'kbs';
export const RESOURCE_POLICY_ID = 'resource-policy';
const POLICY_SUFFIX = '.rego';
const ALLOW_RULE = 'data.policy.allow';

/** Allows every plugin request carrying a verified token (benchmarks, development). */
export const ALLOW_ALL_RESOURCE_POLICY = `package policy

default allow := true
`;

export interface PolicyRequestData {
  readonly plugin: string;
  readonly 'resource-path': readonly string[];
  readonly query: Readonly<Record<string, string>>;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

export class ResourcePolicy {
  readonly #store: KeyValueStore;
  #cached: { readonly source: string; readonly policy: CompiledPolicy; readonly hash: string } | undefined;

  constructor(store: KeyValueStore) {
    this.#store = store;
  }

  /** Stores the built-in default unless a policy exists (survives restarts, like upstream). */
  async installDefault(): Promise<void> {
    await this.#store.set(POLICY_NAMESPACE, RESOURCE_POLICY_ID + POLICY_SUFFIX, new TextEncoder().encode(DEFAULT_RESOURCE_POLICY), { overwrite: false });
  }

  /**
   * Checks (syntax, compile, no network builtins: policies/validation.ts), then stores. A policy
   * that fails → PolicyEngineError, nothing stored.
   */
  async set(source: string): Promise<void> {
    try {
      validateResourcePolicy(source);
    } catch (error) {
      if (error instanceof PolicyRejected) throw kbsErrors.policyEngine(error.message);
      throw error;
    }
    await this.#store.set(POLICY_NAMESPACE, RESOURCE_POLICY_ID + POLICY_SUFFIX, new TextEncoder().encode(source));
  }

  /** Policy ids in namespace `kbs` (normally `["resource-policy"]`). */
  async list(): Promise<string[]> {
    const keys = await this.#store.list(POLICY_NAMESPACE);
    return keys.filter((key) => key.endsWith(POLICY_SUFFIX)).map((key) => key.slice(0, -POLICY_SUFFIX.length));
  }

  /** The stored policy text (undefined when none is stored). */
  async source(): Promise<string | undefined> {
    const bytes = await this.#store.get(POLICY_NAMESPACE, RESOURCE_POLICY_ID + POLICY_SUFFIX);
    return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
  }

  /** The stored policy, compiled (recompiled only when its text changed). PolicyEngineError when absent or unreadable. */
  async compiled(): Promise<CompiledPolicy> {
    return (await this.#compiledWithHash()).policy;
  }

  async #compiledWithHash(): Promise<{ readonly policy: CompiledPolicy; readonly hash: string }> {
    const bytes = await this.#store.get(POLICY_NAMESPACE, RESOURCE_POLICY_ID + POLICY_SUFFIX);
    if (bytes === undefined) throw kbsErrors.policyEngine(`policy ${RESOURCE_POLICY_ID} not found`);
    let source: string;
    try {
      source = decoder.decode(bytes);
    } catch {
      throw kbsErrors.policyEngine(`policy ${RESOURCE_POLICY_ID} is not UTF-8`);
    }
    if (this.#cached?.source === source) return this.#cached;
    const policy = compilePolicy(source);
    this.#cached = { source, policy, hash: createHash('sha256').update(source).digest('hex') };
    return this.#cached;
  }

  /** Whether the policy allows this request; Rego failures are PolicyEngineError. */
  async allows(claims: JsonObject, data: PolicyRequestData): Promise<boolean> {
    return (await this.decide(claims, data)).allowed;
  }

  /** The decision and the SHA-256 (hex) of the policy text that made it. */
  async decide(claims: JsonObject, data: PolicyRequestData): Promise<{ allowed: boolean; policyHash: string }> {
    try {
      const { policy, hash } = await this.#compiledWithHash();
      const result = policy.evaluateRule(ALLOW_RULE, { input: claims as RegoJson, data: data as unknown as RegoJson });
      return { allowed: result === true, policyHash: hash };
    } catch (error) {
      if (error instanceof KbsError) throw error;
      if (error instanceof RegoError) throw kbsErrors.policyEngine(error.message);
      throw error;
    }
  }
}
