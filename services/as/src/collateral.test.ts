/**
 * Invariant: `verifier_config.snp_verifier` KDS sources are dialled for a VCEK the evidence does
 * not carry, the answer is cached in the service's store (a second evaluation, and a second
 * service on the same store, make no request), and the metrics tell lookups from upstream fetches.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MemoryStore } from '@trustee/storage';
import { createSnpVerifier, kdsHwid } from '@trustee/verifiers';
import { createTestSnpReport, testAmdPki, type TestSnpReport } from '@trustee/verifiers/testing/snpFactory.ts';
import { composeAs } from './compose.ts';
import { parseAsConfig } from './config.ts';

let kds: Server;
let baseUrl: string;
let snp: TestSnpReport;
const requests: string[] = [];
const nonce = new Uint8Array(64).fill(0x21);

beforeAll(async () => {
  snp = await createTestSnpReport({ product: 'Milan', reportData: nonce });
  const hwid = kdsHwid('Milan', snp.report.chipId);
  kds = createServer((request, response) => {
    requests.push(request.url ?? '');
    if (request.url?.startsWith(`/vcek/v1/Milan/${hwid}?`) === true) {
      response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from(snp.vek.der));
    } else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => kds.listen(0, '127.0.0.1', resolve));
  const address = kds.address();
  baseUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
});

afterAll(() => {
  kds.close();
});

describe('KDS collateral through verifier_config', () => {
  test('fetched once, cached in the store, counted in the metrics', async () => {
    const pki = await testAmdPki('Milan');
    const store = new MemoryStore();
    const config = parseAsConfig({ verifier_config: { snp_verifier: { vcek_sources: [{ type: 'KDS', base_url: baseUrl }] } } });
    const verifiers = { snp: createSnpVerifier({ trustAnchors: pki.anchors }) };
    const request = { tee: 'snp' as const, evidence: snp.evidenceWithoutChain, runtimeData: { raw: nonce } };

    const first = await composeAs(config, { store, verifiers });
    await first.evaluate([request], []);
    await first.evaluate([request], []);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatch(/blSPL=\d+&teeSPL=\d+&snpSPL=\d+&ucodeSPL=\d+/);
    const metrics = await first.metrics.registry.metrics();
    expect(metrics).toMatch(/trustee_as_collateral_lookups_total\{kind="vcek",outcome="ok"\} 2/);
    expect(metrics).toMatch(/trustee_as_collateral_upstream_fetches_total\{service="kds",outcome="200"\} 1/);
    await first.close();

    const second = await composeAs(config, { store, verifiers });
    await second.evaluate([request], []);
    expect(requests).toHaveLength(1);
    await second.close();
  });

  test('a KDS that does not know the chip → collateral_unavailable', async () => {
    const pki = await testAmdPki('Milan');
    const other = await createTestSnpReport({ product: 'Milan', reportData: nonce, chipId: new Uint8Array(64).fill(1) });
    const composed = await composeAs(parseAsConfig({ verifier_config: { snp_verifier: { vcek_sources: [{ type: 'KDS', base_url: baseUrl }] } } }), {
      store: new MemoryStore(),
      verifiers: { snp: createSnpVerifier({ trustAnchors: pki.anchors }) },
    });
    await expect(composed.evaluate([{ tee: 'snp', evidence: other.evidenceWithoutChain, runtimeData: { raw: nonce } }], [])).rejects.toMatchObject({ code: 'collateral_unavailable' });
    expect(await composed.metrics.registry.metrics()).toMatch(/trustee_as_collateral_upstream_fetches_total\{service="kds",outcome="404"\} 1/);
    await composed.close();
  });
});
