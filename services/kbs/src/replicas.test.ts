/**
 * Invariant: two KBS replicas sharing one SQLite file behave as one KBS — a guest may hit
 * either for any RCAR step, admin changes on one are enforced by the other at once, and a
 * challenge is still verified only once.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { parse as parseToml } from 'smol-toml';
import { afterAll, expect, test } from 'vitest';
import { composeKbs, type ComposedKbs } from './compose.ts';
import { parseKbsConfig } from './config.ts';
import { devConfigToml, prepareDevEnvironment } from './devSetup.ts';
import { ALLOW_ALL_RESOURCE_POLICY } from './resourcePolicy.ts';
import { cleanupHarnessDirs, ERR, errorOf, Guest, policyBody, TEST_EAR_POLICY } from './testing/fixture.ts';

afterAll(() => cleanupHarnessDirs());

test('RCAR steps alternate between replicas; admin changes apply to both', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kbs-replicas-'));
  const paths = await prepareDevEnvironment(dir);
  const config = parseKbsConfig(parseToml(devConfigToml(paths)));
  const replicas: ComposedKbs[] = [await composeKbs(config), await composeKbs(config)];
  try {
    const [a, b] = replicas.map((kbs) => kbs.apps[0]) as [FastifyInstance, FastifyInstance];
    const admin = { authorization: `Bearer ${readFileSync(paths.adminToken, 'utf8').trim()}` };
    await replicas[0]?.attestation?.setPolicy('default_cpu', TEST_EAR_POLICY);

    expect((await a.inject({ method: 'POST', url: '/kbs/v0/resource/default/key/ha', payload: 'ha-secret', headers: { ...admin, 'content-type': 'application/octet-stream' } })).statusCode).toBe(200);

    const onA = new Guest(a);
    await onA.auth();
    const onB = onA.via(b);
    const attested = await onB.attest();
    expect(attested.statusCode, attested.body).toBe(200);
    // The same challenge again, now on A: the session is Attested, so the stored token comes back.
    const replay = await onA.attest();
    expect(JSON.parse(replay.body)).toEqual(JSON.parse(attested.body));

    // Default policy (set up by both at start, stored once) denies sample evidence on both.
    expect(errorOf(await onA.getResource('default/key/ha')).type).toBe(`${ERR}PolicyDeny`);
    // Policy changed through B is enforced by A immediately.
    const set = await b.inject({ method: 'POST', url: '/kbs/v0/resource-policy', payload: policyBody(ALLOW_ALL_RESOURCE_POLICY), headers: { ...admin, 'content-type': 'application/json' } });
    expect(set.statusCode).toBe(200);
    const released = await onA.getResource('default/key/ha');
    expect(released.statusCode, released.body).toBe(200);
    expect(onA.decrypt(released)).toBe('ha-secret');
  } finally {
    for (const kbs of replicas) await kbs.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
