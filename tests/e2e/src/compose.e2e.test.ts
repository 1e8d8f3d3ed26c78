/**
 * Invariant: the docker-compose / Helm topology of upstream Trustee works as three processes — KBS
 * (`[attestation_service] type = "coco_as_grpc"`) → AS (`services/as`, gRPC) → RVPS
 * (`services/rvps`, gRPC) — with the operator talking only to the KBS: reference values and the
 * attestation policy reach the AS/RVPS through the KBS admin API (upstream trustee
 * `kbs/src/api_server.rs`, `docker-compose.yml`), and the guest's token is the AS's, verified by
 * the KBS through the signer's CA.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startComposeStack, type ComposeStack } from './harness/composeStack.ts';
import { describeResponse, expectErrorInformation } from './harness/errors.ts';
import type { AsProcess, KbsProcess, RvpsProcess } from './harness/kbsProcess.ts';
import { capabilities } from './harness/paths.ts';
import { makeTempDir, removeTempDir } from './harness/tempDir.ts';
import { decodeJwt, IndependentGuest } from './independent/guest.ts';
import { httpRequest, jsonBody } from './independent/http.ts';
import { x5cFromPem } from './independent/jwt.ts';
import { IndependentOperator, POLICIES } from './independent/operator.ts';
import { generateTeeKey } from './independent/teeKey.ts';

const cpu0 = (token: string): Record<string, unknown> | undefined =>
  (decodeJwt(token).payload.submods as Record<string, Record<string, unknown>> | undefined)?.cpu0;

describe.skipIf(!capabilities.kbs || !capabilities.as || !capabilities.rvps || !capabilities.kbsGrpcAs)('KBS → AS → RVPS as three processes (coco_as_grpc)', () => {
  let dir: string;
  let rvps: RvpsProcess;
  let as: AsProcess;
  let kbs: KbsProcess;
  let operator: IndependentOperator;
  let stack: ComposeStack | undefined;
  let signerChainPath: string;

  beforeAll(async () => {
    dir = makeTempDir();
    stack = await startComposeStack(dir);
    ({ rvps, as, kbs } = stack);
    signerChainPath = stack.signer.certChainPath;
    operator = new IndependentOperator(kbs.url, stack.adminToken);
  });

  afterAll(async () => {
    await stack?.stop();
    if (dir !== undefined) removeTempDir(dir);
  });

  it('issues the AS token to the guest; without reference values the default policy does not affirm', async () => {
    expect((await operator.setResource('default/key/compose', Buffer.from('compose secret'))).status).toBe(200);
    expect((await operator.setResourcePolicy(POLICIES.affirming)).status).toBe(200);
    const guest = new IndependentGuest(kbs.url, generateTeeKey('P-256'));
    const token = await guest.rcar();
    expect(decodeJwt(token).payload.iss).toBe('CoCo-Attestation-Service');
    // Signed by the AS process's configured signer (the KBS holds no signing key in this topology).
    const x5c = (decodeJwt(token).header.jwk as { x5c?: string[] } | undefined)?.x5c;
    expect(x5c?.[0]).toBe(x5cFromPem(readFileSync(signerChainPath, 'utf8'))[0]);
    expect(cpu0(token)?.['ear.status']).not.toBe('affirming');
    expectErrorInformation(await guest.getResource('default/key/compose'), 401, 'PolicyDeny');
  });

  it('registers reference values through the KBS into the RVPS process, and the next token affirms', async () => {
    for (const [name, value] of [['launch_digest', ['abcde']], ['svn', ['1']], ['major_version', 1], ['minimum_minor_version', 4]] as const) {
      const response = await operator.registerSampleReferenceValue(name, value);
      expect(response.status, describeResponse(response)).toBe(200);
      expect(jsonBody(await httpRequest(rvps.restUrl, { method: 'GET', path: `/reference-value/${name}` }))).toEqual(value);
      expect(jsonBody(await operator.getReferenceValue(name))).toEqual(value);
    }
    const guest = new IndependentGuest(kbs.url, generateTeeKey('RSA'));
    const token = await guest.rcar();
    expect(cpu0(token)?.['ear.status']).toBe('affirming');
    expect(guest.decrypt(await guest.getResource('default/key/compose')).plaintext.toString()).toBe('compose secret');
  });

  it('forwards set-attestation-policy to the AS', async () => {
    const policy = 'package policy\nimport rego.v1\n\ntrust_claims := {"executables": 96, "hardware": 2, "configuration": 2}\n';
    const set = await operator.setAttestationPolicy(policy, 'default_cpu');
    expect(set.status, describeResponse(set)).toBe(200);
    const guest = new IndependentGuest(kbs.url, generateTeeKey('P-256'));
    const token = await guest.rcar();
    expect(cpu0(token)?.['ear.status']).toBe('contraindicated');
    expectErrorInformation(await guest.getResource('default/key/compose'), 401, 'PolicyDeny');
  });

  it('refuses attestation cleanly while the AS is down', async () => {
    await as.stop();
    const guest = new IndependentGuest(kbs.url, generateTeeKey('P-256'));
    expect((await guest.auth()).status).toBe(200);
    // A dependency outage is a retryable 503 (a load balancer moves the guest to another replica),
    // not a verdict on the evidence; the KBS stays up and reports not-ready.
    expectErrorInformation(await guest.attest(), 503, 'ServiceUnavailable');
    expect(kbs.alive()).toBe(true);
  });
});
