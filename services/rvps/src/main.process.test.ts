/**
 * Invariant: `services/rvps/src/main.ts` (run through tsx) with port 0 prints the bound gRPC and REST
 * addresses, serves both, persists to SQLite across restarts, exits 0 on SIGTERM, and exits 1
 * with `error: …` on a broken config.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { request as httpsRequest } from 'node:https';
import { credentials, status } from '@grpc/grpc-js';
import { afterEach, describe, expect, test } from 'vitest';
import type { ReferenceValueQueryResponse } from '@trustee/grpc';
import { grpcCaller } from './testing/grpcCall.ts';
import { CORIM_DIGEST, corimMessage, sampleMessage } from './testing/messages.ts';
import { selfSignedServerCert } from './testing/selfSignedCert.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
// `node --import tsx` rather than the tsx CLI: the CLI is a parent process that relays signals,
// and a SIGTERM that races its relay set-up ends the child with 143 instead of a clean 0.
const tsxLoader = pathToFileURL(join(repoRoot, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const mainTs = join(repoRoot, 'services', 'rvps', 'src', 'main.ts');
const STARTUP_TIMEOUT_MS = 60_000;

interface Started {
  child: ChildProcess;
  grpcAddress: string;
  restUrl: string;
  stderr: () => string;
}

const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function spawnRvps(args: string[], cwd: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', tsxLoader, mainTs, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return child;
}

function startRvps(args: string[], cwd: string): Promise<Started> {
  const child = spawnRvps([...args, '-a', '127.0.0.1:0', '--rest-address', '127.0.0.1:0'], cwd);
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`rvps did not start: ${stderr}`)), STARTUP_TIMEOUT_MS);
    child.on('exit', (code) => reject(new Error(`rvps exited with ${code}: ${stderr}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const grpcLine = /listening grpc on (\S+)/.exec(stdout);
      const restLine = /listening rest on (\S+)/.exec(stdout);
      if (grpcLine?.[1] !== undefined && restLine?.[1] !== undefined) {
        clearTimeout(timer);
        resolve({ child, grpcAddress: grpcLine[1], restUrl: restLine[1], stderr: () => stderr });
      }
    });
  });
}

function exitCode(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

describe('rvps process', () => {
  test(
    'serves gRPC and REST, persists to SQLite across a SIGTERM restart',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'rvps-process-'));
      const configPath = join(dir, 'rvps.json');
      writeFileSync(configPath, JSON.stringify({ storage: { storage_type: 'Sqlite', backends: { sqlite: { path: join(dir, 'state', 'rvps.sqlite') } } } }));

      const first = await startRvps(['--config', configPath], dir);
      expect(first.grpcAddress).toMatch(/^127\.0\.0\.1:\d+$/);
      const client = grpcCaller(first.grpcAddress);
      await client.call('RegisterReferenceValue', { message: corimMessage() });
      client.close();
      const health = await fetch(`${first.restUrl}/healthz`);
      expect(await health.json()).toEqual({ status: 'SERVING' });
      first.child.kill('SIGTERM');
      expect(await exitCode(first.child)).toBe(0);

      const second = await startRvps(['-c', configPath], dir);
      const again = grpcCaller(second.grpcAddress);
      const response = await again.call<ReferenceValueQueryResponse>('QueryReferenceValue', { reference_value_id: 'Vendor/Board/kernel/digests' });
      again.close();
      expect(response.reference_value_results).toBe(JSON.stringify([CORIM_DIGEST]));
      const rest = await fetch(`${second.restUrl}/reference-value/Vendor/Board/kernel/digests`);
      expect(await rest.json()).toEqual([CORIM_DIGEST]);
      second.child.kill('SIGTERM');
      expect(await exitCode(second.child)).toBe(0);
    },
    3 * STARTUP_TIMEOUT_MS,
  );

  test(
    'a missing config file warns and uses ./data/rvps.sqlite',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'rvps-process-'));
      const started = await startRvps(['-c', join(dir, 'absent.json')], dir);
      expect(started.stderr()).toContain('not found: running with defaults');
      expect(existsSync(join(dir, 'data', 'rvps.sqlite'))).toBe(true);
      started.child.kill('SIGTERM');
      expect(await exitCode(started.child)).toBe(0);
    },
    2 * STARTUP_TIMEOUT_MS,
  );

  test(
    'with --tls-cert/--tls-key both transports speak TLS only',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'rvps-process-'));
      const { cert, key } = await selfSignedServerCert();
      writeFileSync(join(dir, 'cert.pem'), cert);
      writeFileSync(join(dir, 'key.pem'), key);
      writeFileSync(join(dir, 'rvps.json'), JSON.stringify({ storage: { storage_type: 'Memory' } }));
      const started = await startRvps(['-c', join(dir, 'rvps.json'), '--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem')], dir);
      expect(started.restUrl).toMatch(/^https:\/\//);
      const secure = grpcCaller(started.grpcAddress, credentials.createSsl(cert));
      await secure.call('RegisterReferenceValue', { message: sampleMessage({ tls: ['1'] }) });
      expect(await secure.call<ReferenceValueQueryResponse>('QueryReferenceValue', { reference_value_id: 'tls' })).toMatchObject({ reference_value_results: '["1"]' });
      secure.close();
      const plain = grpcCaller(started.grpcAddress);
      await expect(plain.call('QueryReferenceValue', { reference_value_id: 'tls' })).rejects.toMatchObject({ code: status.UNAVAILABLE });
      plain.close();
      const body = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest(`${started.restUrl}/reference-value/tls`, { ca: cert }, (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk.toString()));
          response.on('end', () => resolve(text));
        });
        req.on('error', reject);
        req.end();
      });
      expect(JSON.parse(body)).toEqual(['1']);
      started.child.kill('SIGTERM');
      expect(await exitCode(started.child)).toBe(0);
    },
    2 * STARTUP_TIMEOUT_MS,
  );

  test(
    'a broken config file stops startup',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'rvps-process-'));
      writeFileSync(join(dir, 'rvps.json'), '{"storage": {"storage_type": "Redsi"}}');
      const child = spawnRvps(['-c', join(dir, 'rvps.json'), '-a', '127.0.0.1:0'], dir);
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      expect(await exitCode(child)).toBe(1);
      expect(stderr).toContain('error: ');
      expect(stderr).toContain('storage.storage_type: unknown storage type "Redsi"');
    },
    STARTUP_TIMEOUT_MS,
  );
});
