/**
 * Rego engine benchmark: µs per evaluation after compile for a default-CPU-like appraisal
 * policy and the KBS default resource policy, on realistic EAR claims.
 *
 * Run: pnpm exec tsx bench/rego.bench.ts
 */
import { compilePolicy, type RegoJson } from '../packages/rego/src/index.ts';
import { CPU_APPRAISAL_POLICY, EAR_CLAIMS, KBS_AFFIRMING_POLICY, KBS_DEFAULT_POLICY, SNP_CLAIMS, SNP_REFERENCE_VALUES } from '../packages/rego/src/testPolicies.ts';

/** Runs `rounds` timed batches after a warm-up and prints the best and median µs/eval (the machine is shared: the best round is the least disturbed). */
function measure(label: string, iterations: number, f: () => unknown, rounds = 7): void {
  for (let i = 0; i < iterations; i++) f();
  const perEval: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) f();
    perEval.push(Number(process.hrtime.bigint() - start) / iterations / 1000);
  }
  perEval.sort((a, b) => a - b);
  const best = (perEval[0] ?? 0).toFixed(2);
  const median = (perEval[Math.floor(perEval.length / 2)] ?? 0).toFixed(2);
  console.log(`${label.padEnd(56)} best ${best.padStart(7)} µs  median ${median.padStart(7)} µs  (${rounds}×${iterations})`);
}

const rv = (args: RegoJson[]): RegoJson => (SNP_REFERENCE_VALUES[String(args[0])] as RegoJson | undefined) ?? null;

const appraisal = compilePolicy(CPU_APPRAISAL_POLICY, { hostFunctions: { query_reference_value: rv } });
const kbs = compilePolicy(KBS_DEFAULT_POLICY);
const affirming = compilePolicy(KBS_AFFIRMING_POLICY);
const kbsData = { plugin: 'resource', 'resource-path': ['default', 'key', '1'], query: {} };

console.log('trust_claims:', JSON.stringify(appraisal.evaluateRule('data.policy.trust_claims', { input: SNP_CLAIMS })));
console.log('kbs allow:', kbs.evaluateRule('data.policy.allow', { input: EAR_CLAIMS, data: kbsData }));

measure('compile (cache hit) CPU appraisal policy', 5_000, () => compilePolicy(CPU_APPRAISAL_POLICY, { hostFunctions: { query_reference_value: rv } }));
measure('AS appraisal: data.policy.trust_claims (SNP claims)', 5_000, () => appraisal.evaluateRule('data.policy.trust_claims', { input: SNP_CLAIMS }));
measure('AS appraisal: data.policy.extensions', 5_000, () => appraisal.evaluateRule('data.policy.extensions', { input: SNP_CLAIMS }));
measure('KBS default resource policy: data.policy.allow', 10_000, () => kbs.evaluateRule('data.policy.allow', { input: EAR_CLAIMS, data: kbsData }));
measure('KBS affirming policy: data.policy.allow', 10_000, () => affirming.evaluateRule('data.policy.allow', { input: EAR_CLAIMS, data: kbsData }));
