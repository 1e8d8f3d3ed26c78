/**
 * Invariant: an SGX enclave and a plain-TPM host run the whole RCAR flow over real processes
 * (kbs-client CLI with factory evidence from the test-only Intel and TPM keys, KBS with its
 * builtin AS trusting the test Intel root through `dcap_verifier.trust_anchors_path` and
 * offline PcsClientTool collateral) and get a resource whose policy asks for an affirming
 * `cpu0` of their TEE only when their claims appraise as affirming: SGX when the enclave's
 * MRENCLAVE and MRSIGNER are registered reference values (an operator's appraisal policy: the
 * default CPU policy has no SGX rules, as upstream's), TPM when its AK is among `trusted_aks`
 * and PCR11 is registered (the default CPU policy's rule). Another enclave or AK is denied; a
 * tampered quote or one bound to another nonce is refused at attestation with the failed check
 * named in the KBS log.
 *
 * Every test stands alone: it sets the appraisal policy, its own resource and the resource
 * policy itself, and uses an enclave / AK (`--variant`) that no other test registers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeCli, type CliResult } from './harness/cli.ts';
import { runKbsClient, type EvidenceServer } from './harness/evidenceServer.ts';
import { startFactoryKbs } from './harness/factoryKbs.ts';
import type { KbsProcess } from './harness/kbsProcess.ts';
import { capabilities, REPO_ROOT } from './harness/paths.ts';
import { makeTempDir, removeTempDir } from './harness/tempDir.ts';
import { decodeJwt } from './independent/guest.ts';

type Claims = Record<string, unknown>;
type Tee = 'sgx' | 'tpm';

/**
 * The bundled default CPU policy (its `tpm` rule unchanged) plus an operator's SGX rules: genuine
 * hardware when the TCB is up to date, approved executables when MRENCLAVE and MRSIGNER are
 * registered.
 */
const APPRAISAL_POLICY = `${readFileSync(join(REPO_ROOT, 'packages/attestation/src/policy/defaults/default_cpu.rego'), 'utf8')}

# sgx (test operator's rules)

hardware := 2 if {
	input.sgx
	input.sgx.tcb_status == "UpToDate"
}

executables := 3 if {
	input.sgx
	input.sgx.body.mr_enclave in query_reference_value("sgx_mr_enclave")
	input.sgx.body.mr_signer in query_reference_value("sgx_mr_signer")
}

configuration := 0 if {
	input.sgx
}
`;

/** Releases only to an affirming cpu0 whose evidence came from `tee`. */
const resourcePolicy = (tee: Tee): string => `package policy

import rego.v1

default allow := false

allow if {
	input.submods.cpu0["ear.status"] == "affirming"
	input.submods.cpu0["ear.veraison.annotated-evidence"].${tee}
}
`;

function expectOk(result: CliResult): string {
  expect(result.code, describeCli(result)).toBe(0);
  return result.stdout;
}

function expectDenied(result: CliResult): void {
  expect(result.code, describeCli(result)).not.toBe(0);
  expect(result.stdout.trim()).toBe('');
  expect(result.stderr).toMatch(/PolicyDeny|denied/i);
}

