// Invariant: in Local mode with revocation collateral, an NVIDIA device chain verifies only when
// every provisioned certificate (all but the firmware leaf and the root) has a current OCSP
// answer or CRL from its issuer (or a responder the issuer certified for OCSP signing) saying it
// is not revoked; a revoked certificate is refused with `nvidia.revocation.revoked`, an unknown
// one with `nvidia.revocation.unknown`, and an expired, foreign-signed, tampered or missing answer
// leaves the certificate `nvidia.revocation.unavailable`. The collateral source reads offline
// answers from a directory, fetches and caches OCSP answers from a responder (one request per
// certificate until the answer goes stale) and exports / imports its cache.
import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MemoryStore } from '@trustee/storage';
import { createNvidiaRevocationSource } from '../collateral/nvidiaOcsp.ts';
import { createTestNvidiaEvidence, createTestNvidiaPki, type TestNvidiaPki } from '../testing/nvidiaFactory.ts';
import { createTestCrl, createTestOcspResponder, createTestOcspResponse, startTestOcspResponder, type TestCertStatus, type TestIssuer } from '../testing/nvidiaOcspFactory.ts';
import { checksOf, rejection } from '../testing/verificationRejection.ts';
import type { CollateralSource, VerifiedClaims } from '../verifier.ts';
import { createNvidiaVerifier } from './nvidiaVerifier.ts';

