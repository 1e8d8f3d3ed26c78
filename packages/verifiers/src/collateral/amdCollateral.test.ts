// Invariant: AMD collateral is fetched from KDS with upstream's exact URLs, validated before it is
// cached, cached in the KeyValueStore (VCEKs forever, chains refreshed but served stale on KDS
// failure), fetched once for concurrent requests, and round-trips through an offline bundle.
// Runs offline: a loopback HTTP server stands in for KDS.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '@trustee/storage';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createSnpVerifier } from '../snp/snpVerifier.ts';
import { createTestSnpReport, testAmdPki, testAmdTrustAnchors } from '../testing/snpFactory.ts';
import { VerificationError } from '../verificationError.ts';
import { AmdKdsClient, kdsCertChainUrl, kdsVcekUrl, type FetchLike } from './amdKds.ts';
import { createAmdCollateralSource, tcbPrefix } from './amdCollateral.ts';

const milanTcb = { bootloader: 4, tee: 0, snp: 24, microcode: 219 };

describe('KDS URLs (upstream format)', () => {
  test('Milan/Genoa: 64-byte hwid, two-digit SPLs', () => {
    const chip = new Uint8Array(64).fill(0xab);
    expect(kdsVcekUrl('https://kdsintf.amd.com', 'Milan', chip, { bootloader: 2, tee: 0, snp: 5, microcode: 68 })).toBe(
      `https://kdsintf.amd.com/vcek/v1/Milan/${'ab'.repeat(64)}?blSPL=02&teeSPL=00&snpSPL=05&ucodeSPL=68`,
    );
  });
  test('Turin: 8-byte hwid and fmcSPL first', () => {
    const chip = Uint8Array.from([0x3b, 0x42, 0x09, 0x2f, 0x69, 0xc6, 0x56, 0xd3, ...new Uint8Array(56)]);
    expect(kdsVcekUrl('http://h', 'Turin', chip, { fmc: 0, bootloader: 1, tee: 0, snp: 2, microcode: 71 })).toBe(
      'http://h/vcek/v1/Turin/3b42092f69c656d3?fmcSPL=00&blSPL=01&teeSPL=00&snpSPL=02&ucodeSPL=71',
    );
    expect(() => kdsVcekUrl('http://h', 'Turin', chip, milanTcb)).toThrow(VerificationError);
  });
  test('cert chains', () => {
    expect(kdsCertChainUrl('https://kdsintf.amd.com', 'Genoa', 'vlek')).toBe('https://kdsintf.amd.com/vlek/v1/Genoa/cert_chain');
    expect(tcbPrefix({ fmc: 5, bootloader: 3, tee: 1, snp: 8, microcode: 15 })).toBe('bl03_tee01_snp08_ucode15_fmc05');
    expect(tcbPrefix({ bootloader: 2, tee: 0, snp: 6, microcode: 21 })).toBe('bl02_tee00_snp06_ucode21');
  });
});

