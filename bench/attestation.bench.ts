/**
 * Attestation-service throughput for the sample TEE: verify + appraise (default_cpu, with the
 * four sample reference values registered) + sign one ES256 EAR per evaluation.
 *
 *   pnpm exec tsx bench/attestation.bench.ts [seconds=5] [concurrency=1]
 *
 * bench/ is not a workspace package, so the packages are imported by path.
 * Prints evaluations/s and latency percentiles; also the cost of signing alone and of a token
 * verification (createTokenVerifier with the header JWK) for comparison.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createAttestationService, parseAttestationServiceConfig } from '../packages/attestation/src/index.ts';
import { createTokenVerifier } from '../services/kbs/src/token/tokenVerifier.ts';
import { canonicalJson, type VerificationRequest } from '../packages/protocol/src/index.ts';
import { MemoryStore } from '../packages/storage/src/index.ts';

const seconds = Number(process.argv[2] ?? 5);
const concurrency = Number(process.argv[3] ?? 1);

const teePubKey = { kty: 'EC', crv: 'P-256', alg: 'ECDH-ES+A256KW', x: 'MyEA8JflciQDoTER9UFwvkr1BaP56PzedZYNtyW8oQA', y: '1GzNpTak771xa6oK8SGe1jxnbXaQcf9890L0qxfvKjs' };

function request(index: number): VerificationRequest {
  const runtimeData = { 'tee-pubkey': teePubKey, nonce: `nonce-${index}`, 'additional-evidence': '' };
  const digest = createHash('sha384').update(canonicalJson(runtimeData)).digest();
  return { tee: 'sample', evidence: { svn: '1', report_data: digest.toString('base64') }, runtimeData: { structured: runtimeData } };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function run(label: string, action: (index: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 50; i++) await action(i);
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const index = next++;
      const start = performance.now();
      await action(index);
      latencies.push(performance.now() - start);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  console.log(
    `${label.padEnd(44)} ${(latencies.length / elapsed).toFixed(0).padStart(7)} ops/s   p50 ${percentile(latencies, 50).toFixed(3)} ms   p99 ${percentile(latencies, 99).toFixed(3)} ms   (n=${latencies.length}, concurrency ${concurrency})`,
  );
}

const service = await createAttestationService({ store: new MemoryStore(), config: parseAttestationServiceConfig({}, 'bench') });
await service.registerReferenceValue(
  JSON.stringify({ version: '0.1.0', type: 'sample', payload: Buffer.from(JSON.stringify({ launch_digest: ['abcde'], svn: ['1'], major_version: 1, minimum_minor_version: 4 })).toString('base64') }),
);
const sample = await service.evaluate([request(0)], ['default']);
const status = JSON.parse(Buffer.from(sample.split('.')[1] ?? '', 'base64url').toString()).submods.cpu0['ear.status'];
console.log(`node ${process.version}, ${seconds} s per case; sample appraisal status: ${status}`);

await run('evaluate sample (verify+appraise+sign)', (i) => service.evaluate([request(i)], ['default']));
const verifier = await createTokenVerifier({ trustedCertsPaths: [], trustedJwkSets: [], extraTeekeyPaths: [], insecureHeaderJwk: true });
await run('verify token + extract tee-pubkey', async () => verifier.extractTeePubKey(await verifier.verify(sample)));
