/**
 * Invariant (issue 8, the KBS findings): what one unauthenticated or hostile client sends to a real
 * KBS process fails safe — refused with the exact ErrorInformation, or bounded in memory and disk —
 * and never locks other guests out; a well-behaved guest beside a flood completes its flow with
 * p99 under 1 s.
 *
 * Two KBS processes: `A` with SQLite storage and the default client limits (sessions live 6 s),
 * `B` with LocalFs storage, small session caps, and the built-in default resource policy. Every
 * flood is bounded in count and time and stays on loopback; flooding clients use their own
 * loopback source addresses (127.0.0.2 …) so the KBS sees them as separate clients.
 */
import { spawn } from 'node:child_process';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { request as httpRequestRaw, type Agent } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certChainTrust, kbsConfigToml } from './harness/configs.ts';
import { describeResponse, ERROR_TYPE_PREFIX, expectErrorInformation } from './harness/errors.ts';
import { startKbs, type KbsProcess } from './harness/kbsProcess.ts';
import { writeAdminKeys, writeSignerChain, type AdminKeys, type SignerChain } from './harness/keys.ts';
import { capabilities } from './harness/paths.ts';
import { makeTempDir, removeTempDir } from './harness/tempDir.ts';
import { decodeJwt, IndependentGuest } from './independent/guest.ts';
import { es256HeaderJwk, signEs256Jwt, x5cFromPem } from './independent/jwt.ts';
import { IndependentOperator, mintAdminToken, POLICIES } from './independent/operator.ts';
import { generateTeeKey } from './independent/teeKey.ts';

const RESOURCE = 'default/key/hostile';
const SECRET = Buffer.from('hostile-suite secret', 'utf8');
/** Session lifetime of KBS A: 0.1 minutes. */
const SESSION_MS = 6_000;

interface Reply {
  readonly status: number;
  readonly body: string;
}