describe('KDS client and cache against a loopback KDS', () => {
  let server: Server;
  let baseUrl: string;
  const hits: string[] = [];
  let vcekDer: Uint8Array;
  let chainPem: string;
  let mode: 'ok' | 'down' | 'garbage' | 'hang' = 'ok';

  beforeAll(async () => {
    const pki = await testAmdPki('Milan');
    vcekDer = (await createTestSnpReport({ tcb: milanTcb })).vek.der;
    const pem = (der: Uint8Array): string => `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64')}\n-----END CERTIFICATE-----\n`;
    chainPem = pem(pki.askDer) + pem(pki.arkDer);
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      if (mode === 'hang') return;
      if (mode === 'down') return void res.writeHead(503).end();
      if (mode === 'garbage') return void res.writeHead(200).end('not a certificate');
      if (req.url?.endsWith('/cert_chain')) return void res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(chainPem);
      if (req.url?.startsWith('/vcek/v1/Milan/')) return void setTimeout(() => res.writeHead(200).end(Buffer.from(vcekDer)), 20);
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test('VCEK: fetched once for concurrent requests, then served from the store without KDS', async () => {
    mode = 'ok';
    hits.length = 0;
    const store = new MemoryStore();
    const collateral = createAmdCollateralSource({ store, kds: new AmdKdsClient({ baseUrl }) });
    const chip = Uint8Array.from({ length: 64 }, (_, i) => (i * 7 + 3) & 0xff);
    const results = await Promise.all([1, 2, 3, 4].map(() => collateral.getVcek('Milan', chip, milanTcb)));
    expect(results.every((r) => Buffer.compare(r, vcekDer) === 0)).toBe(true);
    expect(hits).toHaveLength(1);
    expect(hits[0]).toBe(`/vcek/v1/Milan/${Buffer.from(chip).toString('hex')}?blSPL=04&teeSPL=00&snpSPL=24&ucodeSPL=219`);
    mode = 'down';
    await expect(collateral.getVcek('Milan', chip, milanTcb)).resolves.toEqual(vcekDer);
    const offline = createAmdCollateralSource({ store });
    await expect(offline.getVcek('Milan', chip, milanTcb)).resolves.toEqual(vcekDer);
    await expect(offline.getVcek('Milan', chip, { ...milanTcb, snp: 25 })).rejects.toMatchObject({ code: 'collateral_unavailable' });
  });

  test('KDS errors, garbage bodies and timeouts are collateral_unavailable and never cached', async () => {
    const store = new MemoryStore();
    const chip = new Uint8Array(64).fill(1);
    for (const m of ['down', 'garbage'] as const) {
      mode = m;
      const collateral = createAmdCollateralSource({ store, kds: new AmdKdsClient({ baseUrl }) });
      await expect(collateral.getVcek('Milan', chip, milanTcb)).rejects.toMatchObject({ code: m === 'down' ? 'collateral_unavailable' : 'malformed_evidence' });
    }
    mode = 'hang';
    const slow = createAmdCollateralSource({ store, kds: new AmdKdsClient({ baseUrl, timeoutMs: 50 }) });
    await expect(slow.getVcek('Milan', chip, milanTcb)).rejects.toMatchObject({ code: 'collateral_unavailable', failures: [{ message: expect.stringContaining('timed out') }] });
    expect(await store.list('collateral_amd')).toEqual([]);
  });

  test('chains: refreshed after max age, stale served while KDS is down', async () => {
    mode = 'ok';
    hits.length = 0;
    let clock = Date.parse('2030-01-01T00:00:00Z');
    const store = new MemoryStore();
    const collateral = createAmdCollateralSource({ store, kds: new AmdKdsClient({ baseUrl }), now: () => new Date(clock), chainMaxAgeMs: 1000 });
    expect(await collateral.getAmdCertChain('Milan', 'vcek')).toBe(chainPem);
    expect(await collateral.getAmdCertChain('Milan', 'vcek')).toBe(chainPem);
    expect(hits).toEqual(['/vcek/v1/Milan/cert_chain']);
    clock += 5000;
    mode = 'down';
    expect(await collateral.getAmdCertChain('Milan', 'vcek')).toBe(chainPem);
    expect(hits).toHaveLength(2);
    await expect(collateral.getAmdCertChain('Genoa', 'vlek')).rejects.toMatchObject({ code: 'collateral_unavailable' });
    await expect(collateral.getAmdCertChain('Naples', 'vcek')).rejects.toMatchObject({ code: 'unsupported' });
  });

  test('export → import round trip (upstream kds-store layout), then an offline verifier uses it', async () => {
    mode = 'ok';
    const dir = await mkdtemp(join(tmpdir(), 'amd-bundle-'));
    try {
      const { evidenceWithoutChain, report } = await createTestSnpReport({ tcb: milanTcb });
      const online = createAmdCollateralSource({ store: new MemoryStore(), kds: new AmdKdsClient({ baseUrl }) });
      await online.getVcek('Milan', report.chipId, report.reportedTcb);
      await online.getAmdCertChain('Milan', 'vcek');
      expect(await online.exportBundle(dir)).toEqual({ vceks: 1, chains: 1 });
      expect(await readdir(join(dir, 'vcek', Buffer.from(report.chipId).toString('hex')))).toEqual(['bl04_tee00_snp24_ucode219_vcek.der']);

      const offline = createAmdCollateralSource({ store: new MemoryStore() });
      expect(await offline.importBundle(dir)).toEqual({ vceks: 1, chains: 1, skipped: [] });
      const verifier = createSnpVerifier({ trustAnchors: await testAmdTrustAnchors() });
      const [claims] = await verifier.evaluate(evidenceWithoutChain, { reportData: undefined, initDataDigest: undefined }, { now: () => new Date('2030-01-01T00:00:00Z'), collateral: offline });
      expect(claims?.claims['reported_tcb_snp']).toBe(24);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

test('a fetch implementation that throws is reported, not propagated raw', async () => {
  const failing: FetchLike = () => Promise.reject(new TypeError('network unreachable'));
  const collateral = createAmdCollateralSource({ store: new MemoryStore(), kds: new AmdKdsClient({ fetch: failing }) });
  await expect(collateral.getVcek('Genoa', new Uint8Array(64).fill(2), milanTcb)).rejects.toMatchObject({ code: 'collateral_unavailable' });
});
