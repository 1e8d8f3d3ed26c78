/**
 * Rego engine benchmark: µs per evaluation after compile for a default-CPU-like appraisal
 * policy and the KBS default resource policy, on realistic EAR claims.
 *
 * Run: pnpm exec tsx bench/rego.bench.ts
 */
import { compilePolicy, type RegoJson } from '../packages/rego/src/index.ts';
import { CPU_APPRAISAL_POLICY, EAR_CLAIMS, KBS_AFFIRMING_POLICY, KBS_DEFAULT_POLICY, SNP_CLAIMS, SNP_REFERENCE_VALUES } from '../packages/rego/src/testPolicies.ts';

function measure(label: string, iterations: number, f: () => unknown): void {
  for (let i = 0; i < iterations; i++) f();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) f();
  const ns = Number(process.hrtime.bigint() - start);
  console.log(`${label.padEnd(58)} ${(ns / iterations / 1000).toFixed(2).padStart(8)} µs/eval  (${iterations} iterations)`);
}

const rv = (args: RegoJson[]): RegoJson => (SNP_REFERENCE_VALUES[String(args[0])] as RegoJson | undefined) ?? null;

const appraisal = compilePolicy(CPU_APPRAISAL_POLICY, { hostFunctions: { query_reference_value: rv } });
const kbs = compilePolicy(KBS_DEFAULT_POLICY);
const affirming = compilePolicy(KBS_AFFIRMING_POLICY);
const kbsData = { plugin: 'resource', 'resource-path': ['default', 'key', '1'], query: {} };

console.log('trust_claims:', JSON.stringify(appraisal.evaluateRule('data.policy.trust_claims', { input: SNP_CLAIMS })));
console.log('kbs allow:', kbs.evaluateRule('data.policy.allow', { input: EAR_CLAIMS, data: kbsData }));

measure('compile (cache hit) CPU appraisal policy', 20_000, () => compilePolicy(CPU_APPRAISAL_POLICY, { hostFunctions: { query_reference_value: rv } }));
measure('AS appraisal: data.policy.trust_claims (SNP claims)', 20_000, () => appraisal.evaluateRule('data.policy.trust_claims', { input: SNP_CLAIMS }));
measure('AS appraisal: data.policy.extensions', 20_000, () => appraisal.evaluateRule('data.policy.extensions', { input: SNP_CLAIMS }));
measure('KBS default resource policy: data.policy.allow', 50_000, () => kbs.evaluateRule('data.policy.allow', { input: EAR_CLAIMS, data: kbsData }));
measure('KBS affirming policy: data.policy.allow', 50_000, () => affirming.evaluateRule('data.policy.allow', { input: EAR_CLAIMS, data: kbsData }));