const NOW = new Date('2026-01-01T00:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const REPORT_DATA = new Uint8Array(createHash('sha384').update('runtime data').digest());

let pki: TestNvidiaPki;
const tmp = mkdtempSync(join(tmpdir(), 'nvidia-ocsp-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

beforeAll(async () => {
  pki = await createTestNvidiaPki();
});

const issuerOf = (index: number): TestIssuer => ({ der: pki.chainDer[index + 1] as Uint8Array, keys: pki.keys[index + 1] as TestIssuer['keys'] });
const cert = (index: number): Uint8Array => pki.chainDer[index] as Uint8Array;

/** One OCSP response per provisioned certificate (1..3), each signed by its issuer. */
function ocspFor(statuses: Partial<Record<number, TestCertStatus>> = {}, window: { thisUpdate?: Date; nextUpdate?: Date } = {}): Uint8Array[] {
  return [1, 2, 3].map((index) => createTestOcspResponse({
    issuer: issuerOf(index),
    answers: [{ certificate: cert(index), status: statuses[index] ?? 'good' }],
    thisUpdate: window.thisUpdate ?? new Date(NOW.getTime() - HOUR),
    nextUpdate: window.nextUpdate ?? new Date(NOW.getTime() + DAY),
  }));
}

function verify(collateral: CollateralSource, now = NOW): Promise<VerifiedClaims[]> {
  const evidence = createTestNvidiaEvidence(REPORT_DATA, [{ pki }]);
  return createNvidiaVerifier({ rootFingerprints: [pki.rootFingerprint] }).evaluate(evidence, { reportData: REPORT_DATA, initDataDigest: undefined }, { now: () => now, collateral });
}

function fixed(ocsp: readonly Uint8Array[], crls: readonly Uint8Array[] = []): CollateralSource {
  return { getNvidiaRevocation: async () => ({ ocsp, crls }) };
}

describe('nvidia revocation (judging OCSP answers and CRLs)', () => {
  test('current good OCSP answers for every provisioned certificate: verifies; the leaf needs none', async () => {
    const [gpu] = await verify(fixed(ocspFor()));
    expect(gpu?.teeClass).toBe('gpu');
  });

  test('a revoked device certificate (BROM, by OCSP) is refused by name', async () => {
    const result = await checksOf(verify(fixed(ocspFor({ 1: 'revoked' }))));
    expect(result).toEqual({ code: 'verification_failed', checks: ['nvidia.revocation.revoked'] });
    const error = await rejection(verify(fixed(ocspFor({ 1: 'revoked' }))));
    expect(error.failures[0]?.message).toMatch(/^device 0 \(Hopper\): certificate 1: revoked according to OCSP \(at .*, reason keyCompromise\)/);
  });

  test('a revoked intermediate by CRL, and OCSP unknown, are refused by name', async () => {
    const crl = await createTestCrl(issuerOf(2), [cert(2)], new Date(NOW.getTime() - HOUR), new Date(NOW.getTime() + DAY));
    expect((await checksOf(verify(fixed(ocspFor().filter((_, i) => i !== 1), [crl])))).checks).toEqual(['nvidia.revocation.revoked']);
    const emptyCrl = await createTestCrl(issuerOf(2), [], new Date(NOW.getTime() - HOUR), new Date(NOW.getTime() + DAY));
    await verify(fixed(ocspFor().filter((_, i) => i !== 1), [emptyCrl]));
    expect((await checksOf(verify(fixed(ocspFor({ 3: 'unknown' }))))).checks).toEqual(['nvidia.revocation.unknown']);
  });

  test('a leaf covered by an answer is judged: revoked leaf refused', async () => {
    const leaf = createTestOcspResponse({ issuer: issuerOf(0), answers: [{ certificate: cert(0), status: 'revoked' }], thisUpdate: new Date(NOW.getTime() - HOUR), nextUpdate: new Date(NOW.getTime() + DAY) });
    expect((await checksOf(verify(fixed([leaf, ...ocspFor()])))).checks).toEqual(['nvidia.revocation.revoked']);
  });

  test('missing, expired, future, foreign-signed or tampered answers leave the certificate unavailable', async () => {
    const missing = await rejection(verify(fixed(ocspFor().slice(0, 2))));
    expect(missing.failures.map((f) => [f.check, f.message])).toEqual([['nvidia.revocation.unavailable', 'device 0 (Hopper): certificate 3: no current revocation status (no OCSP response or CRL names it)']]);
    const expired = await rejection(verify(fixed(ocspFor({}, { thisUpdate: new Date(NOW.getTime() - 3 * DAY), nextUpdate: new Date(NOW.getTime() - DAY) }))));
    expect(expired.failures.map((f) => f.check)).toEqual(Array(3).fill('nvidia.revocation.unavailable'));
    expect(expired.failures[0]?.message).toMatch(/OCSP: expired \(current until 2025-12-31T00:00:00.000Z\)/);
    const future = await rejection(verify(fixed(ocspFor({}, { thisUpdate: new Date(NOW.getTime() + HOUR) }))));
    expect(future.failures[0]?.message).toMatch(/issued in the future/);
    // no nextUpdate: current for 7 days after thisUpdate
    const noNext = [1, 2, 3].map((i) => createTestOcspResponse({ issuer: issuerOf(i), answers: [{ certificate: cert(i), status: 'good' }], thisUpdate: new Date(NOW.getTime() - 6 * DAY) }));
    await verify(fixed(noNext));
    expect((await checksOf(verify(fixed(noNext), new Date(NOW.getTime() + 2 * DAY)))).checks).toEqual(Array(3).fill('nvidia.revocation.unavailable'));
    // signed by the wrong CA (the root signs for certificate 1, whose issuer is certificate 2)
    const foreign = createTestOcspResponse({ issuer: issuerOf(1), signer: { der: cert(4), keys: pki.keys[4] as TestIssuer['keys'] }, answers: [{ certificate: cert(1), status: 'good' }], thisUpdate: new Date(NOW.getTime() - HOUR), nextUpdate: new Date(NOW.getTime() + DAY) });
    const foreignError = await rejection(verify(fixed([foreign, ...ocspFor().slice(1)])));
    expect(foreignError.failures.map((f) => f.check)).toEqual(['nvidia.revocation.unavailable']);
    expect(foreignError.failures[0]?.message).toMatch(/not signed by the issuer or an OCSP responder it authorised/);
    // every byte of a good answer, flipped: never counts as good
    const good = ocspFor()[0] as Uint8Array;
    for (let at = 0; at < good.byteLength; at += 1) {
      const tampered = Uint8Array.from(good);
      tampered[at] = (tampered[at] as number) ^ 0x01;
      const result = await checksOf(verify(fixed([tampered, ...ocspFor().slice(1)])));
      expect(result.checks, `byte ${at}`).toEqual(['nvidia.revocation.unavailable']);
    }
  });

  test('a delegated responder counts only with the OCSP-signing EKU; SHA-1 CertIDs are understood', async () => {
    const responder = await createTestOcspResponder(issuerOf(1));
    const delegated = createTestOcspResponse({ issuer: issuerOf(1), signer: responder, certIdHash: 'sha1', answers: [{ certificate: cert(1), status: 'good' }], thisUpdate: new Date(NOW.getTime() - HOUR), nextUpdate: new Date(NOW.getTime() + DAY) });
    await verify(fixed([delegated, ...ocspFor().slice(1)]));
    const plain = await createTestOcspResponder(issuerOf(1), { ocspSigning: false });
    const undelegated = createTestOcspResponse({ issuer: issuerOf(1), signer: plain, answers: [{ certificate: cert(1), status: 'good' }], thisUpdate: new Date(NOW.getTime() - HOUR), nextUpdate: new Date(NOW.getTime() + DAY) });
    expect((await checksOf(verify(fixed([undelegated, ...ocspFor().slice(1)])))).checks).toEqual(['nvidia.revocation.unavailable']);
  });

  test('without revocation collateral nothing is checked (upstream behaviour)', async () => {
    await verify({});
  });
});

describe('nvidia revocation collateral source', () => {
  test('offline directory: *.ocsp (DER) and *.crl (PEM) files', async () => {
    const dir = join(tmp, 'offline');
    const fs = await import('node:fs');
    fs.mkdirSync(dir);
    const [brom, provisioner] = ocspFor();
    writeFileSync(join(dir, 'brom.ocsp'), brom as Uint8Array);
    writeFileSync(join(dir, 'provisioner.ocsp'), provisioner as Uint8Array);
    const crl = await createTestCrl(issuerOf(3), [], new Date(NOW.getTime() - HOUR), new Date(NOW.getTime() + DAY));
    writeFileSync(join(dir, 'identity.crl'), `-----BEGIN X509 CRL-----\n${Buffer.from(crl).toString('base64')}\n-----END X509 CRL-----\n`);
    const source = createNvidiaRevocationSource({ store: new MemoryStore(), dir, now: () => NOW });
    await verify(source);
    const revokedCrl = await createTestCrl(issuerOf(3), [cert(3)], new Date(NOW.getTime() - HOUR), new Date(NOW.getTime() + DAY));
    writeFileSync(join(dir, 'identity.crl'), revokedCrl);
    expect((await checksOf(verify(createNvidiaRevocationSource({ store: new MemoryStore(), dir, now: () => NOW })))).checks).toEqual(['nvidia.revocation.revoked']);
    await expect(verify(createNvidiaRevocationSource({ store: new MemoryStore(), dir: join(tmp, 'absent'), now: () => NOW }))).rejects.toMatchObject({ code: 'collateral_unavailable' });
  });

  test('online: fetched once per certificate and cached; revoked answers refuse; export / import carry the cache offline', async () => {
    let now = NOW;
    const responder = await startTestOcspResponder(pki.chainDer, pki.keys, { now: () => now, revoked: new Set([2]) });
    try {
      const store = new MemoryStore();
      const online = createNvidiaRevocationSource({ store, ocspUrl: responder.url, now: () => now });
      expect((await checksOf(verify(online, now))).checks).toEqual(['nvidia.revocation.revoked']);
      expect(responder.requests()).toBe(3); // certificates 1, 2, 3; never the leaf
      const good = await startTestOcspResponder(pki.chainDer, pki.keys, { now: () => now });
      try {
        const fresh = new MemoryStore();
        const source = createNvidiaRevocationSource({ store: fresh, ocspUrl: good.url, now: () => now });
        await verify(source, now);
        await verify(source, now);
        expect(good.requests()).toBe(3);
        // a week later the cached answers are stale: fetched again
        now = new Date(NOW.getTime() + 8 * DAY);
        await verify(source, now);
        expect(good.requests()).toBe(6);

        const exported = join(tmp, 'export');
        const items: string[] = [];
        const progress = { total: (n: number) => items.push(`total ${n}`), item: (name: string, failure?: string) => items.push(failure === undefined ? name : `${name}: ${failure}`) };
        expect(await source.exportBundle(exported, progress)).toBe(3);
        expect(items[0]).toBe('total 3');
        expect(readdirSync(exported).every((n) => /^[0-9a-f]{32}-[0-9a-f]+\.ocsp$/.test(n))).toBe(true);
        writeFileSync(join(exported, 'junk.ocsp'), 'nope');
        writeFileSync(join(exported, `${'0'.repeat(32)}-1.ocsp`), 'not der');
        const offlineStore = new MemoryStore();
        const offline = createNvidiaRevocationSource({ store: offlineStore, now: () => now });
        const imported = await offline.importBundle(exported);
        expect(imported.imported).toBe(3);
        expect(imported.skipped).toEqual([`${'0'.repeat(32)}-1.ocsp: not a DER OCSPResponse`, 'junk.ocsp: file name is not <issuer key hash>-<serial>.ocsp']);
        await verify(offline, now);
      } finally {
        await good.close();
      }
    } finally {
      await responder.close();
    }
  });

  test('an unreachable responder with nothing cached: unavailable, named', async () => {
    const source = createNvidiaRevocationSource({ store: new MemoryStore(), ocspUrl: 'http://127.0.0.1:9/', timeoutMs: 2000, now: () => NOW });
    expect((await checksOf(verify(source))).checks).toEqual(Array(3).fill('nvidia.revocation.unavailable'));
  });
});
