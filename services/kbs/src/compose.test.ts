/**
 * Invariant: with `insecure_http = false` the KBS serves HTTPS with the configured key and
 * certificate (and refuses to start without readable ones); several sockets share one state;
 * a remote RVPS (`rvps_config.type = "GrpcRemote"`) that does not answer yet does not stop the
 * start: the KBS reports not ready, naming it, and becomes ready without a restart once it answers.
 */
import 'reflect-metadata';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { parse as parseToml } from 'smol-toml';
import * as grpc from '@grpc/grpc-js';
import { createBuiltinRvps } from '@trustee/rvps-core';
import { referenceValueServiceDefinition, type ReferenceValueQueryRequest } from '@trustee/grpc';
import { createLogger } from '@trustee/log';
import { MemoryStore } from '@trustee/storage';
import { afterAll, expect, test } from 'vitest';
import { composeKbs, sessionDatabasePath } from './compose.ts';
import { parseKbsConfig } from './config.ts';
import { devConfigToml, prepareDevEnvironment } from './devSetup.ts';
import { cleanupHarnessDirs, Guest, startHarness, writeTempFile } from './testing/fixture.ts';
import { selfSignedCert } from './testing/selfSignedCert.ts';

afterAll(() => cleanupHarnessDirs());

async function tlsMaterial(): Promise<{ keyPath: string; certPath: string; certPem: string }> {
  const { keyPem, certPem } = await selfSignedCert('localhost');
  return { keyPath: writeTempFile('tls.key', keyPem), certPath: writeTempFile('tls.crt', certPem), certPem };
}

async function devRaw(): Promise<Record<string, Record<string, unknown>>> {
  const paths = await prepareDevEnvironment(mkdtempSync(join(tmpdir(), 'kbs-compose-')));
  const raw = parseToml(devConfigToml(paths)) as Record<string, Record<string, unknown>>;
  delete raw['storage_backend'];
  return raw;
}

test('serves HTTPS on every configured socket with the configured certificate', async () => {
  const tls = await tlsMaterial();
  const raw = await devRaw();
  raw['http_server'] = { sockets: ['127.0.0.1:0', '127.0.0.1:0'], insecure_http: false, private_key: tls.keyPath, certificate: tls.certPath };
  const config = parseKbsConfig(raw);
  // devRaw drops [storage_backend]: the only warning is the loud Memory one.
  expect(config.warnings).toEqual([expect.stringMatching(/^WARNING: no storage_backend.storage_type is configured, so storage is Memory/)]);
  const kbs = await composeKbs(config);
  try {
    expect(kbs.apps).toHaveLength(2);
    for (const app of kbs.apps) {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const address = app.server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      const status = await new Promise<number>((resolve, reject) => {
        request({ host: '127.0.0.1', port, path: '/healthz', ca: tls.certPem }, (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
      expect(status).toBe(200);
    }
  } finally {
    await kbs.close();
  }
});

test('unreadable TLS files fail at startup with the config path', async () => {
  const raw = await devRaw();
  raw['http_server'] = { insecure_http: false, private_key: '/nonexistent/key.pem', certificate: '/nonexistent/cert.pem' };
  await expect(composeKbs(parseKbsConfig(raw))).rejects.toThrow('http_server.private_key: cannot read /nonexistent/key.pem');
});

test('a GrpcRemote RVPS that does not answer yet: the KBS starts not ready and becomes ready once it answers', async () => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const raw = await devRaw();
  (raw['attestation_service'] ?? {})['rvps_config'] = { type: 'GrpcRemote', address: `127.0.0.1:${port}` };
  const kbs = await composeKbs(parseKbsConfig(raw));
  // A real gRPC RVPS endpoint over the built-in RVPS core, started late on the address the KBS dials.
  const rvps = createBuiltinRvps(new MemoryStore());
  const server = new grpc.Server();
  server.addService(referenceValueServiceDefinition, {
    QueryReferenceValue: (call: grpc.ServerUnaryCall<ReferenceValueQueryRequest, object>, callback: grpc.sendUnaryData<object>) => {
      rvps.query(call.request.reference_value_id).then(
        (value) => callback(null, value === undefined ? {} : { reference_value_results: JSON.stringify(value) }),
        (error: unknown) => callback({ code: grpc.status.INTERNAL, details: (error as Error).message }),
      );
    },
  } as unknown as grpc.UntypedServiceImplementation);
  try {
    const report = await kbs.readiness.report();
    expect(report.ready).toBe(false);
    expect(report.dependencies).toContainEqual(expect.objectContaining({ name: `reference value provider http://127.0.0.1:${port}`, ready: false }));
    await new Promise<number>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) => (error === null ? resolve(bound) : reject(error))));
    await expect.poll(async () => (await kbs.readiness.report()).ready, { timeout: 10_000, interval: 250 }).toBe(true);
  } finally {
    await kbs.close();
    server.forceShutdown();
  }
}, 20_000);