describe.skipIf(!capabilities.kbs || !capabilities.cli)('SGX and TPM evidence over RCAR (KBS + kbs-client processes)', () => {
  let dir: string;
  let evidence: EvidenceServer;
  let kbs: KbsProcess;
  let adminTokenFile: string;

  const cli = (args: readonly string[]): Promise<CliResult> => runKbsClient(['--url', kbs.url, ...args], { home: dir });
  const config = (args: readonly string[]): Promise<CliResult> => cli(['config', '--admin-token-file', adminTokenFile, ...args]);
  const guest = (tee: Tee, args: readonly string[], force: { readonly variant: string; readonly tamper?: boolean; readonly reportData?: string }): Promise<CliResult> =>
    cli([...args, '--tee', tee, '--evidence-command', evidence.command(tee, force), '--rcar-attempts', '1']);
  const cpu0 = async (tee: Tee, variant: string): Promise<Claims> => {
    const token = expectOk(await guest(tee, ['attest'], { variant })).trim();
    const submods = decodeJwt(token).payload.submods as Record<string, Claims>;
    expect(Object.keys(submods)).toEqual(['cpu0']);
    return submods.cpu0 as Claims;
  };
  const claimsOf = (mod: Claims, tee: Tee): Claims => (mod['ear.veraison.annotated-evidence'] as Claims)[tee] as Claims;
  const setReferenceValue = async (id: string, value: string): Promise<void> => void expectOk(await config(['set-sample-reference-value', id, value]));

  /** The appraisal policy, a fresh resource and a resource policy for `tee`: everything a test relies on. */
  async function prepare(tee: Tee): Promise<{ path: string; secret: Buffer }> {
    const name = randomBytes(6).toString('hex');
    const secret = randomBytes(24);
    const files = { appraisal: join(dir, `${name}-cpu.rego`), resource: join(dir, `${name}.rego`), secret: join(dir, `${name}.bin`) };
    writeFileSync(files.appraisal, APPRAISAL_POLICY);
    writeFileSync(files.resource, resourcePolicy(tee));
    writeFileSync(files.secret, secret);
    const path = `${tee}-${name}/key/secret`;
    expectOk(await config(['set-attestation-policy', '--policy-file', files.appraisal]));
    expectOk(await config(['set-resource', '--path', path, '--resource-file', files.secret]));
    expectOk(await config(['set-resource-policy', '--policy-file', files.resource]));
    return { path, secret };
  }

  /** What the KBS logs while `run` runs. */
  async function logDuring(run: () => Promise<CliResult>): Promise<{ result: CliResult; log: string }> {
    const mark = kbs.output().length;
    const result = await run();
    // the KBS logs the failure before it answers; give the pipe a moment to deliver it
    await new Promise((resolve) => setTimeout(resolve, 200));
    return { result, log: kbs.output().slice(mark) };
  }

  beforeAll(async () => {
    dir = makeTempDir('trustee-sgx-tpm-');
    ({ evidence, kbs, adminTokenFile } = await startFactoryKbs(dir));
  }, 180_000);

  afterAll(async () => {
    await Promise.all([kbs?.stop(), evidence?.stop()]);
    if (dir !== undefined) removeTempDir(dir);
  });

  describe('sgx', () => {
    it('an enclave is denied until its MRENCLAVE and MRSIGNER are registered, then appraises affirming and gets the secret', async () => {
      const { path, secret } = await prepare('sgx');
      const variant = `release-${randomBytes(4).toString('hex')}`;
      const before = await cpu0('sgx', variant);
      const sgx = claimsOf(before, 'sgx');
      const body = sgx.body as Claims;
      expect(body.mr_enclave).toBe(createHash('sha256').update(`enclave:${variant}`).digest('hex'));
      expect(sgx.tcb_status).toBe('UpToDate');
      expect(before['ear.status']).not.toBe('affirming');
      expectDenied(await guest('sgx', ['get-resource', '--path', path], { variant }));

      await setReferenceValue('sgx_mr_enclave', String(body.mr_enclave));
      await setReferenceValue('sgx_mr_signer', String(body.mr_signer));
      const after = await cpu0('sgx', variant);
      expect(after['ear.status'], JSON.stringify(after['ear.trustworthiness-vector'])).toBe('affirming');
      expect(expectOk(await guest('sgx', ['get-resource', '--path', path], { variant })).trim()).toBe(secret.toString('base64'));
    }, 240_000);

    it('another enclave of the same signer is denied while the registered one is released', async () => {
      const { path, secret } = await prepare('sgx');
      const registered = `kept-${randomBytes(4).toString('hex')}`;
      const other = `other-${randomBytes(4).toString('hex')}`;
      const body = claimsOf(await cpu0('sgx', registered), 'sgx').body as Claims;
      await setReferenceValue('sgx_mr_enclave', String(body.mr_enclave));
      await setReferenceValue('sgx_mr_signer', String(body.mr_signer));
      expect(expectOk(await guest('sgx', ['get-resource', '--path', path], { variant: registered })).trim()).toBe(secret.toString('base64'));
      const mod = await cpu0('sgx', other);
      expect((claimsOf(mod, 'sgx').body as Claims).mr_signer).toBe(body.mr_signer);
      expect(mod['ear.status']).not.toBe('affirming');
      expectDenied(await guest('sgx', ['get-resource', '--path', path], { variant: other }));
    }, 240_000);

    it('a tampered quote is refused at attestation (dcap.quote.signature)', async () => {
      const { path } = await prepare('sgx');
      const { result, log } = await logDuring(() => guest('sgx', ['get-resource', '--path', path], { variant: `tampered-${randomBytes(4).toString('hex')}`, tamper: true }));
      expect(result.code, describeCli(result)).not.toBe(0);
      expect(result.stdout.trim()).toBe('');
      expect(log).toMatch(/dcap\.quote\.signature/);
    }, 120_000);

    it('a quote bound to another nonce is refused at attestation (sgx.report_data)', async () => {
      const { path } = await prepare('sgx');
      const other = createHash('sha512').update('another session').digest('hex');
      const { result, log } = await logDuring(() => guest('sgx', ['get-resource', '--path', path], { variant: `nonce-${randomBytes(4).toString('hex')}`, reportData: other }));
      expect(result.code, describeCli(result)).not.toBe(0);
      expect(log).toMatch(/sgx\.report_data/);
    }, 120_000);
  });

  describe('tpm', () => {
    it('a host is denied until its AK is among trusted_aks and its PCR11 registered, then appraises affirming and gets the secret', async () => {
      const { path, secret } = await prepare('tpm');
      const variant = `release-${randomBytes(4).toString('hex')}`;
      const before = await cpu0('tpm', variant);
      const tpm = claimsOf(before, 'tpm');
      const akPublic = await evidence.akPublic(variant);
      expect(tpm.ak_public).toBe(akPublic);
      expect(before['ear.status']).not.toBe('affirming');
      expectDenied(await guest('tpm', ['get-resource', '--path', path], { variant }));

      await setReferenceValue('trusted_aks', akPublic);
      await setReferenceValue('tpm_pcr11', String(tpm.pcr11));
      const after = await cpu0('tpm', variant);
      expect(after['ear.status'], JSON.stringify(after['ear.trustworthiness-vector'])).toBe('affirming');
      expect(expectOk(await guest('tpm', ['get-resource', '--path', path], { variant })).trim()).toBe(secret.toString('base64'));
    }, 240_000);

    it('an AK outside trusted_aks is denied with the same PCRs while the trusted AK is released', async () => {
      const { path, secret } = await prepare('tpm');
      const trusted = `trusted-${randomBytes(4).toString('hex')}`;
      const untrusted = `untrusted-${randomBytes(4).toString('hex')}`;
      const tpm = claimsOf(await cpu0('tpm', trusted), 'tpm');
      await setReferenceValue('trusted_aks', await evidence.akPublic(trusted));
      await setReferenceValue('tpm_pcr11', String(tpm.pcr11));
      expect(expectOk(await guest('tpm', ['get-resource', '--path', path], { variant: trusted })).trim()).toBe(secret.toString('base64'));
      const mod = await cpu0('tpm', untrusted);
      expect(claimsOf(mod, 'tpm').pcr11).toBe(tpm.pcr11);
      expect(mod['ear.status']).not.toBe('affirming');
      expectDenied(await guest('tpm', ['get-resource', '--path', path], { variant: untrusted }));
    }, 240_000);

    it('a tampered quote is refused at attestation (tpm_quote.signature)', async () => {
      const { path } = await prepare('tpm');
      const { result, log } = await logDuring(() => guest('tpm', ['get-resource', '--path', path], { variant: `tampered-${randomBytes(4).toString('hex')}`, tamper: true }));
      expect(result.code, describeCli(result)).not.toBe(0);
      expect(result.stdout.trim()).toBe('');
      expect(log).toMatch(/tpm_quote\.signature/);
    }, 120_000);

    it('a quote bound to another nonce is refused at attestation (tpm_quote.nonce)', async () => {
      const { path } = await prepare('tpm');
      const other = createHash('sha256').update('another session').digest('hex');
      const { result, log } = await logDuring(() => guest('tpm', ['get-resource', '--path', path], { variant: `nonce-${randomBytes(4).toString('hex')}`, reportData: other }));
      expect(result.code, describeCli(result)).not.toBe(0);
      expect(log).toMatch(/tpm_quote\.nonce/);
    }, 120_000);
  });
});
