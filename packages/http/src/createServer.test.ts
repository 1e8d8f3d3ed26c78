import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from './createServer.ts';

describe('createServer', () => {
  let dir: string;
  let tls: { key: Buffer; cert: Buffer };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'trustee-http-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    tls = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves plain HTTP with fastify\'s connection defaults and no HEAD routes', async () => {
    const app = createServer({ headersTimeout: 7_000 });
    app.get('/x', async () => 'plain');
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      expect(app.server.keepAliveTimeout).toBe(72_000);
      expect(app.server.requestTimeout).toBe(0);
      expect(app.server.headersTimeout).toBe(7_000);
      const { port } = app.server.address() as AddressInfo;
      expect(await (await fetch(`http://127.0.0.1:${port}/x`)).text()).toBe('plain');
      expect((await fetch(`http://127.0.0.1:${port}/x`, { method: 'HEAD' })).status).toBe(404);
    } finally {
      await app.close();
    }
  });

  it('serves HTTPS with the given TLS settings from the same code path', async () => {
    const app = createServer({ tls: { ...tls, minVersion: 'TLSv1.3' }, requestTimeout: 5_000, keepAliveTimeout: 9_000 });
    app.get('/x', async () => 'secure');
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      expect(app.server.requestTimeout).toBe(5_000);
      expect(app.server.keepAliveTimeout).toBe(9_000);
      const { port } = app.server.address() as AddressInfo;
      const get = (maxVersion: 'TLSv1.2' | 'TLSv1.3') =>
        new Promise<string>((resolve, reject) => {
          const agent = new Agent({ ca: tls.cert, maxVersion });
          request({ host: '127.0.0.1', port, path: '/x', agent }, (response) => {
            let text = '';
            response.on('data', (chunk: Buffer) => (text += chunk.toString()));
            response.on('end', () => resolve(text));
          })
            .on('error', reject)
            .end();
        });
      expect(await get('TLSv1.3')).toBe('secure');
      await expect(get('TLSv1.2')).rejects.toThrow();
    } finally {
      await app.close();
    }
  });
});
