/**
 * NVIDIA Local-mode verification throughput: per device, SPDM parsing, one ECDSA P-384 report
 * signature, the 5-certificate chain (4 P-384 link signatures + parsing), FWID and nonce.
 *
 *   pnpm exec tsx bench/nvidia.bench.ts [seconds=3]
 *
 * The floor, measured in the same run, is the bare cryptography no verifier can skip: one P-384
 * verify of the report plus one per chain link (node:crypto, keys already imported). Prints
 * verifications/s, CPU ms per verification and the ratio to the floor, for the test PKI (also with
 * revocation: three offline OCSP answers judged per verification) and, when ../shared/vectors is
 * present, the real H100 report.
 */
import { X509Certificate, verify as cryptoVerify } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createNvidiaVerifier, nvidiaVerifier, parseSpdmMeasurementReport, type Json, type Verifier } from '../packages/verifiers/src/index.ts';
import { createTestNvidiaEvidence, createTestNvidiaPki } from '../packages/verifiers/src/testing/nvidiaFactory.ts';
import { createTestOcspResponse, type TestIssuer } from '../packages/verifiers/src/testing/nvidiaOcspFactory.ts';
import type { CollateralSource } from '../packages/verifiers/src/verifier.ts';

const seconds = Number(process.argv[2] ?? 3);

/** Runs `action` for `seconds`; returns operations/s and CPU ms per operation. */
async function measure(action: () => Promise<unknown> | unknown): Promise<{ perSecond: number; cpuMs: number }> {
  for (let i = 0; i < 20; i++) await action();
  const cpu = process.cpuUsage();
  const started = performance.now();
  let n = 0;
  while (performance.now() - started < seconds * 1000) {
    await action();
    n += 1;
  }
  const elapsed = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { perSecond: n / elapsed, cpuMs: (used.user + used.system) / 1000 / n };
}

/** The floor: the report signature and every chain link, verified with node:crypto only. */
function floorFor(evidence: { bytes: Uint8Array; chainPem: string }): () => boolean {
  const report = parseSpdmMeasurementReport(evidence.bytes);
  const certs = (evidence.chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map((pem) => new X509Certificate(pem));
  const leafKey = (certs[0] as X509Certificate).publicKey;
  return () => {
    let ok = cryptoVerify('sha384', report.signedBytes, { key: leafKey, dsaEncoding: 'ieee-p1363' }, report.signature);
    for (let i = 0; i + 1 < certs.length; i += 1) ok = (certs[i] as X509Certificate).verify((certs[i + 1] as X509Certificate).publicKey) && ok;
    return ok;
  };
}

async function report(label: string, verifier: Verifier, evidence: Json, reportData: Uint8Array, now: Date, floor: () => boolean, collateral: CollateralSource = {}): Promise<void> {
  const context = { now: () => now, collateral };
  const expected = { reportData, initDataDigest: undefined };
  await verifier.evaluate(evidence, expected, context);
  if (!floor()) throw new Error(`${label}: floor crypto does not verify`);
  const base = await measure(floor);
  const full = await measure(() => verifier.evaluate(evidence, expected, context));
  console.log(
    `${label.padEnd(40)} ${full.perSecond.toFixed(0).padStart(6)} verifications/s   ${full.cpuMs.toFixed(3)} CPU ms each   floor ${base.perSecond.toFixed(0)}/s (${base.cpuMs.toFixed(3)} ms)   ratio ${(full.cpuMs / base.cpuMs).toFixed(2)}x`,
  );
}

console.log(`node ${process.version}, ${seconds}s per case`);
const pki = await createTestNvidiaPki();
const reportData = new Uint8Array(48).fill(7);
const evidence = createTestNvidiaEvidence(reportData, [{ pki }]) as { device_evidence_list: Array<{ evidence: string }> };
const bytes = new Uint8Array(Buffer.from(evidence.device_evidence_list[0]?.evidence ?? '', 'base64'));
const testNow = new Date('2026-01-01T00:00:00Z');
await report('test PKI, 1 GPU (8 measurements)', createNvidiaVerifier({ rootFingerprints: [pki.rootFingerprint] }), evidence, reportData, testNow, floorFor({ bytes, chainPem: pki.chainPem }));
const ocsp = [1, 2, 3].map((index) => createTestOcspResponse({
  issuer: { der: pki.chainDer[index + 1] as Uint8Array, keys: pki.keys[index + 1] as TestIssuer['keys'] },
  answers: [{ certificate: pki.chainDer[index] as Uint8Array, status: 'good' }],
  thisUpdate: new Date(testNow.getTime() - 3_600_000),
  nextUpdate: new Date(testNow.getTime() + 86_400_000),
}));
await report('test PKI + revocation (3 OCSP answers)', createNvidiaVerifier({ rootFingerprints: [pki.rootFingerprint] }), evidence, reportData, testNow, floorFor({ bytes, chainPem: pki.chainPem }), { getNvidiaRevocation: async () => ({ ocsp, crls: [] }) });

const vectors = new URL('../../shared/vectors/nvidia/', import.meta.url);
if (existsSync(new URL('trustee-hopperAttestationReport.txt', vectors))) {
  const hex = readFileSync(new URL('trustee-hopperAttestationReport.txt', vectors), 'utf8').trim();
  const chainPem = readFileSync(new URL('trustee-hopper_cert_chain_case1.txt', vectors), 'utf8');
  const real = { device_evidence_list: [{ arch: 'HOPPER', evidence: hex, certificate: Buffer.from(chainPem).toString('base64') }] };
  const nonce = new Uint8Array(Buffer.from('931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb', 'hex'));
  await report('real H100 report (64 blocks, NVIDIA root)', nvidiaVerifier, real, nonce, new Date('2025-06-01T00:00:00Z'), floorFor({ bytes: new Uint8Array(Buffer.from(hex, 'hex')), chainPem }));
}
