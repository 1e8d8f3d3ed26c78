/**
 * Invariant: hardware evidence (snp, tdx, az-snp-vtpm, az-tdx-vtpm) runs the whole RCAR flow over
 * real processes — the kbs-client CLI with `--tee T --evidence-command`, the KBS with its builtin
 * AS — and is trusted only through `verifier_config.*.trust_anchors_path`: the test PKI's
 * evidence attests and carries its claims under upstream's key, is released by the default
 * resource policy, becomes `affirming` once its reference values are registered; it is refused
 * when bound to the wrong nonce or init-data, when signed by another PKI, and by a KBS that
 * keeps the default roots.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { describeCli, type CliResult } from './harness/cli.ts';
import { kbsConfigToml } from './harness/configs.ts';
import { claimAt, DEFAULT_CPU_REFERENCE_VALUES, HARDWARE_TEES, verifierConfigToml, type HardwareTee } from './harness/evidenceFactory.ts';
import { runKbsClient, startEvidenceServer, type EvidenceServer } from './harness/evidenceServer.ts';
import { startKbs, type KbsProcess } from './harness/kbsProcess.ts';
import { writeAdminKeys } from './harness/keys.ts';
import { capabilities } from './harness/paths.ts';
import { makeTempDir, removeTempDir } from './harness/tempDir.ts';
import { decodeJwt } from './independent/guest.ts';
import { mintAdminToken } from './independent/operator.ts';

type Claims = Record<string, unknown>;

const SECRET = Buffer.from('hardware-evidence secret', 'utf8');
const RESOURCE = 'default/key/hardware';
const INIT_DATA = 'version = "0.1.0"\nalgorithm = "sha256"\n\n[data]\n"policy.rego" = \'\'\'\npackage agent_policy\ndefault AllowRequestsFailingPolicy := true\n\'\'\'\n';
const TEES: readonly HardwareTee[] = HARDWARE_TEES;

function cpu0(token: string): Claims {
  const submods = decodeJwt(token).payload.submods as Record<string, Claims>;
  expect(Object.keys(submods)).toEqual(['cpu0']);
  return submods.cpu0 as Claims;
}

function expectOk(result: CliResult): string {
  expect(result.code, describeCli(result)).toBe(0);
  return result.stdout;
}

function expectRefused(result: CliResult, pattern: RegExp): void {
  expect(result.code, describeCli(result)).not.toBe(0);
  expect(result.stdout.trim()).toBe('');
  expect(result.stderr).toMatch(pattern);
}

/** The reason the KBS logged for its latest AttestationError (the client only sees a generic detail). */
function lastRefusalReason(server: KbsProcess): string {
  const lines = server.output().split('\n').filter((line) => line.includes('"code":"AttestationError"'));
  const last = lines.at(-1);
  if (last === undefined) return '';
  return String((JSON.parse(last) as { reason?: unknown }).reason ?? '');
}

/** Runs CLI commands a few at a time (2 cores are shared with the KBS). */
async function inBatches<T>(items: readonly T[], size: number, run: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(run));
}

