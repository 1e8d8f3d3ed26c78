/**
 * TDX verification throughput with a warm collateral cache (the AS hot path): evidence JSON →
 * base64 → quote parse → quote + QE report ECDSA signatures → QE binding → CRL lookups → TCB
 * level matching → claims. Verified PCK chains, QE report signatures (constant per enclave and
 * attestation key), TCB-info/QE-identity signatures and CRL
 * signatures are immutable facts and memoised, so they cost once per chain/collateral.
 *
 *   pnpm exec tsx bench/tdx.bench.ts [seconds=5]
 *
 * Cases: a factory v4 quote, the same with a 3-event CCEL, a factory az-tdx-vtpm evidence, and
 * (when ../shared/vectors is present) the real dcap-qvl quote with its PCS collateral.
 * bench/ is not a workspace package, so the packages are imported by path.
 */
import { existsSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { MemoryStore } from '../packages/storage/src/index.ts';
import { createIntelCollateralCache } from '../packages/verifiers/src/collateral/intelCache.ts';
import { parseIntelCollateralText } from '../packages/verifiers/src/collateral/intelBundle.ts';
import { createTdxVerifier } from '../packages/verifiers/src/tdx/tdxVerifier.ts';
import { createAzTdxVtpmVerifier } from '../packages/verifiers/src/az-tdx-vtpm/azTdxVtpmVerifier.ts';
import { buildTestCcel, createTdxTestPlatform, TDX_FACTORY_NOW, tdxEvidence } from '../packages/verifiers/src/testing/tdxFactory.ts';
import { createTestAzTdxVtpmEvidence } from '../packages/verifiers/src/testing/tdxAzureFactory.ts';
import type { CollateralSource, Json, VerificationExpectations, Verifier } from '../packages/verifiers/src/verifier.ts';

const seconds = Number(process.argv[2] ?? 5);

async function measure(name: string, verifier: Verifier, evidence: Json, expected: VerificationExpectations, now: Date, collateral: CollateralSource): Promise<void> {
  const context = { now: () => now, collateral };
  const first = performance.now();
  await verifier.evaluate(evidence, expected, context);
  const cold = performance.now() - first;
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const t = performance.now();
    await verifier.evaluate(evidence, expected, context);
    latencies.push(performance.now() - t);
  }
  latencies.sort((a, b) => a - b);
  const total = latencies.reduce((a, b) => a + b, 0);
  const p = (q: number): string => (latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN).toFixed(3);
  console.log(`${name.padEnd(34)} ${(latencies.length / (total / 1000)).toFixed(0).padStart(6)} verifications/s  p50 ${p(0.5)} ms  p99 ${p(0.99)} ms  first ${cold.toFixed(1)} ms`);
}

const platform = await createTdxTestPlatform();
const store = new MemoryStore();
const cache = createIntelCollateralCache({ store, upstream: () => Promise.reject(new Error('offline bench')), now: () => TDX_FACTORY_NOW });
await cache.importBundles([await platform.collateral()]);
const tdx = createTdxVerifier({ trustAnchors: platform.trustAnchors });
const reportData = Buffer.alloc(48, 1);
const none = { reportData, initDataDigest: undefined };

console.log(`TDX verification, warm collateral cache, ${seconds} s per case, single caller (node ${process.version})`);
await measure('factory v4 quote', tdx, tdxEvidence(platform.quote({ reportData })), none, TDX_FACTORY_NOW, cache);
await measure('factory v5 (TDX 1.5) quote', tdx, tdxEvidence(platform.quote({ version: 5, reportData })), none, TDX_FACTORY_NOW, cache);
const { ccel, rtmrs } = buildTestCcel([{ index: 1, data: Buffer.from('firmware') }, { index: 2, data: Buffer.from('kernel') }, { index: 3, data: Buffer.from('initrd') }]);
await measure('factory v4 quote + CCEL (3 events)', tdx, tdxEvidence(platform.quote({ reportData, rtmrs }), ccel), none, TDX_FACTORY_NOW, cache);
const nonce = Buffer.alloc(32, 2);
await measure('factory az-tdx-vtpm v2', createAzTdxVtpmVerifier({ trustAnchors: platform.trustAnchors }), createTestAzTdxVtpmEvidence({ platform, nonce }), { reportData: nonce, initDataDigest: undefined }, TDX_FACTORY_NOW, cache);

const vectors = new URL('../../shared/vectors/tdx/', import.meta.url);
if (existsSync(new URL('dcapqvl-tdx_quote', vectors))) {
  const realCache = createIntelCollateralCache({ store: new MemoryStore(), upstream: () => Promise.reject(new Error('offline bench')), now: () => new Date('2025-07-01T00:00:00Z') });
  await realCache.importBundles([parseIntelCollateralText(readFileSync(new URL('dcapqvl-tdx_quote_collateral.json', vectors), 'utf8'))]);
  const quote = readFileSync(new URL('dcapqvl-tdx_quote', vectors));
  await measure('real dcap-qvl quote (Intel PCS)', createTdxVerifier(), { quote: quote.toString('base64'), cc_eventlog: null }, { reportData: undefined, initDataDigest: undefined }, new Date('2025-07-01T00:00:00Z'), realCache);
}