test.each([
  ['/var/lib/kbs/kbs.sqlite', '/var/lib/kbs/kbs.sessions.sqlite'],
  ['data/trustee.db', 'data/trustee.sessions.db'],
  ['/var/lib/kbs.d/state', '/var/lib/kbs.d/state.sessions'],
  ['/var/lib/kbs/.hidden', '/var/lib/kbs/.hidden.sessions'],
  [':memory:', ':memory:'],
])('sessions live in their own SQLite file: %s → %s', (path, expected) => {
  expect(sessionDatabasePath(path)).toBe(expected);
});

test('the builtin attestation service logs through the KBS logger: a token signer whose certificate does not certify its key is warned about', async () => {
  const raw = await devRaw();
  const service = raw['attestation_service'] as Record<string, Record<string, Record<string, unknown>>>;
  const signer = service['attestation_token_broker']?.['signer'];
  if (signer === undefined) throw new Error('dev config has no token signer');
  // A certificate for another key than the signer's.
  signer['cert_path'] = (await tlsMaterial()).certPath;
  const lines: string[] = [];
  const log = createLogger({ stream: { write: (line: string) => void lines.push(line) } });
  const kbs = await composeKbs(parseKbsConfig(raw), { store: new MemoryStore(), log });
  try {
    await expect.poll(() => lines.map((line) => JSON.parse(line) as { level: string; msg: string }).filter((line) => line.level === 'warn').map((line) => line.msg).join('\n')).toMatch(
      /the first certificate of cert_path does not certify the signing key/,
    );
  } finally {
    await kbs.close();
  }
});

test('the builtin attestation service logs through the calling request\'s logger: its warnings carry that /attest request\'s id', async () => {
  const lines: string[] = [];
  const h = await startHarness({ logLines: lines, installTestPolicy: false });
  try {
    // A CPU policy without trust_claims: the AS warns once per appraisal (every trust claim is 0).
    await h.kbs.attestation?.setPolicy('default_cpu', 'package policy\n\nimport rego.v1\n\nexecutables := 3\n');
    const parsed = (): Array<Record<string, unknown>> => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const warnings = (): Array<Record<string, unknown>> => parsed().filter((line) => line['level'] === 'warn' && String(line['msg']).includes('defines no trust_claims rule'));
    for (const guest of [new Guest(h.app), new Guest(h.app)]) {
      await guest.auth();
      const response = await guest.attest();
      expect(response.statusCode, response.body).toBe(200);
    }
    // A refused /attest (no cookie) is logged by the KBS itself with its own request id.
    expect((await new Guest(h.app).attest(undefined, null)).statusCode).toBe(401);
    const refused = parsed().find((line) => line['reason'] === 'no kbs-session-id cookie');
    const ids = [...warnings().map((line) => line['reqId']), refused?.['reqId']];
    expect(ids, lines.join('')).toHaveLength(3);
    // Each line names the request that caused it (the KBS's `<process tag>-<counter>` ids): the
    // two attests and the refusal are three requests, three ids.
    for (const id of ids) expect(id).toMatch(/^[0-9a-z]+-[0-9a-z]+$/);
    expect(new Set(ids).size).toBe(3);
  } finally {
    await h.close();
  }
});
