/**
 * Invariant: a KBS whose `worker_count` is not set runs one node:cluster worker per core, and
 * the workers behave as one KBS: a session opened by one worker is attested by another and
 * its resource released by either, and a challenge sent to two workers at once is verified
 * at most once (sessions and the single-use claim live in the shared store).
 *
 * Which worker served a request is read from the per-process session gauges of /metrics:
 * `kbs_sessions_open` counts the sessions a process opened (/auth), and
 * `kbs_sessions_attested_cached` the Attested sessions it holds in memory (/attest).
 * Every request of the test guest uses a new connection, which the cluster primary hands to
 * the workers in turn.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certChainKbsConfig } from './harness/certChainKbs.ts';
import { sqliteStorage } from './harness/configs.ts';
import { describeResponse, expectErrorInformation } from './harness/errors.ts';
import { startKbs, type KbsProcess } from './harness/kbsProcess.ts';
import { capabilities } from './harness/paths.ts';
import { makeTempDir, removeTempDir } from './harness/tempDir.ts';
import { IndependentGuest } from './independent/guest.ts';
import { httpRequest } from './independent/http.ts';
import { IndependentOperator, POLICIES } from './independent/operator.ts';
import { generateTeeKey } from './independent/teeKey.ts';

const RESOURCE = 'default/key/workers';
const cores = availableParallelism();

/** Pids under `pid` (children of every thread, recursively). */
function descendants(pid: number): number[] {
  const out: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter((id) => id !== '')) {
      out.push(Number(child), ...descendants(Number(child)));
    }
  }
  return out;
}

/** The session gauges of whichever worker answers this (new) connection. */
async function workerGauges(url: string): Promise<{ open: number; attested: number }> {
  const text = (await httpRequest(url, { method: 'GET', path: '/metrics' })).body.toString('utf8');
  const value = (name: string): number => Number(/^(\S+) (\S+)$/m.exec(text.split('\n').find((line) => line.startsWith(`${name} `)) ?? '')?.[2] ?? Number.NaN);
  return { open: value('kbs_sessions_open'), attested: value('kbs_sessions_attested_cached') };
}

describe.skipIf(!capabilities.kbs || !capabilities.sqliteStorage || !existsProc())('KBS with worker_count unset (one worker per core)', () => {
  let dir: string;
  let kbs: KbsProcess;
  let operator: IndependentOperator;

  beforeAll(async () => {
    dir = makeTempDir();
    const { toml: config, adminToken } = await certChainKbsConfig(dir, sqliteStorage(dir), { workerCount: 'unset' });
    expect(config).not.toMatch(/worker_count/);
    kbs = await startKbs(config, { dir, startTimeoutMs: 120_000 });
    operator = new IndependentOperator(kbs.url, adminToken);
    expect((await operator.setResource(RESOURCE, Buffer.from('from-any-worker'))).status).toBe(200);
    expect((await operator.setResourcePolicy(POLICIES.allowAll)).status).toBe(200);
  }, 300_000);

  afterAll(async () => {
    expect(await kbs?.stop()).toBe(0);
    if (dir !== undefined) removeTempDir(dir);
  });

  it('forks one worker per core', () => {
    const kbsProcesses = descendants(kbs.groupPid ?? 0).filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--config-file');
      } catch {
        return false;
      }
    });
    // The primary plus its workers (a single-core machine serves from the primary alone).
    expect(kbsProcesses.length).toBe(cores > 1 ? cores + 1 : 1);
  });

  it.skipIf(cores < 2)('attests on one worker a session another worker opened, and releases the resource', async () => {
    const guest = new IndependentGuest(kbs.url, generateTeeKey('P-256'));
    expect((await guest.auth()).status).toBe(200);
    const attest = await guest.attest();
    expect(attest.status, describeResponse(attest)).toBe(200);
    // Find the worker that opened the session and the one that attested it: different processes.
    const seen: Array<{ open: number; attested: number }> = [];
    for (let i = 0; i < 4 * cores; i += 1) seen.push(await workerGauges(kbs.url));
    expect(seen).toContainEqual({ open: 1, attested: 0 });
    expect(seen).toContainEqual({ open: 0, attested: 1 });
    for (let i = 0; i < 2 * cores; i += 1) {
      const released = await guest.getResource(RESOURCE);
      expect(guest.decrypt(released).plaintext.toString(), `GET #${i}`).toBe('from-any-worker');
    }
  });

  it.skipIf(cores < 2)('verifies a challenge at most once when two workers receive the same /attest at once', async () => {
    for (let round = 0; round < 5; round += 1) {
      const first = new IndependentGuest(kbs.url, generateTeeKey('P-256'));
      expect((await first.auth()).status).toBe(200);
      const second = new IndependentGuest(kbs.url, first.teeKey);
      second.sessionId = first.sessionId;
      second.challenge = first.challenge;
      const body = first.buildAttestation();
      const [a, b] = await Promise.all([first.attest(body), second.attest(body)]);
      const ok = [a, b].filter((response) => response.status === 200);
      expect(ok.length, `${describeResponse(a)}\n${describeResponse(b)}`).toBeGreaterThanOrEqual(1);
      for (const response of [a, b]) if (response.status !== 200) expectErrorInformation(response, 401, 'AttestationError');
      // Both answered: the second one got the stored token of the first verification, not a new one.
      if (ok.length === 2) expect(first.token).toBe(second.token);
    }
  });
});

function existsProc(): boolean {
  try {
    readdirSync('/proc/self/task');
    return true;
  } catch {
    return false;
  }
}
