/**
 * SGX and TPM verification throughput (the AS hot path), each as verifications/s, CPU ms per
 * verification and the ratio to a floor measured in the same run: the signature verification
 * that cannot be skipped (SGX: one bare ECDSA P-256 verify of the quote, since the PCK chain,
 * QE report signature and collateral signatures are memoised facts; TPM: one bare
 * RSASSA-PKCS1-v1_5/SHA-256 verify by the AK).
 *
 *   pnpm exec tsx bench/sgx-tpm.bench.ts [seconds=5]
 *
 * Cases: factory SGX v3 and v4 quotes with a warm collateral cache, factory TPM evidence, and
 * (when ../shared/vectors is present) the real dcap-qvl SGX quote with its PCS collateral and
 * Trustee's real TPM evidence. bench/ is not a workspace package, so packages are imported by path.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { MemoryStore } from '../packages/storage/src/index.ts';
import { createIntelCollateralCache } from '../packages/verifiers/src/collateral/intelCache.ts';
import { parseIntelCollateralText } from '../packages/verifiers/src/collateral/intelBundle.ts';
import { createSgxVerifier } from '../packages/verifiers/src/sgx/sgxVerifier.ts';
import { createTpmVerifier } from '../packages/verifiers/src/tpm/tpmVerifier.ts';
import { createTdxTestPlatform, sgxEvidence, TDX_FACTORY_NOW } from '../packages/verifiers/src/testing/tdxFactory.ts';
import { createTestTpmEvidence } from '../packages/verifiers/src/testing/tpmFactory.ts';
import type { CollateralSource, Json, VerificationExpectations, Verifier } from '../packages/verifiers/src/verifier.ts';

const seconds = Number(process.argv[2] ?? 5);

interface Rate {
  readonly perSecond: number;
  readonly cpuMs: number;
}

/** Runs `op` for `seconds`; returns operations per wall second and CPU ms per operation. */
async function rate(op: () => unknown): Promise<Rate> {
  await op();
  const cpu = process.cpuUsage();
  const start = performance.now();
  const end = start + seconds * 1000;
  let n = 0;
  while (performance.now() < end) {
    await op();
    n += 1;
  }
  const wall = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { perSecond: n / (wall / 1000), cpuMs: (used.user + used.system) / 1000 / n };
}

function report(name: string, result: Rate, floor: Rate): void {
  console.log(
    `${name.padEnd(38)} ${result.perSecond.toFixed(0).padStart(6)} verifications/s  ${result.cpuMs.toFixed(3)} ms CPU each  ${(result.cpuMs / floor.cpuMs).toFixed(1)}x the floor`,
  );
}

async function verifierCase(name: string, verifier: Verifier, evidence: Json, expected: VerificationExpectations, now: Date, collateral: CollateralSource, floor: Rate): Promise<void> {
  const context = { now: () => now, collateral };
  report(name, await rate(() => verifier.evaluate(evidence, expected, context)), floor);
}

console.log(`SGX and TPM verification, ${seconds} s per case, single caller (node ${process.version})`);

// Floors, measured in this run.
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const message = Buffer.alloc(432, 7);
const p256Signature = sign('sha256', message, { key: p256.privateKey, dsaEncoding: 'ieee-p1363' });
const p256Floor = await rate(() => verify('sha256', message, { key: p256.publicKey, dsaEncoding: 'ieee-p1363' }, p256Signature));
console.log(`${'floor: one ECDSA P-256 verify'.padEnd(38)} ${p256Floor.perSecond.toFixed(0).padStart(6)} /s  ${p256Floor.cpuMs.toFixed(3)} ms CPU each`);
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const attest = Buffer.alloc(177, 3);
const rsaSignature = sign('sha256', attest, rsa.privateKey);
const akDer = rsa.publicKey.export({ format: 'der', type: 'spki' });
const rsaFloor = await rate(() => verify('sha256', attest, createPublicKey({ key: akDer, format: 'der', type: 'spki' }), rsaSignature));
console.log(`${'floor: SPKI parse + one RSA-2048 verify'.padEnd(38)} ${rsaFloor.perSecond.toFixed(0).padStart(6)} /s  ${rsaFloor.cpuMs.toFixed(3)} ms CPU each`);

const platform = await createTdxTestPlatform();
const cache = createIntelCollateralCache({ store: new MemoryStore(), upstream: () => Promise.reject(new Error('offline bench')), now: () => TDX_FACTORY_NOW });
await cache.importBundles([await platform.collateral({ tee: 'sgx' })]);
const sgx = createSgxVerifier({ trustAnchors: platform.trustAnchors });
const reportData = Buffer.alloc(48, 1);
await verifierCase('sgx: factory v3 quote', sgx, sgxEvidence(platform.sgxQuote({ reportData })), { reportData, initDataDigest: undefined }, TDX_FACTORY_NOW, cache, p256Floor);
await verifierCase('sgx: factory v4 quote', sgx, sgxEvidence(platform.sgxQuote({ version: 4, reportData })), { reportData, initDataDigest: undefined }, TDX_FACTORY_NOW, cache, p256Floor);
const nonce = Buffer.alloc(32, 2);
const tpm = createTpmVerifier();
await verifierCase('tpm: factory evidence (24 PCRs)', tpm, createTestTpmEvidence({ reportData: nonce }).evidence, { reportData: nonce, initDataDigest: undefined }, TDX_FACTORY_NOW, {}, rsaFloor);

const vectors = new URL('../../shared/vectors/', import.meta.url);
if (existsSync(new URL('sgx/dcapqvl-sgx_quote', vectors))) {
  const at = new Date('2025-07-01T00:00:00Z');
  const realCache = createIntelCollateralCache({ store: new MemoryStore(), upstream: () => Promise.reject(new Error('offline bench')), now: () => at });
  await realCache.importBundles([parseIntelCollateralText(readFileSync(new URL('sgx/dcapqvl-sgx_quote_collateral.json', vectors), 'utf8'))]);
  const quote = readFileSync(new URL('sgx/dcapqvl-sgx_quote', vectors));
  await verifierCase('sgx: real dcap-qvl quote (Intel PCS)', createSgxVerifier(), { quote: quote.toString('base64') }, { reportData: undefined, initDataDigest: undefined }, at, realCache, p256Floor);
}
if (existsSync(new URL('tpm/trustee-tpm_evidence.json', vectors))) {
  const evidence = JSON.parse(readFileSync(new URL('tpm/trustee-tpm_evidence.json', vectors), 'utf8')) as Json;
  await verifierCase('tpm: real Trustee evidence', tpm, evidence, { reportData: undefined, initDataDigest: undefined }, new Date(), {}, rsaFloor);
}
