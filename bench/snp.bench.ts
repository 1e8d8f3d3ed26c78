/**
 * SNP and Azure SNP vTPM verification throughput, VEK chains cached (the hot path is JSON/binary
 * parsing + one ECDSA P-384 verify; az-snp-vtpm adds one RSA-2048 verify and SHA-256s).
 *
 *   pnpm exec tsx bench/snp.bench.ts [seconds=3] [concurrency=1,8]
 *
 * Uses the offline test PKI (generated at start) and, when ../shared/vectors is present, the real
 * Trustee Genoa evidence too. Prints verifications/s and p50/p99 latency per case.
 */
import { readFileSync, existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createAzSnpVtpmVerifier, createSnpVerifier, snpVerifier, verifyRawSnpReport, type Json } from '../packages/verifiers/src/index.ts';
import { createTestAzSnpVtpmEvidence } from '../packages/verifiers/src/testing/azureFactory.ts';
import { createTestSnpReport, testAmdTrustAnchors } from '../packages/verifiers/src/testing/snpFactory.ts';

const seconds = Number(process.argv[2] ?? 3);
const concurrencies = (process.argv[3] ?? '1,8').split(',').map(Number);
const none = { reportData: undefined, initDataDigest: undefined };
const context = { now: () => new Date('2030-01-01T00:00:00Z'), collateral: {} };

async function run(label: string, action: () => Promise<unknown> | unknown): Promise<void> {
  for (let i = 0; i < 50; i++) await action();
  for (const concurrency of concurrencies) {
    const latencies: number[] = [];
    const deadline = performance.now() + seconds * 1000;
    const started = performance.now();
    const worker = async (): Promise<void> => {
      while (performance.now() < deadline) {
        const t = performance.now();
        await action();
        latencies.push(performance.now() - t);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const elapsed = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const p = (q: number): string => (latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN).toFixed(3);
    console.log(`${label.padEnd(48)} c=${String(concurrency).padEnd(3)} ${(latencies.length / elapsed).toFixed(0).padStart(7)} /s   p50 ${p(0.5)} ms   p99 ${p(0.99)} ms`);
  }
}

const anchors = await testAmdTrustAnchors(['Milan']);
const snp = createSnpVerifier({ trustAnchors: anchors });
const az = createAzSnpVtpmVerifier({ trustAnchors: anchors });
const report = await createTestSnpReport({ version: 5 });
const nonce = new Uint8Array(48).fill(3);
const azV2 = await createTestAzSnpVtpmEvidence({ version: 2, reportData: nonce });
const azV0 = await createTestAzSnpVtpmEvidence({ version: 0, reportData: nonce });

console.log(`node ${process.version}, ${seconds}s per case, concurrency ${concurrencies.join('/')}, UV_THREADPOOL_SIZE=${process.env['UV_THREADPOOL_SIZE'] ?? '4 (default)'}`);
await run('snp raw report + VCEK (verifyRawSnpReport)', () => verifyRawSnpReport(report.bytes, { vek: report.vek.der, trustAnchors: anchors, now: new Date('2030-01-01T00:00:00Z') }));
await run('snp wire JSON evidence, VCEK in cert_chain', () => snp.evaluate(report.evidence, none, context));
const cached = { ...context, collateral: { getVcek: () => Promise.resolve(report.vek.der) } };
await run('snp wire JSON evidence, VCEK from collateral', () => snp.evaluate(report.evidenceWithoutChain, none, cached));
await run('az-snp-vtpm v2 evidence', () => az.evaluate(azV2.evidence, { reportData: nonce, initDataDigest: undefined }, context));
await run('az-snp-vtpm v0 evidence (byte arrays)', () => az.evaluate(azV0.evidence, { reportData: nonce, initDataDigest: undefined }, context));

const vectors = new URL('../../shared/vectors/', import.meta.url);
if (existsSync(new URL('snp/trustee-e2e-evidence.json', vectors))) {
  const evidence = JSON.parse(readFileSync(new URL('snp/trustee-e2e-evidence.json', vectors), 'utf8')) as Json;
  await run('snp real Genoa evidence (AMD roots)', () => snpVerifier.evaluate(evidence, none, { ...context, now: () => new Date('2026-06-01T00:00:00Z') }));
}
