/**
 * What a resource policy upload must pass before it is stored: Rego syntax, a compile (which
 * refuses unknown functions and type errors), and no builtin that could never work in a KBS
 * policy (network I/O: the engine refuses it at evaluation, so such a policy would deny or fail
 * on every request). The message names the problem; the caller wraps it in ParsePolicyError /
 * PolicyEngineError as its endpoint requires.
 */
import { errorClassWithCode } from '@trustee/errors';
import { calledFunctions, checkPolicySyntax, compilePolicy, RegoError } from '@trustee/rego';

/** Builtins that perform network I/O (packages/rego/src/builtins/index.ts refuses them at evaluation). */
export const FORBIDDEN_BUILTINS: ReadonlySet<string> = new Set(['http.send', 'net.lookup_ip_addr']);

export class PolicyRejected extends errorClassWithCode('policy_rejected') {}

/** Throws PolicyRejected with a client-safe message when the policy would never work. */
export function validateResourcePolicy(source: string): void {
  try {
    checkPolicySyntax(source);
    const forbidden = calledFunctions(source).filter((name) => FORBIDDEN_BUILTINS.has(name));
    if (forbidden.length > 0) throw new PolicyRejected(`builtin ${forbidden.join(', ')} performs network I/O and is refused in KBS policies`);
    compilePolicy(source);
  } catch (error) {
    if (error instanceof RegoError) throw new PolicyRejected(error.message);
    throw error;
  }
}