/** One HTTP request from a chosen loopback source address (the KBS keys its client limits on it). */
function request(baseUrl: string, options: { method: string; path: string; body?: string; localAddress?: string; agent?: Agent; headers?: Record<string, string> }): Promise<Reply> {
  const base = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { 'content-type': 'application/json', ...options.headers };
    if (options.body !== undefined) headers['content-length'] = Buffer.byteLength(options.body);
    const req = httpRequestRaw(
      { host: base.hostname, port: base.port, method: options.method, path: options.path, headers, agent: options.agent ?? false, ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }) },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    req.setTimeout(60_000, () => req.destroy(new Error(`${options.method} ${options.path} timed out`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

const authBody = (extra: unknown = ''): string => JSON.stringify({ version: '0.4.0', tee: 'sample', 'extra-params': extra });

function errorOf(reply: Reply): { type: string; detail: string } {
  return JSON.parse(reply.body) as { type: string; detail: string };
}

/** A Prometheus sample of the KBS's /metrics (first series of that name). */
async function metric(baseUrl: string, name: string): Promise<number> {
  const text = (await request(baseUrl, { method: 'GET', path: '/metrics' })).body;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  if (line === undefined) throw new Error(`metric ${name} not exported`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Bytes of a SQLite database with its WAL and shared-memory files. */
function sqliteBytes(path: string): number {
  return ['', '-wal', '-shm'].reduce((sum, suffix) => sum + (existsSync(path + suffix) ? statSync(path + suffix).size : 0), 0);
}

/** Sends raw bytes on a socket and collects everything until the server closes it. */
function rawExchange(port: number, write: (socket: ReturnType<typeof connect>) => void): Promise<{ text: string; closedAfterMs: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => write(socket));
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    socket.on('close', () => resolve({ text, closedAfterMs: performance.now() - started }));
    socket.on('error', reject);
  });
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The flooding client, run as its own node process: `node -e FLOOD_CLIENT <url> <seconds> <max>
 * <source address>` sends /auth (4 KB extra-params) over 8 keep-alive connections until the time
 * or the count is up, then prints `{"sent", "counts": {status: n}}`.
 */
const FLOOD_CLIENT = `
const http = require('node:http');
const [base, seconds, max, localAddress] = process.argv.slice(1);
const url = new URL(base);
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
const body = JSON.stringify({ version: '0.4.0', tee: 'sample', 'extra-params': { pad: 'f'.repeat(4000) } });
const counts = {};
let sent = 0;
const end = Date.now() + Number(seconds) * 1000;
const count = (key) => (counts[key] = (counts[key] || 0) + 1);
const one = () => new Promise((resolve) => {
  const req = http.request({ host: url.hostname, port: url.port, method: 'POST', path: '/kbs/v0/auth', agent, localAddress,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
    res.resume();
    res.on('end', () => { count(res.statusCode); resolve(); });
  });
  req.on('error', () => { count('error'); resolve(); });
  req.end(body);
});
const worker = async () => { while (Date.now() < end && sent < Number(max)) { sent += 1; await one(); } };
Promise.all(Array.from({ length: 8 }, worker)).then(() => { agent.destroy(); process.stdout.write(JSON.stringify({ sent, counts })); });
`;

describe.skipIf(!capabilities.kbs)('hostile clients against the KBS process (issue 8)', () => {
  let dir: string;
  let admin: AdminKeys;
  let chain: SignerChain;
  let signer: KeyObject;
  let chainX5c: string[];
  let a: KbsProcess;
  let b: KbsProcess;
  let sqlitePath: string;
  let localFsDir: string;
  let operatorA: IndependentOperator;
  let operatorB: IndependentOperator;

  const portOf = (kbs: KbsProcess): number => Number(new URL(kbs.url).port);
  const guestOf = (kbs: KbsProcess): IndependentGuest => new IndependentGuest(kbs.url, generateTeeKey('P-256'));

  beforeAll(async () => {
    dir = makeTempDir();
    admin = writeAdminKeys(dir);
    chain = await writeSignerChain(dir);
    signer = createPrivateKey(readFileSync(chain.keyPath));
    chainX5c = x5cFromPem(readFileSync(chain.certChainPath, 'utf8'));
    const tokenTrust = certChainTrust(chain);

    sqlitePath = join(dir, 'a', 'kbs.sqlite');
    const configA = kbsConfigToml({ adminPublicKeyPath: admin.publicKeyPath, storage: { kind: 'Sqlite', path: sqlitePath }, tokenTrust, sessionTimeoutMinutes: SESSION_MS / 60_000 });

    // B: a crash left a plaintext temporary file behind in its LocalFs directory.
    localFsDir = join(dir, 'b-storage');
    mkdirSync(join(localFsDir, '.trustee-tmp'), { recursive: true });
    const crashed = join(localFsDir, '.trustee-tmp', 'crashed-write');
    writeFileSync(crashed, 'plaintext secret of a crashed write');
    const longAgo = new Date(Date.now() - 3_600_000);
    utimesSync(crashed, longAgo, longAgo);
    const limitsB = ['max_sessions = 80', 'max_sessions_per_ip = 50', 'auth_rate_limit_per_ip = 1000', 'auth_rate_burst_per_ip = 1000'].join('\n');
    const configB = kbsConfigToml({ adminPublicKeyPath: admin.publicKeyPath, storage: { kind: 'LocalFs', dir: localFsDir }, tokenTrust }).replace('insecure_http = true', `insecure_http = true\n${limitsB}`);

    mkdirSync(join(dir, 'a'), { recursive: true });
    mkdirSync(join(dir, 'b'), { recursive: true });
    [a, b] = await Promise.all([startKbs(configA, { dir: join(dir, 'a'), startTimeoutMs: 90_000 }), startKbs(configB, { dir: join(dir, 'b'), startTimeoutMs: 90_000 })]);
    operatorA = new IndependentOperator(a.url, mintAdminToken(admin.privateKey));
    operatorB = new IndependentOperator(b.url, mintAdminToken(admin.privateKey));
    for (const response of [await operatorA.setResource(RESOURCE, SECRET), await operatorA.setResourcePolicy(POLICIES.allowAll), await operatorB.setResource(RESOURCE, SECRET)]) {
      expect(response.status, describeResponse(response)).toBe(200);
    }
  }, 180_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    if (dir !== undefined) removeTempDir(dir);
  });

  describe('finding 2: evidence and claims are bounded before they reach a token', () => {
    it('an svn of 1.9 MB gives no token: 401 AttestationError (it gave a 2.5 MB EAR token)', async () => {
      const g = guestOf(a);
      await g.auth();
      const body = g.buildAttestation();
      const hostile = { ...body, 'tee-evidence': { ...body['tee-evidence'], primary_evidence: { ...(body['tee-evidence'].primary_evidence as object), svn: '9'.repeat(1_900_000) } } };
      const response = await g.attest(hostile);
      expectErrorInformation(response, 401, 'AttestationError');
      expect(response.body.length).toBeLessThan(1024);
      // Control: an honest guest's token is small.
      const honest = guestOf(a);
      expect((await honest.rcar()).length).toBeLessThan(16 * 1024);
    });

    it('init-data whose claims exceed the token bound (512 KiB per submodule) → 401 AttestationError', async () => {
      const g = guestOf(a);
      await g.auth();
      const toml = `version = "0.1.0"\nalgorithm = "sha384"\n[data]\n"aa.toml" = '''\n${'x'.repeat(600 * 1024)}\n'''\n`;
      expectErrorInformation(await g.attest(g.buildAttestation({ initData: { format: 'toml', body: toml } })), 401, 'AttestationError');
    });
  });

  describe('finding 3: /auth cannot fill the disk holding secrets', () => {
    it('60 /auth with 1.9 MB extra-params → 401 each; kbs.sqlite does not grow, the session file by no session (it grew 121 MB)', async () => {
      const before = { main: sqliteBytes(sqlitePath), sessions: sqliteBytes(join(dir, 'a', 'kbs.sessions.sqlite')) };
      const big = authBody({ pad: 'p'.repeat(1_900_000) });
      for (let i = 0; i < 60; i += 1) {
        const reply = await request(a.url, { method: 'POST', path: '/kbs/v0/auth', body: big, localAddress: '127.0.0.5' });
        expect(reply.status, reply.body).toBe(401);
        expect(errorOf(reply)).toEqual({ type: `${ERROR_TYPE_PREFIX}AttestationError`, detail: 'Attestation error: RCAR handshake Auth failed: invalid request body: extra-params larger than 4096 bytes' });
      }
      expect(sqliteBytes(sqlitePath)).toBe(before.main);
      // Nothing was stored; the session file only sees other tests' sessions expire (sweep deletes).
      expect(sqliteBytes(join(dir, 'a', 'kbs.sessions.sqlite')) - before.sessions).toBeLessThan(256 * 1024);
    });
  });

  describe('finding 4: one client cannot lock the others out', () => {
    it('per-client quota, then the global cap evicts the heaviest client first; other guests still attest', async () => {
      const auth = (from: string): Promise<Reply> => request(b.url, { method: 'POST', path: '/kbs/v0/auth', body: authBody(), localAddress: from });
      const flood = await Promise.all(Array.from({ length: 60 }, () => auth('127.0.0.2')));
      expect(flood.filter((r) => r.status === 200)).toHaveLength(50);
      for (const refused of flood.filter((r) => r.status !== 200)) {
        expect(refused.status).toBe(401);
        expect(errorOf(refused).detail).toBe('Attestation error: RCAR handshake Auth failed: too many open sessions from this address, retry later');
      }
      const second = await Promise.all(Array.from({ length: 30 }, () => auth('127.0.0.3')));
      expect(second.every((r) => r.status === 200)).toBe(true);
      // The process is at max_sessions = 80: a new client still gets a session (the heaviest
      // client, 127.0.0.2, loses its oldest), and so does the lighter 127.0.0.3; the heaviest does not.
      expect((await auth('127.0.0.4')).status).toBe(200);
      expect((await auth('127.0.0.3')).status).toBe(200);
      const heaviest = await auth('127.0.0.2');
      expect(heaviest.status).toBe(401);
      expect(errorOf(heaviest).detail).toBe('Attestation error: RCAR handshake Auth failed: too many open sessions, retry later');
      const guest = guestOf(b);
      expect(decodeJwt(await guest.rcar()).payload).toHaveProperty('submods.cpu0');
    });
  });

  describe('finding 7: the primary TEE is a CPU TEE; the default policy requires cpu0', () => {
    it.each(['sampledevice', 'nvidia', 'nvidiadpu', 'hygondcu'])('/auth with tee = %s → 401 AttestationError, no session', async (tee) => {
      const response = await guestOf(b).auth({ version: '0.4.0', tee, 'extra-params': '' });
      const info = expectErrorInformation(response, 401, 'AttestationError');
      expect(info.detail).toBe(`Attestation error: RCAR handshake Auth failed: invalid request body: tee "${tee}" is a device TEE; it can only be sent as additional evidence beside a CPU TEE`);
      expect(response.headers['set-cookie']).toBeUndefined();
    });

    it('under the built-in default policy a trusted token with device submodules only is denied; with a non-sample cpu0 it is released', async () => {
      const g = guestOf(b);
      const claims = decodeJwt(await g.rcar()).payload as { submods: Record<string, Record<string, unknown>> };
      const cpu0 = claims.submods['cpu0'] ?? {};
      const annotated = cpu0['ear.veraison.annotated-evidence'] as Record<string, unknown>;
      const header = { typ: 'JWT', alg: 'ES256', jwk: es256HeaderJwk(signer, chainX5c) };
      const deviceOnly = signEs256Jwt(header, { ...claims, submods: { gpu0: cpu0 } }, signer);
      const denied = await g.getResource(RESOURCE, { bearer: deviceOnly, cookie: null });
      expectErrorInformation(denied, 401, 'PolicyDeny');
      // Control: the same claims as cpu0 without the `sample` evidence pass the default policy.
      const { sample, ...rest } = annotated;
      const hardware = signEs256Jwt(header, { ...claims, submods: { cpu0: { ...cpu0, 'ear.veraison.annotated-evidence': { ...rest, tdx: sample } } } }, signer);
      expect(g.decrypt(await g.getResource(RESOURCE, { bearer: hardware, cookie: null })).plaintext.equals(SECRET)).toBe(true);
    });
  });

  describe('finding 8: smaller items', () => {
    it('a request body trickled byte by byte is cut with 408 RequestTimeout after 30 s, not held forever', async () => {
      let timer: NodeJS.Timeout | undefined;
      const { text, closedAfterMs } = await rawExchange(portOf(a), (socket) => {
        socket.write('POST /kbs/v0/auth HTTP/1.1\r\nHost: kbs\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
        timer = setInterval(() => {
          if (socket.writable) socket.write(' ');
        }, 1_000);
        socket.on('close', () => clearInterval(timer));
      });
      clearInterval(timer);
      expect(text).toMatch(/^HTTP\/1\.1 408 /);
      expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toEqual({ type: `${ERROR_TYPE_PREFIX}RequestTimeout`, detail: 'Request not received within 30 s' });
      expect(closedAfterMs).toBeGreaterThan(29_000);
      expect(closedAfterMs).toBeLessThan(45_000);
    }, 60_000);

    it('LocalFs: the plaintext temporary file a crash left behind is gone once the KBS opened the store', () => {
      expect(existsSync(join(localFsDir, '.trustee-tmp', 'crashed-write'))).toBe(false);
    });

    it.each([
      [200, 200],
      [201, 401],
      [240, 401],
      [9000, 401],
    ])('a resource key of %i characters gets %i on both SQLite and LocalFs, decided before storage', async (length, status) => {
      const key = `default/key/${'t'.repeat(length - 'default/key/'.length)}`;
      for (const operator of [operatorA, operatorB]) {
        const response = await operator.setResource(key, Buffer.from('x'));
        if (status === 200) expect(response.status, describeResponse(response)).toBe(200);
        else expect(expectErrorInformation(response, 401, 'PluginInternalError').detail).toBe('Plugin internal error');
      }
    });

    it('an admin JWT issued one hour in the future is refused (same 60 s leeway as exp); nothing changes', async () => {
      const future = mintAdminToken(admin.privateKey, { now: Math.floor(Date.now() / 1000) + 3600 });
      const early = new IndependentOperator(a.url, future);
      expectErrorInformation(await early.setResourcePolicy(POLICIES.denyAll), 401, 'AdminAuthAccess');
      expectErrorInformation(await early.setResource(RESOURCE, Buffer.from('overwritten')), 401, 'AdminAuthInitialization');
      const g = guestOf(a);
      await g.rcar();
      expect(g.decrypt(await g.getResource(RESOURCE)).plaintext.equals(SECRET)).toBe(true);
    });

    it('absolute-form request targets are routed as their origin form (admin checks included)', async () => {
      const port = portOf(a);
      const send = async (head: string, body = ''): Promise<string> =>
        // write, not end: a half-closed request is aborted by node's HTTP server before it answers.
        (await rawExchange(port, (socket) => socket.write(`${head}Host: kbs\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`))).text;
      const anonymous = await send(`POST http://127.0.0.1:${port}/kbs/v0/resource-policy HTTP/1.1\r\n`);
      expect(anonymous).toMatch(/^HTTP\/1\.1 401 /);
      expect(anonymous).toContain(`${ERROR_TYPE_PREFIX}AdminAuthAccess`);
      const listed = await send(`GET http://127.0.0.1:${port}/kbs/v0/resource-policy HTTP/1.1\r\nAuthorization: Bearer ${operatorA.token ?? ''}\r\n`);
      expect(listed).toMatch(/^HTTP\/1\.1 200 /);
      const auth = await send('POST http://kbs.example/kbs/v0/auth HTTP/1.1\r\nContent-Type: application/json\r\n', authBody());
      expect(auth).toMatch(/^HTTP\/1\.1 200 /);
      expect(auth).toContain('kbs-session-id=');
    });

    it('the admin audit line is written after validation, with the outcome', async () => {
      expectErrorInformation(await operatorA.setResource('default/key/bad%20tag', Buffer.from('x')), 401, 'PluginInternalError');
      await sleep(200);
      const records = a
        .output()
        .split('\n')
        .filter((line) => line.startsWith('{') && line.includes('"audit":"admin"'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const refused = records.filter((r) => r['path'] === '/kbs/v0/resource/default/key/bad%20tag');
      expect(refused).toHaveLength(1);
      expect(refused[0]).toMatchObject({ method: 'POST', outcome: 'refused', status: 401, error: 'PluginInternalError', role: 'admin' });
      expect(records.find((r) => r['path'] === `/kbs/v0/resource/${RESOURCE}`)).toMatchObject({ outcome: 'ok', status: 200 });
    });
  });

  describe('bounded floods: memory, disk and a well-behaved guest beside them', () => {
    it('attest flood with the largest accepted inputs: RSS and session storage stay bounded, and both empty on expiry', async () => {
      const rssBefore = await metric(a.url, 'kbs_process_resident_memory_bytes');
      const mainBefore = sqliteBytes(sqlitePath);
      const initData = `version = "0.1.0"\nalgorithm = "sha384"\n[data]\n"aa.toml" = '''\n${'i'.repeat(32 * 1024)}\n'''\n`;
      const started = performance.now();
      let attested = 0;
      // 10 batches of 40 concurrent handshakes from one address (within its 200 burst + 20/s).
      for (let batch = 0; batch < 10 && performance.now() - started < 60_000; batch += 1) {
        const results = await Promise.all(
          Array.from({ length: 40 }, async () => {
            const g = guestOf(a);
            const auth = await g.auth({ version: '0.4.0', tee: 'sample', 'extra-params': { pad: 'e'.repeat(4000) } });
            if (auth.status !== 200) return auth.status;
            return (await g.attest(g.buildAttestation({ initData: { format: 'toml', body: initData } }))).status;
          }),
        );
        attested += results.filter((status) => status === 200).length;
        for (const status of results) expect([200, 429]).toContain(status);
      }
      expect(attested).toBeGreaterThanOrEqual(200);
      const rssGrowth = (await metric(a.url, 'kbs_process_resident_memory_bytes')) - rssBefore;
      const sessionsFile = sqliteBytes(join(dir, 'a', 'kbs.sessions.sqlite'));
      console.log(`attest flood: ${attested} attested in ${((performance.now() - started) / 1000).toFixed(1)} s; RSS growth ${(rssGrowth / 2 ** 20).toFixed(1)} MiB; sessions file ${(sessionsFile / 2 ** 20).toFixed(1)} MiB; kbs.sqlite growth ${sqliteBytes(sqlitePath) - mainBefore} B`);
      expect(rssGrowth, 'RSS growth under the attest flood').toBeLessThan(200 * 2 ** 20);
      expect(sessionsFile, 'session database (with WAL)').toBeLessThan(128 * 2 ** 20);
      expect(sqliteBytes(sqlitePath), 'the database holding secrets does not grow').toBe(mainBefore);
      expect(await metric(a.url, 'kbs_sessions_attested_cached')).toBeGreaterThan(0);
      // Sessions live 6 s; the sweep runs every 5 s: gone from memory and store without being read.
      await sleep(SESSION_MS + 6_000);
      expect(await metric(a.url, 'kbs_sessions_attested_cached')).toBe(0);
      expect(await metric(a.url, 'kbs_sessions_open')).toBe(0);
      expect(await metric(a.url, 'kbs_sessions_open_bytes')).toBe(0);
    }, 120_000);

    it('an /auth flood from one client (its own process, 12 s, ≤ 30 000 requests) is throttled while a guest beside it completes full flows with p99 < 1 s', async () => {
      const sessionsFileBefore = sqliteBytes(join(dir, 'a', 'kbs.sessions.sqlite'));
      const mainBefore = sqliteBytes(sqlitePath);
      const rssBefore = await metric(a.url, 'kbs_process_resident_memory_bytes');
      // The flooding client runs in its own process, so its event loop does not delay the guest's.
      const flood = spawn(process.execPath, ['-e', FLOOD_CLIENT, a.url, '12', '30000', '127.0.0.7'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let floodOutput = '';
      flood.stdout.on('data', (chunk: Buffer) => (floodOutput += chunk.toString('utf8')));
      const floodDone = new Promise<void>((resolve) => flood.once('exit', () => resolve()));
      let floodRunning = true;
      void floodDone.then(() => (floodRunning = false));
      await sleep(1_000);

      const flows: number[] = [];
      try {
        while (flows.length < 40 && floodRunning) {
          const g = guestOf(a);
          const t0 = performance.now();
          await g.rcar();
          expect(g.decrypt(await g.getResource(RESOURCE)).plaintext.equals(SECRET)).toBe(true);
          flows.push(performance.now() - t0);
        }
      } finally {
        await floodDone;
      }
      const { sent, counts } = JSON.parse(floodOutput) as { sent: number; counts: Record<string, number> };
      const p50 = percentile(flows, 50);
      const p99 = percentile(flows, 99);
      const rssGrowth = (await metric(a.url, 'kbs_process_resident_memory_bytes')) - rssBefore;
      const sessionsGrowth = sqliteBytes(join(dir, 'a', 'kbs.sessions.sqlite')) - sessionsFileBefore;
      console.log(
        `auth flood: ${sent} requests (${JSON.stringify(counts)}); good guest ${flows.length} flows, p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms; ` +
          `RSS growth ${(rssGrowth / 2 ** 20).toFixed(1)} MiB; sessions file growth ${(sessionsGrowth / 2 ** 20).toFixed(2)} MiB`,
      );
      expect(flows.length).toBeGreaterThanOrEqual(10);
      expect(counts['429'] ?? 0, 'the flood is throttled').toBeGreaterThan(0);
      // At most the burst plus 20/s for the flood's duration got a session.
      expect(counts['200'] ?? 0).toBeLessThanOrEqual(200 + 20 * 14);
      expect(p99, 'good guest p99 (auth + attest + resource)').toBeLessThan(1_000);
      expect(rssGrowth, 'RSS growth under the /auth flood').toBeLessThan(100 * 2 ** 20);
      expect(sessionsGrowth, 'session database growth').toBeLessThan(32 * 2 ** 20);
      expect(sqliteBytes(sqlitePath), 'the database holding secrets does not grow').toBe(mainBefore);
    }, 120_000);
  });
});
