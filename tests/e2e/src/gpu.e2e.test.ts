/**
 * Invariant: a confidential-GPU guest (SNP CPU evidence plus NVIDIA GPU evidence sent as
 * `additional_evidence`, the way guest-components does) runs the whole RCAR flow over real
 * processes (kbs-client CLI, KBS with its builtin AS, GPU trusted through
 * `verifier_config.nvidia_verifier.trust_anchors_path`): the EAR token gets both submods, `cpu0`
 * and `gpu0`; a GPU-gated resource policy releases the secret only when both verify and appraise
 * as affirming (CPU reference values, and the GPU's measurements against a RIM registered through
 * the RVPS swid extractor); a tampered GPU report, a GPU report bound to another nonce, or no GPU
 * evidence at all is denied.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { describeCli, type CliResult } from './harness/cli.ts';
import { claimAt, DEFAULT_CPU_REFERENCE_VALUES } from './harness/evidenceFactory.ts';
import { runKbsClient, type EvidenceServer } from './harness/evidenceServer.ts';
import { startFactoryKbs } from './harness/factoryKbs.ts';
import type { KbsProcess } from './harness/kbsProcess.ts';
import { capabilities } from './harness/paths.ts';
import { makeTempDir, removeTempDir } from './harness/tempDir.ts';
import { decodeJwt } from './independent/guest.ts';

type Claims = Record<string, unknown>;

const SECRET = Buffer.from('model decryption key', 'utf8');
const RESOURCE = 'default/key/model';

/** Releases only to a guest whose CPU and GPU both appraised as affirming. */
const GPU_GATED_POLICY = `package policy

import rego.v1

default allow := false

allow if {
	input.submods.cpu0["ear.status"] == "affirming"
	input.submods.gpu0["ear.status"] == "affirming"
}
`;

