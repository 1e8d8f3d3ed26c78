// Invariant: Intel collateral reaches the verifier exactly as PCS/PCCS served it (issuer chains
// from the URL-encoded headers, CRLs as DER); the cache makes one upstream request per platform
// at a time, serves fresh entries without I/O, refreshes after nextUpdate, serves stale data only
// when the refresh fails, and survives a restart through the KeyValueStore. Fully offline: a
// loopback HTTP server plays PCS.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '@trustee/storage';
import { createIntelPcsClient, decodeCrlBody, rootCaCrlDistributionPoint } from './intelPcs.ts';
import { createIntelCollateralCache, collateralFreshUntil } from './intelCache.ts';
import { intelCollateralFromJson, intelCollateralFromPcsClientTool, intelCollateralToJson, loadIntelCollateral, writeIntelCollateralDir } from './intelBundle.ts';
import { createIntelCollateralSource, parseDcapVerifierConfig } from './intelConfig.ts';
import { intelBundleKey, staticIntelCollateral } from './intelStatic.ts';
import { createTdxTestPlatform, TDX_FACTORY_NOW, tdxEvidence, type TdxTestPlatform } from '../testing/tdxFactory.ts';
import { createTdxVerifier } from '../tdx/tdxVerifier.ts';
import { verifyTdxEvidenceOffline } from '../tdx/verifyOffline.ts';
import { hasTdxVectors, vectorCollateral, vectorQuote, DCAPQVL_COLLATERAL } from '../testing/tdxVectors.ts';
import { VerificationError } from '../verificationError.ts';
import type { IntelCollateral, IntelCollateralRequest } from '../verifier.ts';

let platform: TdxTestPlatform;
let collateral: IntelCollateral;
let server: Server;
let base: string;
const requests: string[] = [];
let mode: 'ok' | 'fail' | 'missing' | 'slow' = 'ok';

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  requests.push(`${url.pathname}${url.search}`);
  if (mode === 'fail') return void res.writeHead(500).end();
  if (mode === 'missing') return void res.writeHead(404).end();
  if (mode === 'slow') return void setTimeout(() => res.writeHead(500).end(), 500);
  const tcbInfoMember = collateral.tcbInfo;
  switch (url.pathname) {
    case '/tdx/certification/v4/tcb':
      if (url.searchParams.get('fmspc') !== platform.pck.fmspc) return void res.writeHead(404).end();
      return void res.writeHead(200, { 'TCB-Info-Issuer-Chain': encodeURIComponent(collateral.tcbInfoIssuerChain), 'content-type': 'application/json' }).end(tcbInfoMember);
    case '/tdx/certification/v4/qe/identity':
      return void res.writeHead(200, { 'SGX-Enclave-Identity-Issuer-Chain': encodeURIComponent(collateral.qeIdentityIssuerChain) }).end(collateral.qeIdentity);
    case '/sgx/certification/v4/pckcrl':
      if (url.searchParams.get('ca') !== platform.pck.ca || url.searchParams.get('encoding') !== 'der') return void res.writeHead(404).end();
      return void res.writeHead(200, { 'SGX-PCK-CRL-Issuer-Chain': encodeURIComponent(collateral.pckCrlIssuerChain) }).end(Buffer.from(collateral.pckCrl));
    case '/sgx/certification/v4/rootcacrl':
      // PCCS serves the root CA CRL as hex text
      return void res.writeHead(200).end(Buffer.from(collateral.rootCaCrl).toString('hex'));
    default:
      return void res.writeHead(404).end();
  }
}

