/**
 * Invariant: `as collateral import|export` over many items draws "label done/total" on a terminal
 * (stdout is a TTY), ends with a summary that counts failures, names every failed item on stderr,
 * and draws nothing when stdout is not a TTY (scripts get only the one-line result, failures
 * still named on stderr).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { kdsHwid, nvidiaOcspKey, tcbPrefix } from '@trustee/verifiers';
import { createTestSnpReport } from '@trustee/verifiers/testing/snpFactory.ts';
import { createTestNvidiaPki } from '@trustee/verifiers/testing/nvidiaFactory.ts';
import { createTestOcspResponse, type TestIssuer } from '@trustee/verifiers/testing/nvidiaOcspFactory.ts';
import { runCollateral } from './collateralCli.ts';
import { terminalProgress } from './terminalProgress.ts';

class Capture extends Writable {
  text = '';
  constructor(readonly isTTY: boolean) {
    super();
  }
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

async function collateralDir(vceks: number): Promise<{ dir: string; config: string; input: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'as-progress-'));
  const config = join(dir, 'as-config.json');
  writeFileSync(config, JSON.stringify({ storage_backend: { storage_type: 'Sqlite', backends: { sqlite: { path: join(dir, 'as.sqlite') } } } }));
  const input = join(dir, 'in');
  for (let i = 0; i < vceks; i += 1) {
    const snp = await createTestSnpReport({ product: 'Milan', chipId: new Uint8Array(64).fill(i + 1) });
    const vcekDir = join(input, 'amd', 'vcek', kdsHwid('Milan', snp.report.chipId));
    mkdirSync(vcekDir, { recursive: true });
    writeFileSync(join(vcekDir, `${tcbPrefix(snp.report.reportedTcb)}_vcek.der`), snp.vek.der);
    if (i === 0) writeFileSync(join(vcekDir, 'notes_vcek.der'), 'not a certificate');
  }
  return { dir, config, input };
}

/** OCSP answers for the provisioned certificates of a test NVIDIA chain, named as export names them, plus one broken file. */
async function nvidiaOcspDir(input: string): Promise<void> {
  const pki = await createTestNvidiaPki();
  const ocspDir = join(input, 'nvidia', 'ocsp');
  mkdirSync(ocspDir, { recursive: true });
  for (const index of [1, 2, 3]) {
    const der = createTestOcspResponse({ issuer: { der: pki.chainDer[index + 1] as Uint8Array, keys: pki.keys[index + 1] as TestIssuer['keys'] }, answers: [{ certificate: pki.chainDer[index] as Uint8Array, status: 'good' }], thisUpdate: new Date(), nextUpdate: new Date(Date.now() + 86_400_000) });
    writeFileSync(join(ocspDir, `${nvidiaOcspKey(pki.chainDer[index] as Uint8Array, pki.chainDer[index + 1] as Uint8Array)}.ocsp`), der);
  }
  writeFileSync(join(ocspDir, 'stray.ocsp'), 'x');
}

describe('collateral progress', () => {
  test('on a terminal: done/total while importing and exporting, failures named', async () => {
    const { dir, config, input } = await collateralDir(3);
    const stdout = new Capture(true);
    const stderr = new Capture(false);
    expect(await runCollateral(['import', '--config-file', config, '--in', input], { stdout, stderr })).toBe(0);
    expect(stdout.text).toContain('\r\x1b[Kimporting collateral 4/4 done, 1 failed\n');
    expect(stdout.text).toMatch(/importing collateral [1-4]\/4/);
    expect(stdout.text).toMatch(/imported 3 AMD VCEK\(s\), 0 AMD chain\(s\), 0 Intel bundle\(s\)/);
    expect(stderr.text).toMatch(/^failed: vcek\/[0-9a-f]+\/notes_vcek\.der: not a VCEK in the expected layout\n$/);

    const out = new Capture(true);
    expect(await runCollateral(['export', '--config-file', config, '--out', join(dir, 'out')], { stdout: out, stderr })).toBe(0);
    expect(out.text).toContain('exporting collateral 3/3 done\n');
  });

  test('NVIDIA OCSP answers are imported and exported with the rest, progress counting them', async () => {
    const { dir, config, input } = await collateralDir(1);
    await nvidiaOcspDir(input);
    const stdout = new Capture(true);
    const stderr = new Capture(false);
    expect(await runCollateral(['import', '--config-file', config, '--in', input], { stdout, stderr })).toBe(0);
    expect(stdout.text).toContain('\r\x1b[Kimporting collateral 6/6 done, 2 failed\n');
    expect(stdout.text).toMatch(/imported 1 AMD VCEK\(s\), 0 AMD chain\(s\), 0 Intel bundle\(s\), 3 NVIDIA OCSP answer\(s\)/);
    expect(stderr.text).toMatch(/failed: NVIDIA OCSP stray\.ocsp: file name is not <issuer key hash>-<serial>\.ocsp\n/);
    const out = new Capture(true);
    expect(await runCollateral(['export', '--config-file', config, '--out', join(dir, 'out')], { stdout: out, stderr })).toBe(0);
    expect(out.text).toContain('exporting collateral 4/4 done\n');
    expect(out.text).toMatch(/exported 1 AMD VCEK\(s\), 0 AMD chain\(s\), 0 Intel bundle\(s\), 3 NVIDIA OCSP answer\(s\)/);
  });

  test('not a terminal: no progress drawing, the result line only, failures still named', async () => {
    const { config, input } = await collateralDir(2);
    const stdout = new Capture(false);
    const stderr = new Capture(false);
    expect(await runCollateral(['import', '--config-file', config, '--in', input], { stdout, stderr })).toBe(0);
    expect(stdout.text).toBe(`imported 2 AMD VCEK(s), 0 AMD chain(s), 0 Intel bundle(s), 0 NVIDIA OCSP answer(s) from ${input}\n`);
    expect(stderr.text).toMatch(/^failed: vcek\/[0-9a-f]+\/notes_vcek\.der: /);
  });

  test('redraws are throttled; the last item always draws', () => {
    let now = 0;
    const stdout = new Capture(true);
    const progress = terminalProgress({ stdout, stderr: new Capture(false) }, 'x', () => now);
    progress.total(1000);
    for (let i = 0; i < 1000; i += 1) {
      now += 1;
      progress.item(`item ${i}`);
    }
    const draws = stdout.text.split('\r').length - 1;
    expect(draws).toBeLessThan(40);
    expect(stdout.text).toContain('x 1000/1000 item 999');
    expect(progress.finish()).toEqual([]);
  });
});
