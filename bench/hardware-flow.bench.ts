/**
 * Attestation-service throughput for hardware evidence from the test-evidence factory, in
 * process (no KBS HTTP): verify (signatures, certificate chains, TCB/collateral) + appraise
 * (default_cpu) + sign one EAR per evaluation, for snp, tdx, az-snp-vtpm and az-tdx-vtpm.
 *
 *   pnpm exec tsx bench/hardware-flow.bench.ts [seconds=3]
 *
 * The AS is configured exactly like the e2e KBS: `verifier_config.snp_verifier.trust_anchors_path`,
 * `dcap_verifier.trust_anchors_path` and `collateral_service = "file://…"` pointing at the files
 * the factory writes. Evidence is generated before timing (a pool of 32 per TEE, each bound to its
 * own nonce); 20 warm-up evaluations fill the certificate and collateral caches first. The
 * reference values default_cpu asks for are registered from the first token's claims, so the
 * timed appraisals take the `affirming` path (every query_reference_value answered).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createAttestationService, parseAttestationServiceConfig, type VerificationRequest } from '../packages/attestation/src/index.ts';
import { MemoryStore } from '../packages/storage/src/index.ts';
import { claimAt, createEvidenceFactory, DEFAULT_CPU_REFERENCE_VALUES, HARDWARE_TEES } from '../tests/e2e/src/harness/evidenceFactory.ts';

const seconds = Number(process.argv[2] ?? 3);
const POOL = 32;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const dir = mkdtempSync(join(tmpdir(), 'hw-bench-'));
try {
  const factory = await createEvidenceFactory();
  const files = await factory.writeAnchors(dir);
  const config = parseAttestationServiceConfig(
    {
      verifier_config: {
        snp_verifier: { trust_anchors_path: files.amdAnchorsPath },
        dcap_verifier: { collateral_service: `file://${files.tdxCollateralPath}`, trust_anchors_path: files.intelRootsPath },
      },
    },
    'bench',
  );
  const service = await createAttestationService({ store: new MemoryStore(), config, log: { info() {}, warn() {} } });
  const initDigest = createHash('sha256').update('bench init-data').digest();
  console.log(`node ${process.version}, ${seconds} s per TEE, pool of ${POOL} evidences per TEE, init-data bound`);

  for (const tee of HARDWARE_TEES) {
    const genStart = performance.now();
    const pool: VerificationRequest[] = [];
    for (let i = 0; i < POOL; i++) {
      const reportData = randomBytes(48);
      pool.push({ tee, evidence: await factory.evidence(tee, reportData, { initDataDigest: initDigest }), runtimeData: { raw: reportData }, initData: { digest: initDigest } });
    }
    const genMs = (performance.now() - genStart) / POOL;
    const cpu0 = (token: string): Record<string, unknown> =>
      (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { submods: { cpu0: Record<string, unknown> } }).submods.cpu0;
    const first = cpu0(await service.evaluate([pool[0] as VerificationRequest], ['default']));
    const claims = (first['ear.veraison.annotated-evidence'] as Record<string, Record<string, unknown>>)[tee] ?? {};
    const values = Object.fromEntries(DEFAULT_CPU_REFERENCE_VALUES[tee].map(({ id, path }) => [id, [claimAt(claims, path)]]));
    await service.registerReferenceValue(JSON.stringify({ version: '0.1.0', type: 'sample', payload: Buffer.from(JSON.stringify(values)).toString('base64') }));
    const status = cpu0(await service.evaluate([pool[0] as VerificationRequest], ['default']))['ear.status'];
    for (let i = 0; i < 20; i++) await service.evaluate([pool[i % POOL] as VerificationRequest], ['default']);

    const latencies: number[] = [];
    const started = performance.now();
    const deadline = started + seconds * 1000;
    for (let i = 0; performance.now() < deadline; i++) {
      const t = performance.now();
      await service.evaluate([pool[i % POOL] as VerificationRequest], ['default']);
      latencies.push(performance.now() - t);
    }
    const elapsed = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    console.log(
      `${`AS evaluate ${tee}`.padEnd(26)} ${(latencies.length / elapsed).toFixed(0).padStart(6)} evals/s   p50 ${percentile(latencies, 50).toFixed(2)} ms   p99 ${percentile(latencies, 99).toFixed(2)} ms   ` +
        `(n=${latencies.length}, status ${String(status)}; factory ${genMs.toFixed(2)} ms/evidence, untimed)`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
