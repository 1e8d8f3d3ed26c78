import { parseNvidiaEvidence } from '../nvidia/nvidiaEvidence.ts';
import { createNvidiaVerifier } from '../nvidia/nvidiaVerifier.ts';
import { parseSpdmMeasurementReport } from '../nvidia/spdmMeasurements.ts';
import { judgeNvidiaRevocation } from '../nvidia/nvidiaRevocation.ts';
import { parseCertificate } from '../dcap/x509.ts';
import { createTestCrl, createTestOcspResponse, type TestIssuer } from './nvidiaOcspFactory.ts';
import type { Json } from '../verifier.ts';
import { createTestNvidiaEvidence, createTestNvidiaPki, createTestSpdmReport } from './nvidiaFactory.ts';
import { mutateBytes, mutateJson, randomBytes, randomJson, type FuzzTarget } from './snpFuzz.ts';

/**
 * Fuzz targets for the NVIDIA SPDM parser, the revocation judge (OCSP responses, CRLs) and the
 * `nvidia` verifier, shared by the unit tests and
 * `fuzz/nvidia.fuzz.ts`. Same contract as the SNP targets: resolve or throw a VerificationError.
 */
export async function nvidiaFuzzTargets(): Promise<FuzzTarget[]> {
  const pki = await createTestNvidiaPki();
  const verifier = createNvidiaVerifier({ rootFingerprints: [pki.rootFingerprint] });
  const reportData = new Uint8Array(48).fill(9);
  const seed = createTestSpdmReport({ nonce: reportData, signingKey: pki.leafKey, fwid: pki.fwid }).bytes;
  const seedEvidence = createTestNvidiaEvidence(reportData, [{ pki }, { pki, arch: 'LS10', hex: true }]);
  const context = { now: () => new Date('2026-01-01T00:00:00Z'), collateral: {} };
  const expected = { reportData, initDataDigest: undefined };
  const sync = (fn: () => unknown): Promise<unknown> => {
    try {
      return Promise.resolve(fn());
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  };
  const withEvidence = (bytes: Uint8Array): Json => ({
    device_evidence_list: [{ arch: 'HOPPER', evidence: Buffer.from(bytes).toString('base64'), certificate: Buffer.from(pki.chainPem).toString('base64') }],
  });
  const now = new Date('2026-01-01T00:00:00Z');
  const issuer: TestIssuer = { der: pki.chainDer[2] as Uint8Array, keys: pki.keys[2] as TestIssuer['keys'] };
  const seedOcsp = createTestOcspResponse({ issuer, answers: [{ certificate: pki.chainDer[1] as Uint8Array, status: 'revoked' }], thisUpdate: new Date(now.getTime() - 3_600_000), nextUpdate: new Date(now.getTime() + 86_400_000) });
  const seedCrl = await createTestCrl(issuer, [pki.chainDer[1] as Uint8Array], new Date(now.getTime() - 3_600_000), new Date(now.getTime() + 86_400_000));
  const certificate = parseCertificate(pki.chainDer[1] as Uint8Array, 'fuzz.certificate');
  const issuerCert = parseCertificate(issuer.der, 'fuzz.issuer');
  const judge = (ocsp: Uint8Array[], crls: Uint8Array[]): Promise<unknown> => sync(() => judgeNvidiaRevocation(certificate, issuerCert, 1, { ocsp, crls }, now));
  return [
    { name: 'judgeNvidiaRevocation(mutated OCSP)', run: (r) => judge([mutateBytes(r, seedOcsp)], []) },
    { name: 'judgeNvidiaRevocation(mutated CRL)', run: (r) => judge([], [mutateBytes(r, seedCrl)]) },
    { name: 'judgeNvidiaRevocation(random bytes)', run: (r) => judge([randomBytes(r, Math.floor(r() * 600))], [randomBytes(r, Math.floor(r() * 600))]) },
    { name: 'parseSpdmMeasurementReport(random)', run: (r) => sync(() => parseSpdmMeasurementReport(randomBytes(r, Math.floor(r() * 600)))) },
    { name: 'parseSpdmMeasurementReport(mutated)', run: (r) => sync(() => parseSpdmMeasurementReport(mutateBytes(r, seed))) },
    { name: 'parseNvidiaEvidence(random json)', run: (r) => sync(() => parseNvidiaEvidence(randomJson(r, 4))) },
    { name: 'nvidia.evaluate(mutated report bytes)', run: (r) => verifier.evaluate(withEvidence(mutateBytes(r, seed)), expected, context) },
    { name: 'nvidia.evaluate(mutated evidence json)', run: (r) => verifier.evaluate(mutateJson(r, seedEvidence), expected, context) },
    {
      name: 'nvidia.evaluate(mutated certificate chain)',
      run: (r) => {
        const chain = mutateBytes(r, Buffer.from(pki.chainPem));
        return verifier.evaluate({ device_evidence_list: [{ arch: 'HOPPER', evidence: Buffer.from(seed).toString('base64'), certificate: Buffer.from(chain).toString('base64') }] }, expected, context);
      },
    },
  ];
}