beforeAll(async () => {
  platform = await createTdxTestPlatform();
  collateral = await platform.collateral();
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  base = `http://127.0.0.1:${address.port}/sgx/certification/v4/ignored-path`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const request = (): { tee: 'tdx'; fmspc: string; pckCa: 'platform' } => ({ tee: 'tdx', fmspc: platform.pck.fmspc, pckCa: 'platform' });

describe('PCS/PCCS client', () => {
  test('fetches the four collateral items as served (issuer chains from headers, CRL hex/DER decoded)', async () => {
    mode = 'ok';
    requests.length = 0;
    const fetched = await createIntelPcsClient({ url: base }).fetchCollateral(request());
    expect(fetched).toEqual(collateral);
    expect(requests.sort()).toEqual([
      '/sgx/certification/v4/pckcrl?ca=platform&encoding=der',
      '/sgx/certification/v4/rootcacrl',
      '/tdx/certification/v4/qe/identity?update=early',
      `/tdx/certification/v4/tcb?fmspc=${platform.pck.fmspc}&update=early`,
    ]);
  });

  test('update type "standard" is passed through', async () => {
    mode = 'ok';
    requests.length = 0;
    await createIntelPcsClient({ url: base, updateType: 'standard' }).fetchCollateral(request());
    expect(requests.filter((r) => r.includes('update=standard'))).toHaveLength(2);
  });

  test.each([
    ['404', 'missing' as const, /not available \(HTTP 404\)/],
    ['500', 'fail' as const, /unexpected HTTP status 500/],
    ['timeout', 'slow' as const, /timed out after 50 ms/],
  ])('%s → collateral_unavailable', async (_name, m, message) => {
    mode = m;
    // Only the slow case is meant to hit the deadline; the others get one a loaded machine cannot miss.
    const error = await createIntelPcsClient({ url: base, timeoutMs: m === 'slow' ? 50 : 10_000 }).fetchCollateral(request()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VerificationError);
    expect((error as VerificationError).code).toBe('collateral_unavailable');
    expect((error as VerificationError).message).toMatch(message);
    mode = 'ok';
  });

  test('a connection refusal is collateral_unavailable', async () => {
    const error = await createIntelPcsClient({ url: 'http://127.0.0.1:9/' }).fetchCollateral(request()).catch((e: unknown) => e);
    expect((error as VerificationError).code).toBe('collateral_unavailable');
  });

  test('CRL bodies: DER, PEM and hex', () => {
    const der = collateral.pckCrl;
    const pem = `-----BEGIN X509 CRL-----\n${Buffer.from(der).toString('base64')}\n-----END X509 CRL-----\n`;
    expect(decodeCrlBody(der)).toEqual(der);
    expect(decodeCrlBody(Buffer.from(pem))).toEqual(der);
    expect(decodeCrlBody(Buffer.from(Buffer.from(der).toString('hex')))).toEqual(der);
    expect(() => decodeCrlBody(Buffer.from('nonsense'))).toThrow(VerificationError);
  });

  test.skipIf(!hasTdxVectors())('the Intel root CA CRL URL comes from the root certificate', () => {
    expect(rootCaCrlDistributionPoint(vectorCollateral(DCAPQVL_COLLATERAL).qeIdentityIssuerChain)).toBe('https://certificates.trustedservices.intel.com/IntelSGXRootCA.der');
  });
});

describe('collateral cache', () => {
  function counting(): { calls: () => number; upstream: (r: IntelCollateralRequest) => Promise<IntelCollateral> } {
    let calls = 0;
    const client = createIntelPcsClient({ url: base });
    return { calls: () => calls, upstream: async (r) => ((calls += 1), client.fetchCollateral(r)) };
  }

  test('single-flight: concurrent misses make one upstream fetch; hits make none', async () => {
    mode = 'ok';
    const store = new MemoryStore();
    const { calls, upstream } = counting();
    const cache = createIntelCollateralCache({ store, upstream, now: () => TDX_FACTORY_NOW });
    const results = await Promise.all(Array.from({ length: 20 }, () => cache.getIntelCollateral(request())));
    expect(calls()).toBe(1);
    expect(results.every((r) => r === results[0])).toBe(true);
    await cache.getIntelCollateral(request());
    expect(calls()).toBe(1);
    expect(await store.list('collateral_intel')).toEqual([`tdx:${platform.pck.fmspc}:platform`]);
  });

  test('persistence: a new cache over the same store needs no fetch', async () => {
    const store = new MemoryStore();
    const first = counting();
    await createIntelCollateralCache({ store, upstream: first.upstream, now: () => TDX_FACTORY_NOW }).getIntelCollateral(request());
    const second = counting();
    const again = await createIntelCollateralCache({ store, upstream: second.upstream, now: () => TDX_FACTORY_NOW }).getIntelCollateral(request());
    expect(second.calls()).toBe(0);
    expect(again).toEqual(collateral);
  });

  test('freshness from nextUpdate, then stale-if-error, then a failure without any cache', async () => {
    const store = new MemoryStore();
    let now = TDX_FACTORY_NOW;
    const { calls, upstream } = counting();
    const cache = createIntelCollateralCache({ store, upstream, now: () => now });
    await cache.getIntelCollateral(request());
    const freshUntil = collateralFreshUntil(collateral);
    now = new Date(freshUntil - 1000);
    await cache.getIntelCollateral(request());
    expect(calls()).toBe(1);
    now = new Date(freshUntil + 1000);
    await cache.getIntelCollateral(request());
    expect(calls()).toBe(2);
    mode = 'fail';
    now = new Date(freshUntil + 2000);
    expect(await cache.getIntelCollateral(request())).toEqual(collateral);
    expect(calls()).toBe(3);
    const empty = createIntelCollateralCache({ store: new MemoryStore(), upstream, now: () => now });
    const error = await empty.getIntelCollateral(request()).catch((e: unknown) => e);
    expect((error as VerificationError).code).toBe('collateral_unavailable');
    mode = 'ok';
  });

  test('import/export round trip (offline bundles) and verification through the cache', async () => {
    const store = new MemoryStore();
    const cache = createIntelCollateralCache({ store, upstream: () => Promise.reject(new Error('offline')), now: () => TDX_FACTORY_NOW });
    expect(await cache.importBundles([collateral])).toBe(1);
    const exported = await cache.exportBundles();
    expect(exported.map((c) => intelCollateralFromJson(JSON.parse(JSON.stringify(intelCollateralToJson(c)))))).toEqual([collateral]);
    const dir = await mkdtemp(join(tmpdir(), 'tdx-export-'));
    try {
      const keyOf = (c: IntelCollateral): string => { const k = intelBundleKey(c); return `${k.tee}:${k.fmspc}:${k.pckCa ?? 'unknown'}`; };
      expect(await writeIntelCollateralDir(dir, exported, keyOf)).toEqual([`tdx-${platform.pck.fmspc}-platform.json`]);
      const reimported = createIntelCollateralCache({ store: new MemoryStore(), upstream: () => Promise.reject(new Error('offline')), now: () => TDX_FACTORY_NOW });
      expect(await reimported.importBundles(await loadIntelCollateral(dir))).toBe(1);
      expect(await reimported.getIntelCollateral(request())).toEqual(collateral);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const [result] = await createTdxVerifier({ trustAnchors: platform.trustAnchors }).evaluate(tdxEvidence(platform.quote()), { reportData: undefined, initDataDigest: undefined }, { now: () => TDX_FACTORY_NOW, collateral: cache });
    expect(result?.claims.tcb_status).toBe('UpToDate');
  });
});

describe('offline verification from files', () => {
  test('a bundle directory (our JSON form) picks the bundle by FMSPC and CA', async () => {
    const other = await createTdxTestPlatform({ fmspc: '00806F050000', ca: 'processor' });
    const dir = await mkdtemp(join(tmpdir(), 'tdx-collateral-'));
    try {
      await writeFile(join(dir, 'a.json'), JSON.stringify(intelCollateralToJson(collateral)));
      await writeFile(join(dir, 'b.json'), JSON.stringify(intelCollateralToJson(await other.collateral())));
      expect(await loadIntelCollateral(dir)).toHaveLength(2);
      for (const p of [platform, other]) {
        const [result] = await verifyTdxEvidenceOffline(tdxEvidence(p.quote()), { collateral: dir, now: TDX_FACTORY_NOW, trustAnchors: p.trustAnchors });
        expect(result?.claims.tcb_status).toBe('UpToDate');
      }
      expect((await verifyTdxEvidenceOffline(tdxEvidence(other.quote()), { collateral: dir, now: TDX_FACTORY_NOW, trustAnchors: other.trustAnchors }))[0]?.claims.platform_instance_id).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('no bundle for the platform → collateral_unavailable naming what was asked', async () => {
    const other = await createTdxTestPlatform({ fmspc: '00806F050000' });
    const error = await createTdxVerifier({ trustAnchors: other.trustAnchors })
      .evaluate(tdxEvidence(other.quote()), { reportData: undefined, initDataDigest: undefined }, { now: () => TDX_FACTORY_NOW, collateral: staticIntelCollateral([collateral]) })
      .catch((e: unknown) => e);
    expect((error as VerificationError).failures[0]).toMatchObject({ check: 'collateral.intel', expected: 'tdx FMSPC 00806F050000 (platform CA)' });
  });

  test.skipIf(!hasTdxVectors('tdx/dcapqvl-tdx_quote'))('the dcap-qvl collateral JSON file is accepted as --collateral', async () => {
    const { VECTORS_DIR } = await import('../testing/snpVectors.ts');
    const evidence = { quote: Buffer.from(vectorQuote('tdx/dcapqvl-tdx_quote')).toString('base64'), cc_eventlog: null };
    const [result] = await verifyTdxEvidenceOffline(evidence, { collateral: join(VECTORS_DIR as string, DCAPQVL_COLLATERAL), now: new Date('2025-07-01T00:00:00Z') });
    expect(result?.claims.tcb_status).toBe('UpToDate');
  });
});

describe('dcap_verifier config and PcsClientTool files', () => {
  test('config parsing follows upstream defaults', () => {
    expect(parseDcapVerifierConfig(undefined)).toEqual({ collateralService: 'https://api.trustedservices.intel.com/sgx/certification/v4/', tcbUpdateType: 'early' });
    expect(parseDcapVerifierConfig({ collateral_service: 'https://pccs:8081/sgx/certification/v4/', tcb_update_type: 'standard' })).toEqual({ collateralService: 'https://pccs:8081/sgx/certification/v4/', tcbUpdateType: 'standard' });
    expect(() => parseDcapVerifierConfig({ collateral_service: 'https://pccs:8081/', extra: 1 })).toThrow('verifier_config.dcap_verifier.extra: unknown key');
    expect(() => parseDcapVerifierConfig({ tcb_update_type: 'early' })).toThrow(/collateral_service.*required/);
    expect(() => parseDcapVerifierConfig({ collateral_service: 'ftp://x' })).toThrow(/collateral_service: expected a PCS\/PCCS http\(s\) URL or a file:\/\/ path/);
    expect(() => parseDcapVerifierConfig({ collateral_service: 'https://x', tcb_update_type: 'all' })).toThrow(/early/);
  });

  test('file:// PcsClientTool collateral verifies, and is re-read when the file changes', async () => {
    const tool = (c: IntelCollateral): unknown => ({
      collaterals: {
        tcbinfos: [{ fmspc: platform.pck.fmspc.toLowerCase(), tdx_tcbinfo: JSON.parse(c.tcbInfo) as unknown }],
        pckcacrl: { processorCrl: Buffer.from(c.pckCrl).toString('hex'), platformCrl: Buffer.from(c.pckCrl).toString('hex') },
        tdqeidentity: JSON.parse(c.qeIdentity) as unknown,
        certificates: {
          'TCB-Info-Issuer-Chain': encodeURIComponent(c.tcbInfoIssuerChain),
          'SGX-Enclave-Identity-Issuer-Chain': encodeURIComponent(c.qeIdentityIssuerChain),
          'SGX-PCK-Certificate-Issuer-Chain': { PROCESSOR: encodeURIComponent(c.pckCrlIssuerChain), PLATFORM: encodeURIComponent(c.pckCrlIssuerChain) },
        },
        rootcacrl: Buffer.from(c.rootCaCrl).toString('hex'),
      },
    });
    const dir = await mkdtemp(join(tmpdir(), 'tdx-pcs-tool-'));
    const file = join(dir, 'collateral.json');
    try {
      await writeFile(file, JSON.stringify(tool(collateral)));
      const source = createIntelCollateralSource(parseDcapVerifierConfig({ collateral_service: `file://${file}` }), { store: new MemoryStore() });
      const verifier = createTdxVerifier({ trustAnchors: platform.trustAnchors });
      const evaluate = async (): Promise<unknown> => (await verifier.evaluate(tdxEvidence(platform.quote()), { reportData: undefined, initDataDigest: undefined }, { now: () => TDX_FACTORY_NOW, collateral: source }))[0]?.claims.tcb_status;
      expect(await evaluate()).toBe('UpToDate');
      const outOfDate = await platform.collateral({ tcbLevels: [{ sgx: Array(16).fill(0), pceSvn: 0, tdx: Array(16).fill(0), status: 'OutOfDate' }] });
      await writeFile(file, JSON.stringify(tool(outOfDate)));
      const { utimes } = await import('node:fs/promises');
      await utimes(file, new Date(), new Date(Date.now() + 5000));
      expect(await evaluate()).toBe('OutOfDate');
      expect(intelCollateralFromPcsClientTool(tool(collateral))).toHaveLength(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('https:// config builds the PCS client behind the cache', async () => {
    mode = 'ok';
    const source = createIntelCollateralSource(parseDcapVerifierConfig({ collateral_service: base }), { store: new MemoryStore(), now: () => TDX_FACTORY_NOW });
    expect(await (source.getIntelCollateral as (r: IntelCollateralRequest) => Promise<IntelCollateral>)(request())).toEqual(collateral);
  });
});
