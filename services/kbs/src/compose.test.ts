/**
 * Invariant: with `insecure_http = false` the KBS serves HTTPS with the configured key and
 * certificate (and refuses to start without readable ones); several sockets share one state;
 * a remote RVPS (`rvps_config.type = "GrpcRemote"`) that does not answer stops the start with
 * the config path and the address.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import * as x509 from '@peculiar/x509';
import { parse as parseToml } from 'smol-toml';
import { afterAll, expect, test } from 'vitest';
import { composeKbs } from './compose.ts';
import { parseKbsConfig } from './config.ts';
import { devConfigToml, prepareDevEnvironment } from './devSetup.ts';
import { cleanupHarnessDirs, writeTempFile } from './testing/fixture.ts';

afterAll(() => cleanupHarnessDirs());

async function tlsMaterial(): Promise<{ keyPath: string; certPath: string; certPem: string }> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=localhost',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3600_000),
    keys,
    signingAlgorithm: algorithm,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }])],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  const certPem = cert.toString('pem');
  return {
    keyPath: writeTempFile('tls.key', `-----BEGIN PRIVATE KEY-----\n${pkcs8.replace(/.{64}/g, '$&\n')}\n-----END PRIVATE KEY-----\n`),
    certPath: writeTempFile('tls.crt', certPem),
    certPem,
  };
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
  expect(config.warnings).toEqual([]);
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

test('a GrpcRemote RVPS that does not answer fails the start, naming the config path and the address', async () => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const raw = await devRaw();
  (raw['attestation_service'] ?? {})['rvps_config'] = { type: 'GrpcRemote', address: `127.0.0.1:${port}` };
  await expect(composeKbs(parseKbsConfig(raw))).rejects.toThrow(`attestation_service.rvps_config.address: the RVPS at http://127.0.0.1:${port} does not answer`);
});
