/**
 * Invariant: `pnpm as` as a process prints one `listening grpc on HOST:PORT` and one
 * `listening rest on http(s)://HOST:PORT` line with the ports actually bound (port 0 asked),
 * serves both transports (with TLS on both when -t/-k are given), and exits 0 on SIGTERM.
 */
import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as x509 from '@peculiar/x509';
import { describe, expect, test } from 'vitest';
import { HealthClient } from '@trustee/grpc';
import { rpc } from './testing/fixtures.ts';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

interface Started {
  readonly child: ChildProcess;
  readonly grpc: string;
  readonly rest: string;
  readonly stderr: () => string;
}

function start(args: readonly string[]): Promise<Started> {
  const child = spawn(join(repo, 'node_modules/.bin/tsx'), [join(repo, 'services/as/src/main.ts'), ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((done, fail) => {
    const timer = setTimeout(() => {
      // Not left running when the start is too slow (tsx forwards SIGTERM to the node process it runs).
      child.kill('SIGTERM');
      fail(new Error(`no listening lines; stderr: ${stderr}`));
    }, 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const grpcLine = /listening grpc on (\S+)\n/.exec(stdout);
      const restLine = /listening rest on (\S+)\n/.exec(stdout);
      if (grpcLine?.[1] !== undefined && restLine?.[1] !== undefined) {
        clearTimeout(timer);
        done({ child, grpc: grpcLine[1], rest: restLine[1], stderr: () => stderr });
      }
    });
    child.on('exit', (code) => fail(new Error(`exited ${code}: ${stderr}`)));
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((done) => {
    child.once('exit', (code) => done(code));
    // tsx forwards the signal to the node process it runs.
    child.kill('SIGTERM');
  });
}

async function selfSignedLocalhost(): Promise<{ cert: string; key: string }> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=localhost',
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + 24 * 3600_000),
    keys,
    signingAlgorithm: alg,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }, { type: 'dns', value: 'localhost' }])],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64').replace(/(.{64})/g, '$1\n');
  return { cert: cert.toString('pem'), key: `-----BEGIN PRIVATE KEY-----\n${pkcs8}\n-----END PRIVATE KEY-----\n` };
}

describe('pnpm as (process)', () => {
  test('plain: both listeners on ephemeral ports, SIGTERM exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'as-main-'));
    writeFileSync(join(dir, 'as-config.json'), JSON.stringify({ storage_backend: { storage_type: 'Sqlite', backends: { sqlite: { path: join(dir, 'as.sqlite') } } } }));
    const as = await start(['--config-file', join(dir, 'as-config.json'), '--socket', '127.0.0.1:0', '--rest-socket', '127.0.0.1:0']);
    try {
      expect(as.grpc).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
      expect(as.rest).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
      expect((await fetch(`${as.rest}/healthz`)).status).toBe(200);
      const jwks = (await (await fetch(`${as.rest}/.well-known/jwks.json`)).json()) as { keys: Array<{ kty: string; crv: string }> };
      expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256' });
      const health = new HealthClient(as.grpc, grpc.credentials.createInsecure());
      expect(await rpc(health, 'Check', { service: '' })).toEqual({ status: 'SERVING' });
      health.close();
      expect(as.stderr()).not.toMatch(/WARNING: storage_backend is Memory/);
    } finally {
      expect(await stop(as.child)).toBe(0);
    }
  });

  test('TLS on both listeners with -t/-k; Memory storage warns loudly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'as-tls-'));
    const { cert, key } = await selfSignedLocalhost();
    writeFileSync(join(dir, 'cert.pem'), cert);
    writeFileSync(join(dir, 'key.pem'), key);
    const as = await start(['-s', '127.0.0.1:0', '--rest-socket', '127.0.0.1:0', '-t', join(dir, 'cert.pem'), '-k', join(dir, 'key.pem')]);
    try {
      expect(as.rest).toMatch(/^https:\/\//);
      const status = await new Promise<number>((done, fail) => {
        const req = httpsRequest(`${as.rest}/healthz`, { ca: cert }, (res) => {
          res.resume();
          done(res.statusCode ?? 0);
        });
        req.on('error', fail);
        req.end();
      });
      expect(status).toBe(200);
      const health = new HealthClient(as.grpc, grpc.credentials.createSsl(Buffer.from(cert)));
      expect(await rpc(health, 'Check', { service: '' })).toEqual({ status: 'SERVING' });
      health.close();
      expect(as.stderr()).toMatch(/WARNING: storage_backend is Memory/);
    } finally {
      expect(await stop(as.child)).toBe(0);
    }
  });

  test('-t without -k is a usage error (exit 2)', async () => {
    const child = spawn(join(repo, 'node_modules/.bin/tsx'), [join(repo, 'services/as/src/main.ts'), '-t', 'cert.pem'], { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((done) => child.once('exit', done));
    expect(code).toBe(2);
    expect(stderr).toMatch(/--https-pubkey-cert and --https-prikey must be given together/);
  });
});