describe.skipIf(!capabilities.kbs || !capabilities.cli)('hardware evidence over RCAR with test trust anchors (KBS + kbs-client processes)', () => {
  let dir: string;
  let trusted: EvidenceServer;
  let rogue: EvidenceServer;
  let kbs: KbsProcess;
  let untrustingKbs: KbsProcess;
  let adminTokenFile: string;
  const firstClaims = new Map<HardwareTee, Claims>();

  const cli = (url: string, args: readonly string[]): Promise<CliResult> => runKbsClient(['--url', url, ...args], { home: dir });
  const config = (args: readonly string[]): Promise<CliResult> => cli(kbs.url, ['config', '--admin-token-file', adminTokenFile, ...args]);
  const guest = (tee: HardwareTee, command: string, args: readonly string[], url = kbs.url): Promise<CliResult> =>
    cli(url, [...args, '--tee', tee, '--evidence-command', command, '--rcar-attempts', '1']);

  beforeAll(async () => {
    dir = makeTempDir('trustee-hw-');
    const trustedDir = join(dir, 'anchors');
    const rogueDir = join(dir, 'rogue');
    mkdirSync(trustedDir);
    mkdirSync(rogueDir);
    [trusted, rogue] = await Promise.all([startEvidenceServer(trustedDir), startEvidenceServer(rogueDir)]);
    const admin = writeAdminKeys(dir);
    const base = kbsConfigToml({ adminPublicKeyPath: admin.publicKeyPath, storage: { kind: 'Memory' }, tokenTrust: { kind: 'insecure-header-jwk' } });
    const kbsDir = join(dir, 'kbs');
    const untrustingDir = join(dir, 'kbs-default-roots');
    mkdirSync(kbsDir);
    mkdirSync(untrustingDir);
    [kbs, untrustingKbs] = await Promise.all([
      startKbs(base + verifierConfigToml(trusted, { trustAnchors: true }), { dir: kbsDir }),
      startKbs(base + verifierConfigToml(trusted, { trustAnchors: false }), { dir: untrustingDir }),
    ]);
    adminTokenFile = join(dir, 'admin-token');
    writeFileSync(adminTokenFile, `${mintAdminToken(admin.privateKey)}\n`);
    const secretFile = join(dir, 'secret.bin');
    writeFileSync(secretFile, SECRET);
    expectOk(await config(['set-resource', '--path', RESOURCE, '--resource-file', secretFile]));
  }, 180_000);

  afterAll(async () => {
    await Promise.all([kbs?.stop(), untrustingKbs?.stop(), trusted?.stop(), rogue?.stop()]);
    if (dir !== undefined) removeTempDir(dir);
  });

  it('warns loudly that non-default trust anchors are in use', () => {
    expect(kbs.output()).toMatch(/NON-DEFAULT AMD trust anchors/);
    expect(kbs.output()).toMatch(/NON-DEFAULT Intel root CAs/);
    expect(untrustingKbs.output()).not.toMatch(/NON-DEFAULT/);
  });

  it.each(TEES)('%s: attest issues an EAR token with the claims under upstream\'s key, not affirming without reference values', async (tee) => {
    const token = expectOk(await guest(tee, trusted.command(tee), ['attest'])).trim();
    const submod = cpu0(token);
    const evidence = submod['ear.veraison.annotated-evidence'] as Claims;
    expect(Object.keys(evidence)).toContain(tee);
    const claims = evidence[tee] as Claims;
    expect(typeof claims).toBe('object');
    firstClaims.set(tee, claims);
    expect(submod['ear.status']).not.toBe('affirming');
  }, 120_000);

  it.each(TEES)('%s: the default resource policy releases the secret (hardware evidence is not sample)', async (tee) => {
    expectOk(await config(['set-resource-policy', '--default']));
    const stdout = expectOk(await guest(tee, trusted.command(tee), ['get-resource', '--path', RESOURCE]));
    expect(stdout.trim()).toBe(SECRET.toString('base64'));
  }, 120_000);

  it.each(TEES)('%s: init-data given to get-resource is bound into the evidence and the token', async (tee) => {
    const stdout = expectOk(await guest(tee, trusted.command(tee), ['get-resource', '--path', RESOURCE, INIT_DATA]));
    expect(stdout.trim()).toBe(SECRET.toString('base64'));
    const token = expectOk(await guest(tee, trusted.command(tee), ['attest', INIT_DATA])).trim();
    const evidence = cpu0(token)['ear.veraison.annotated-evidence'] as Claims;
    expect(JSON.stringify(evidence)).toMatch(/init_data/);
  }, 120_000);

  it.each(TEES)('%s: evidence bound to other init-data is refused', async (tee) => {
    const wrong = guest(tee, trusted.command(tee, { initData: 'aa'.repeat(32) }), ['attest', INIT_DATA]);
    expectRefused(await wrong, /AttestationError/);
    expect(lastRefusalReason(kbs)).toMatch(new RegExp(`verification request 0 \\(${tee}\\): .*(init_data|host_data)`));
  }, 120_000);

  it.each(TEES)('%s: evidence bound to another nonce is a 401 AttestationError', async (tee) => {
    const result = await guest(tee, trusted.command(tee, { reportData: '00'.repeat(48) }), ['attest']);
    expectRefused(result, /AttestationError/);
    expect(result.stderr).toMatch(/401/);
    expect(lastRefusalReason(kbs)).toMatch(/report_data|report data|nonce/i);
  }, 120_000);

  it.each(TEES)('%s: evidence signed by another test PKI is refused', async (tee) => {
    expectRefused(await guest(tee, rogue.command(tee), ['attest']), /AttestationError/);
    expect(lastRefusalReason(kbs)).toMatch(/verification_failed/);
    expect(lastRefusalReason(kbs)).not.toMatch(/report_data|init_data|nonce/i);
  }, 120_000);

  it.each(TEES)('%s: a KBS with only the default roots refuses factory evidence', async (tee) => {
    expectRefused(await guest(tee, trusted.command(tee), ['attest'], untrustingKbs.url), /AttestationError/);
    expect(lastRefusalReason(untrustingKbs)).toMatch(/verification_failed/);
    expect(lastRefusalReason(untrustingKbs)).not.toMatch(/report_data|init_data|nonce/i);
  }, 120_000);

  it.each(TEES)('%s: the affirming resource policy refuses evidence without reference values', async (tee) => {
    expectOk(await config(['set-resource-policy', '--affirming']));
    expectRefused(await guest(tee, trusted.command(tee), ['get-resource', '--path', RESOURCE]), /PolicyDeny|denied/i);
  }, 120_000);

  it('registers the reference values with config set-sample-reference-value', async () => {
    const registrations = new Map<string, string[]>();
    for (const tee of TEES) {
      const claims = firstClaims.get(tee);
      expect(claims, `no claims recorded for ${tee}`).toBeDefined();
      for (const { id, path, kind } of DEFAULT_CPU_REFERENCE_VALUES[tee]) {
        const value = claimAt(claims as Claims, path);
        expect(['string', 'number', 'boolean'], `${tee} claim ${path}`).toContain(typeof value);
        const args = ['set-sample-reference-value', id, String(value)];
        if (kind === 'integer') args.push('--as-integer');
        registrations.set(id, args);
      }
    }
    await inBatches([...registrations.values()], 4, async (args) => void expectOk(await config(args)));
  }, 300_000);

  it.each(TEES)('%s: with reference values the status is affirming and the affirming policy releases the secret', async (tee) => {
    const token = expectOk(await guest(tee, trusted.command(tee), ['attest'])).trim();
    expect(cpu0(token)['ear.status'], JSON.stringify(cpu0(token)['ear.trustworthiness-vector'])).toBe('affirming');
    const stdout = expectOk(await guest(tee, trusted.command(tee), ['get-resource', '--path', RESOURCE]));
    expect(stdout.trim()).toBe(SECRET.toString('base64'));
  }, 120_000);
});
