/**
 * Invariant: `pnpm build` turns every service into JavaScript that plain node runs (no tsx, no
 * TypeScript at run time; Node 20 cannot even load a .ts module without a loader), and the
 * compiled KBS → AS → RVPS topology (the compose one) serves a guest and an operator: reference
 * values reach the RVPS through the KBS and the AS, the AS token affirms, the resource is
 * released. `NODE_ENV=production pnpm kbs|as|rvps|kbs-client` runs that compiled output.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startComposeStack, type ComposeStack } from './harness/composeStack.ts';
import { describeResponse, expectErrorInformation } from './harness/errors.ts';
import { useCompiledServices, type KbsProcess } from './harness/kbsProcess.ts';
import { REPO_ROOT, TSX_BIN } from './harness/paths.ts';
import { makeTempDir, removeTempDir } from './harness/tempDir.ts';
import { decodeJwt, IndependentGuest } from './independent/guest.ts';
import { IndependentOperator, POLICIES } from './independent/operator.ts';
import { generateTeeKey } from './independent/teeKey.ts';

const run = promisify(execFile);

describe('compiled runtime (pnpm build, plain node)', () => {
  let dir: string;
  let kbs: KbsProcess;
  let operator: IndependentOperator;
  let stack: ComposeStack | undefined;

  beforeAll(async () => {
    await run(TSX_BIN, [join(REPO_ROOT, 'scripts/build.ts')], { cwd: REPO_ROOT, timeout: 300_000 });
    useCompiledServices();
    dir = makeTempDir();
    stack = await startComposeStack(dir);
    ({ kbs } = stack);
    operator = new IndependentOperator(kbs.url, stack.adminToken);
  }, 400_000);

  afterAll(async () => {
    await stack?.stop();
    if (dir !== undefined) removeTempDir(dir);
  });

  it('compiles every package and service next to its sources', () => {
    for (const dir of ['protocol', 'rego', 'storage', 'grpc', 'attestation', 'verifiers', 'kbs-client', 'auth', 'akv']) {
      expect(existsSync(join(REPO_ROOT, 'packages', dir, 'dist/index.js')), dir).toBe(true);
    }
    for (const service of ['kbs', 'as', 'rvps']) expect(existsSync(join(REPO_ROOT, 'services', service, 'dist/main.js')), service).toBe(true);
    expect(existsSync(join(REPO_ROOT, 'packages/attestation/dist/policy/defaults/default_cpu.rego'))).toBe(true);
  });

  it('serves the compose flow from compiled processes: PolicyDeny, reference value via KBS → AS → RVPS, release', async () => {
    expect((await operator.setResource('default/key/compiled', Buffer.from('compiled secret'))).status).toBe(200);
    expect((await operator.setResourcePolicy(POLICIES.affirming)).status).toBe(200);
    const first = new IndependentGuest(kbs.url, generateTeeKey('P-256'));
    await first.rcar();
    expectErrorInformation(await first.getResource('default/key/compiled'), 401, 'PolicyDeny');
    for (const [name, value] of [['launch_digest', ['abcde']], ['svn', ['1']], ['major_version', 1], ['minimum_minor_version', 4]] as const) {
      const response = await operator.registerSampleReferenceValue(name, value);
      expect(response.status, describeResponse(response)).toBe(200);
    }
    const guest = new IndependentGuest(kbs.url, generateTeeKey('P-256'));
    const token = await guest.rcar();
    expect(decodeJwt(token).payload.iss).toBe('CoCo-Attestation-Service');
    expect(guest.decrypt(await guest.getResource('default/key/compiled')).plaintext.toString()).toBe('compiled secret');
  });

  it('NODE_ENV=production pnpm kbs|as|rvps|kbs-client runs the compiled entry points with plain node', async () => {
    for (const program of ['kbs', 'as', 'rvps', 'kbs-client']) {
      const { stdout, stderr } = await run('sh', ['scripts/run-service.sh', program, '--help'], { cwd: REPO_ROOT, timeout: 60_000, env: { ...process.env, NODE_ENV: 'production' } });
      expect(`${stdout}${stderr}`, program).toMatch(/usage/i);
    }
  });
});