/** A TCG RIM (SWID) for the factory's measurements: what NVIDIA publishes per driver version. */
function driverRim(driverVersion: string, measurements: Record<string, string>): string {
  const resources = Object.entries(measurements)
    .map(([index, value]) => `<Resource type="Measurement" index="${Number(index) - 1}" active="True" alternatives="1" h:Hash0="${value}"/>`)
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>
<SoftwareIdentity xmlns="http://standards.iso.org/iso/19770/-2/2015/schema.xsd" xmlns:h="http://www.w3.org/2001/04/xmlenc#sha384" xmlns:rim="https://trustedcomputinggroup.org/resource/tcg-reference-integrity-manifest-rim-information-model/" name="GH100" tagId="test-driver-rim" version="${driverVersion}">
<Meta edition="${driverVersion}" rim:PlatformManufacturerStr="NVIDIA" rim:PlatformModel="GH100"/><Payload>${resources}</Payload></SoftwareIdentity>`;
}

function submods(token: string): Record<string, Claims> {
  return decodeJwt(token).payload.submods as Record<string, Claims>;
}

function expectOk(result: CliResult): string {
  expect(result.code, describeCli(result)).toBe(0);
  return result.stdout;
}

describe.skipIf(!capabilities.kbs || !capabilities.cli)('SNP + NVIDIA GPU composite attestation over RCAR (KBS + kbs-client processes)', () => {
  let dir: string;
  let evidence: EvidenceServer;
  let kbs: KbsProcess;
  let adminToken: string;
  let adminTokenFile: string;

  const cli = (args: readonly string[]): Promise<CliResult> => runKbsClient(['--url', kbs.url, ...args], { home: dir });
  const config = (args: readonly string[]): Promise<CliResult> => cli(['config', '--admin-token-file', adminTokenFile, ...args]);
  const guest = (args: readonly string[], gpu: { readonly tamper?: boolean; readonly reportData?: string } | 'none' = {}): Promise<CliResult> =>
    cli([...args, '--tee', 'snp', '--evidence-command', evidence.command('snp'), ...(gpu === 'none' ? [] : ['--device-evidence-command', `nvidia=${evidence.command('nvidia', gpu)}`]), '--rcar-attempts', '1']);

  beforeAll(async () => {
    dir = makeTempDir('trustee-gpu-');
    ({ evidence, kbs, adminToken, adminTokenFile } = await startFactoryKbs(dir));
    const secretFile = join(dir, 'secret.bin');
    writeFileSync(secretFile, SECRET);
    const policyFile = join(dir, 'gpu-gated.rego');
    writeFileSync(policyFile, GPU_GATED_POLICY);
    expectOk(await config(['set-resource', '--path', RESOURCE, '--resource-file', secretFile]));
    expectOk(await config(['set-resource-policy', '--policy-file', policyFile]));
  }, 180_000);

  afterAll(async () => {
    await Promise.all([kbs?.stop(), evidence?.stop()]);
    if (dir !== undefined) removeTempDir(dir);
  });

  it('warns that non-default NVIDIA roots are in use', () => {
    expect(kbs.output()).toMatch(/NON-DEFAULT NVIDIA device roots/);
  });

  let cpuClaims: Claims;
  let gpuClaims: Claims;

  it('the token carries cpu0 (snp) and gpu0 (nvidia); neither affirming yet, so the GPU-gated policy denies', async () => {
    const token = expectOk(await guest(['attest'])).trim();
    const mods = submods(token);
    expect(Object.keys(mods).sort()).toEqual(['cpu0', 'gpu0']);
    cpuClaims = (mods.cpu0?.['ear.veraison.annotated-evidence'] as Claims).snp as Claims;
    gpuClaims = (mods.gpu0?.['ear.veraison.annotated-evidence'] as Claims).nvidia as Claims;
    expect(gpuClaims).toMatchObject({ arch: 'Hopper', uuid: 'GPU-test-0' });
    expect(Object.keys(gpuClaims.measurements as Claims).length).toBeGreaterThan(0);
    expect(mods.gpu0?.['ear.status']).not.toBe('affirming');
    const denied = await guest(['get-resource', '--path', RESOURCE]);
    expect(denied.code, describeCli(denied)).not.toBe(0);
    expect(denied.stderr).toMatch(/PolicyDeny|denied/i);
  }, 120_000);

  it('CPU reference values alone: cpu0 affirming, gpu0 not, still denied', async () => {
    for (const { id, path, kind } of DEFAULT_CPU_REFERENCE_VALUES.snp) {
      expectOk(await config(['set-sample-reference-value', id, String(claimAt(cpuClaims, path)), ...(kind === 'integer' ? ['--as-integer'] : [])]));
    }
    const mods = submods(expectOk(await guest(['attest'])).trim());
    expect(mods.cpu0?.['ear.status']).toBe('affirming');
    expect(mods.gpu0?.['ear.status']).not.toBe('affirming');
    expect((await guest(['get-resource', '--path', RESOURCE])).code).not.toBe(0);
  }, 180_000);

  it('with the driver RIM (swid) and allowed versions registered, both affirm and the GPU-gated secret is released', async () => {
    const gpuConfig = gpuClaims.config as Claims;
    const rim = driverRim(String(gpuConfig.driver_version), gpuClaims.measurements as Record<string, string>);
    const message = JSON.stringify({ version: '0.1.0', type: 'swid', payload: Buffer.from(rim).toString('base64') });
    const registered = await fetch(`${kbs.url}/kbs/v0/reference-value`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: message });
    expect(registered.status, await registered.clone().text()).toBe(200);
    expectOk(await config(['set-sample-reference-value', 'allowed_driver_versions', String(gpuConfig.driver_version)]));
    expectOk(await config(['set-sample-reference-value', 'allowed_vbios_versions', String(gpuConfig.vbios_version)]));

    const mods = submods(expectOk(await guest(['attest'])).trim());
    expect(mods.gpu0?.['ear.status'], JSON.stringify(mods.gpu0?.['ear.trustworthiness-vector'])).toBe('affirming');
    expect(mods.cpu0?.['ear.status']).toBe('affirming');
    const stdout = expectOk(await guest(['get-resource', '--path', RESOURCE]));
    expect(stdout.trim()).toBe(SECRET.toString('base64'));
  }, 180_000);

  it('without GPU evidence the GPU-gated secret is denied', async () => {
    const result = await guest(['get-resource', '--path', RESOURCE], 'none');
    expect(result.code, describeCli(result)).not.toBe(0);
    expect(result.stderr).toMatch(/PolicyDeny|denied/i);
  }, 120_000);

  it('a tampered GPU report is refused at attestation (the SPDM signature no longer verifies)', async () => {
    const result = await guest(['get-resource', '--path', RESOURCE], { tamper: true });
    expect(result.code, describeCli(result)).not.toBe(0);
    expect(result.stdout.trim()).toBe('');
    expect(kbs.output()).toMatch(/nvidia\.spdm\.signature/);
  }, 120_000);

  it('a GPU report bound to another nonce is refused (nvidia.nonce)', async () => {
    const other = createHash('sha384').update('another session').digest('hex');
    const result = await guest(['get-resource', '--path', RESOURCE], { reportData: other });
    expect(result.code, describeCli(result)).not.toBe(0);
    expect(kbs.output()).toMatch(/nvidia\.nonce/);
  }, 120_000);
});
