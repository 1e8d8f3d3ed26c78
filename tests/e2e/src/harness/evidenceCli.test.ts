/**
 * Invariant: `evidenceCli.ts --tee T --anchors-dir DIR REPORT_DATA [INIT_DATA]` prints evidence
 * that verifies under exactly the anchors it wrote into DIR and is bound to its arguments; a DIR
 * whose PKI is gone (server stopped) is refused rather than silently re-keyed, and malformed hex
 * is a usage error.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createAmdTrustAnchors, createSnpVerifier, splitPemBundle, type Json } from '@trustee/verifiers';
import { EVIDENCE_CLI } from './evidenceServer.ts';
import { REPO_ROOT } from './paths.ts';
import { makeTempDir, removeTempDir } from './tempDir.ts';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', EVIDENCE_CLI, ...args], { cwd: REPO_ROOT, timeout: 90_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

describe('evidenceCli', () => {
  const base = makeTempDir('trustee-evidence-cli-');
  const dir = join(base, 'anchors');
  afterAll(async () => {
    await run(['stop', '--anchors-dir', dir]);
    removeTempDir(base);
  });

  it('starts a server for an empty DIR and prints SNP evidence bound to the report data and init-data under the written anchors', async () => {
    const reportData = 'ab'.repeat(64);
    const initData = 'cd'.repeat(32);
    const result = await run(['--tee', 'snp', '--anchors-dir', dir, reportData, initData]);
    expect(result.code, result.stderr).toBe(0);
    const evidence = JSON.parse(result.stdout) as Json;
    const [ark, ask, asvk] = splitPemBundle(readFileSync(join(dir, 'amd-anchors.pem'), 'utf8'));
    expect(ark && ask && asvk).toBeTruthy();
    const verifier = createSnpVerifier({ trustAnchors: createAmdTrustAnchors([{ product: 'Milan', ark: ark as Uint8Array, ask: ask as Uint8Array, asvk: asvk as Uint8Array }]) });
    const context = { now: () => new Date(), collateral: {} };
    const [claims] = await verifier.evaluate(evidence, { reportData: Buffer.from(reportData, 'hex'), initDataDigest: Buffer.from(initData, 'hex') }, context);
    expect(claims?.teeClass).toBe('cpu');
    await expect(verifier.evaluate(evidence, { reportData: Buffer.alloc(64), initDataDigest: undefined }, context)).rejects.toThrow(/report_data|REPORT_DATA/i);
  }, 120_000);

  it.each(['tdx', 'az-snp-vtpm', 'az-tdx-vtpm'])('prints %s evidence from the same server', async (tee) => {
    const result = await run(['--tee', tee, '--anchors-dir', dir, '01'.repeat(48)]);
    expect(result.code, result.stderr).toBe(0);
    expect(typeof JSON.parse(result.stdout)).toBe('object');
  }, 60_000);

  it.each([
    [['--tee', 'snp', 'zz'], /REPORT_DATA_HEX must be/],
    [['--tee', 'sample', '00'], /unsupported tee/],
    [['00'], /--tee is required/],
  ])('refuses %j', async (args, message) => {
    const result = await run([...args.slice(0, -1), '--anchors-dir', dir, ...args.slice(-1)]);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
  }, 60_000);

  it('refuses a DIR whose server is gone instead of issuing evidence under a new PKI', async () => {
    expect((await run(['stop', '--anchors-dir', dir])).code).toBe(0);
    const result = await run(['--tee', 'snp', '--anchors-dir', dir, '00']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/is gone/);
  }, 60_000);
});
