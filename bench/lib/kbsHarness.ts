/**
 * Shared parts of the KBS flow benchmarks (`bench/kbs-flow.bench.ts`, `bench/hardware-flow.bench.ts`):
 * a KBS started as a real process, a keep-alive HTTP client, guests running the full RCAR flow
 * (auth → attest → encrypted resource GET), the KBS's own CPU from /proc, and the crypto floor —
 * the `node:crypto` cost of exactly the operations a flow cannot avoid on the KBS side.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants, createCipheriv, createECDH, createHash, createPublicKey, generateKeyPairSync, publicEncrypt, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { b64std, b64url, decryptJweResponse, primaryRuntimeData, runtimeDataDigest, teePubKeyFromKey, type JweResponse, type TeePubKey } from '../../packages/protocol/src/index.ts';
import { devConfigToml, prepareDevEnvironment, type DevPaths } from '../../services/kbs/src/devSetup.ts';

export const ROOT = resolve(import.meta.dirname, '../..');

/** TEE key kinds a guest may put in `runtime-data.tee-pubkey`. */
export const TEE_KEY_KINDS = ['P-256', 'P-521', 'RSA-OAEP-256'] as const;
export type TeeKeyKind = (typeof TEE_KEY_KINDS)[number];

export function isTeeKeyKind(value: string): value is TeeKeyKind {
  return (TEE_KEY_KINDS as readonly string[]).includes(value);
}

export function generateTeeKey(kind: TeeKeyKind): { privateKey: KeyObject; teePubKey: TeePubKey } {
  const { privateKey } =
    kind === 'RSA-OAEP-256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: kind === 'P-256' ? 'P-256' : 'P-521' });
  // EC keys → ECDH-ES+A256KW, RSA → RSA-OAEP-256, as the guest's client builds them.
  return { privateKey, teePubKey: teePubKeyFromKey(privateKey) };
}

/** `uptime`'s load averages, from /proc/loadavg. */
export function loadAverages(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'n/a';
  }
}

const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU seconds (user + system) used so far by a process and its descendants (cluster workers),
 * from /proc; undefined where /proc is absent. On a shared machine the wall-clock throughput
 * depends on everybody's load, CPU per flow much less.
 */
export function processTreeCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    let ticks = Number(fields[11]) + Number(fields[12]);
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter((id) => id !== '')) {
        ticks += (processTreeCpuSeconds(Number(child)) ?? 0) * CLOCK_TICKS_PER_SECOND;
      }
    }
    return ticks / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Pids of the process and its descendants. */
export function processTree(pid: number): number[] {
  const out = [pid];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter((id) => id !== '')) out.push(...processTree(Number(child)));
    }
  } catch {
    // /proc absent or the process gone
  }
  return out;
}

/** Resident set size in KiB of a process tree (VmRSS summed). */
export function processTreeRssKiB(pid: number): number {
  let total = 0;
  for (const id of processTree(pid)) {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${id}/status`, 'utf8'));
      total += Number(match?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return total;
}

export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

export interface Reply {
  readonly status: number;
  readonly body: string;
  readonly cookie: string | undefined;
}

export class HttpClient {
  readonly #agent: Agent;
  readonly #port: number;

  constructor(port: number, maxSockets: number) {
    this.#port = port;
    this.#agent = new Agent({ keepAlive: true, maxSockets });
  }

  call(method: string, path: string, body: string | undefined, headers: Record<string, string> = {}): Promise<Reply> {
    return new Promise((resolvePromise, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.#port,
          method,
          path,
          agent: this.#agent,
          headers: { ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }), ...headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const setCookie = res.headers['set-cookie']?.[0];
            resolvePromise({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), cookie: setCookie?.split(';')[0] });
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

const CRLF_CRLF = Buffer.from('\r\n\r\n');

/**
 * One guest's keep-alive HTTP/1.1 connection for the timed flows: requests are written as one
 * string and answers parsed by hand (status line, `content-length`, `set-cookie`), because
 * node:http's client costs about as much CPU per request as the KBS's own HTTP layer and the
 * client shares the cores with the KBS. The KBS always answers with a `content-length` (fastify
 * does for string and buffer payloads); anything else fails the flow loudly. The setup calls
 * keep using `HttpClient`.
 */
export class GuestConnection {
  readonly #port: number;
  #socket: Socket | undefined;
  #buffered: Buffer = Buffer.alloc(0);
  #pending: { resolve: (reply: Reply) => void; reject: (error: Error) => void } | undefined;

  constructor(port: number) {
    this.#port = port;
  }

  call(method: string, path: string, body: string | undefined, cookie?: string): Promise<Reply> {
    if (this.#pending !== undefined) return Promise.reject(new Error('one request at a time per guest connection'));
    const socket = this.#socket ?? this.#open();
    const head =
      `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${this.#port}\r\n` +
      (cookie === undefined ? '' : `Cookie: ${cookie}\r\n`) +
      (body === undefined ? '\r\n' : `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    return new Promise((resolvePromise, reject) => {
      this.#pending = { resolve: resolvePromise, reject };
      socket.write(head);
    });
  }

  close(): void {
    this.#socket?.destroy();
    this.#socket = undefined;
  }

  #open(): Socket {
    const socket = connect({ host: '127.0.0.1', port: this.#port, noDelay: true });
    this.#socket = socket;
    this.#buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      this.#buffered = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
      this.#parse();
    });
    const gone = (error?: Error): void => {
      if (this.#socket === socket) this.#socket = undefined;
      const pending = this.#pending;
      this.#pending = undefined;
      pending?.reject(error ?? new Error('connection closed by the KBS'));
    };
    socket.on('error', gone);
    socket.on('close', () => gone());
    return socket;
  }

  #parse(): void {
    const end = this.#buffered.indexOf(CRLF_CRLF);
    if (end < 0 || this.#pending === undefined) return;
    const head = this.#buffered.toString('latin1', 0, end);
    const lines = head.split('\r\n');
    const status = Number((lines[0] ?? '').split(' ')[1]);
    let length: number | undefined;
    let cookie: string | undefined;
    let close = false;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') length = Number(value);
      else if (name === 'set-cookie' && cookie === undefined) cookie = value.split(';')[0];
      else if (name === 'connection' && value.toLowerCase() === 'close') close = true;
    }
    const pending = this.#pending;
    if (length === undefined || !Number.isInteger(length)) {
      this.#pending = undefined;
      this.close();
      pending.reject(new Error(`answer without content-length: ${head.slice(0, 200)}`));
      return;
    }
    if (this.#buffered.length < end + 4 + length) return;
    const body = this.#buffered.toString('utf8', end + 4, end + 4 + length);
    this.#buffered = this.#buffered.subarray(end + 4 + length);
    this.#pending = undefined;
    if (close) this.close();
    pending.resolve({ status, body, cookie });
  }
}

export interface KbsProcess {
  readonly port: number;
  readonly pid: number;
  readonly paths: DevPaths;
  readonly adminToken: string;
  /** Worker processes (cluster) under the KBS, 0 when the primary serves itself. */
  workerProcesses(): number;
  /** The KBS's latest warn/error log lines (pino level >= 40), so a failed request can be explained. */
  problemLines(): readonly string[];
  stop(): Promise<void>;
}

export interface StartKbsOptions {
  /** `http_server.worker_count`; undefined leaves it unset (the KBS default). */
  readonly workers?: number | undefined;
  /** Extra `[http_server]` lines. */
  readonly httpServerLines?: readonly string[];
  /** TOML appended to the config (sub-tables of `[attestation_service]`, ...). */
  readonly appendToml?: string;
  /** Lines put before the first table (top-level keys). */
  readonly topLevelLines?: readonly string[];
  /** V8 CPU profiles of the KBS processes are written there. */
  readonly profileDir?: string | undefined;
  /** Extra node options for the KBS (e.g. `--max-old-space-size=...`). */
  readonly nodeOptions?: readonly string[];
  /**
   * Run the compiled KBS (`services/kbs/dist/main.js` with the `trustee-compiled` condition, as
   * production and the images do; `pnpm build` first) instead of the sources through tsx.
   */
  readonly compiled?: boolean;
  /** Last edit of the config text (e.g. the session `timeout`). */
  readonly editConfig?: (toml: string) => string;
}

function compiledEntry(): string {
  const entry = join(ROOT, 'services/kbs/dist/main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run 'pnpm build' first (--compiled runs the compiled output)`);
  return entry;
}

/** Starts `services/kbs/src/main.ts` (or its compiled form) on a dev config in a temp dir (SQLite storage), port 0. */
export async function startKbs(options: StartKbsOptions = {}): Promise<KbsProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'kbs-bench-'));
  const paths = await prepareDevEnvironment(dir);
  const httpLines = [...(options.workers === undefined ? [] : [`worker_count = ${options.workers}`]), ...(options.httpServerLines ?? [])];
  const config = devConfigToml(paths, '127.0.0.1:0').replace('insecure_http = true', ['insecure_http = true', ...httpLines].join('\n'));
  const text = [...(options.topLevelLines ?? []), config, options.appendToml ?? ''].join('\n');
  writeFileSync(paths.configFile, options.editConfig === undefined ? text : options.editConfig(text));
  const args = [
    ...(options.nodeOptions ?? []),
    ...(options.profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', options.profileDir]),
    ...(options.compiled === true
      ? ['--conditions=trustee-compiled', compiledEntry()]
      : ['--import', 'tsx', join(ROOT, 'services/kbs/src/main.ts')]),
    '--config-file',
    paths.configFile,
  ];
  const child: ChildProcess = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { KBS_LOG_LEVEL: 'warn', ...process.env } });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (stderr.length > 100_000) stderr = stderr.slice(-50_000);
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolveExit) => child.once('exit', resolveExit));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const problems: string[] = [];
  let partial = '';
  const keepProblems = (chunk: Buffer): void => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!/"level":(4|5|6)0/.test(line)) continue;
      problems.push(line.length > 2_000 ? `${line.slice(0, 2_000)}…` : line);
      if (problems.length > 50) problems.shift();
    }
  };
  child.stdout?.on('data', keepProblems);
  child.stderr?.on('data', keepProblems);
  try {
    const port = await new Promise<number>((resolvePort, reject) => {
      const timer = setTimeout(() => reject(new Error(`KBS did not start:\n${stderr}`)), 90_000);
      child.stdout?.on('data', (chunk: Buffer) => {
        const match = /listening on http:\/\/[^:]+:(\d+)/.exec(chunk.toString());
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          resolvePort(Number(match[1]));
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`KBS exited ${code}:\n${stderr}`));
      });
    });
    const pid = child.pid ?? 0;
    // Workers are the descendants running main.ts (tsx also starts an esbuild service process).
    const workerProcesses = (): number =>
      processTree(pid)
        .slice(1)
        .filter((id) => {
          try {
            return /main\.[tj]s/.test(readFileSync(`/proc/${id}/cmdline`, 'utf8'));
          } catch {
            return false;
          }
        }).length;
    return { port, pid, paths, adminToken: readFileSync(paths.adminToken, 'utf8').trim(), workerProcesses, problemLines: () => [...problems], stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Sets the allow-all resource policy and one resource; returns the resource path. */
export async function setUpResource(client: HttpClient, adminToken: string, secret: string): Promise<string> {
  const auth = { authorization: `Bearer ${adminToken}` };
  const policy = b64url.encode(new TextEncoder().encode('package policy\n\ndefault allow := true\n'));
  const setPolicy = await client.call('POST', '/kbs/v0/resource-policy', JSON.stringify({ policy }), auth);
  const setResource = await client.call('POST', '/kbs/v0/resource/default/key/bench', secret, { ...auth, 'content-type': 'application/octet-stream' });
  if (setPolicy.status !== 200 || setResource.status !== 200) throw new Error(`setup failed: ${setPolicy.body} ${setResource.body}`);
  return '/kbs/v0/resource/default/key/bench';
}

/** Evidence for one attestation: the TEE name and its `tee-evidence.primary_evidence`, bound to the report data. */
export type EvidenceSource = (reportData: Uint8Array) => Promise<unknown> | unknown;

export interface FlowPhaseOptions {
  readonly kbs: KbsProcess;
  readonly tee: string;
  readonly evidence: EvidenceSource;
  readonly keyKind: TeeKeyKind;
  readonly guests: number;
  readonly seconds: number;
  readonly resourcePath: string;
  readonly secret: string;
  /** Evidence generated before timing per guest (hardware factories are slow); 0 = on the fly. */
  readonly evidencePool?: number;
}

export interface FlowPhaseResult {
  readonly flows: number;
  readonly failures: number;
  readonly lastFailure: string;
  readonly elapsedSeconds: number;
  readonly kbsCpuSeconds: number | undefined;
  readonly clientCpuSeconds: number;
  /** Sorted flow latencies, ms. */
  readonly latencies: readonly number[];
  readonly steps: Readonly<Record<'auth' | 'attest' | 'resource', readonly number[]>>;
  readonly loadBefore: string;
  readonly loadAfter: string;
}

/**
 * `guests` concurrent guests loop auth → attest → resource for `seconds`, after a 2 s warm-up.
 * Each guest decrypts its first answer (the flow is real); later answers are only checked for
 * 200 so the client's own ECDH does not eat the KBS's share of the cores.
 */
export async function runFlowPhase(options: FlowPhaseOptions): Promise<FlowPhaseResult> {
  const { kbs, tee } = options;
  const authBody = JSON.stringify({ version: '0.4.0', tee, 'extra-params': { 'supported-hash-algorithms': ['sha384'] } });
  const flow: number[] = [];
  const steps = { auth: [] as number[], attest: [] as number[], resource: [] as number[] };
  let failures = 0;
  let lastFailure = '';
  let recording = false;
  const keys = Array.from({ length: options.guests }, () => generateTeeKey(options.keyKind));
  // One keep-alive connection per guest, kept across the warm-up and the timed run.
  const connections = Array.from({ length: options.guests }, () => new GuestConnection(kbs.port));
  // The decrypted first answer per guest (index); later answers are only checked for 200.
  const verified = new Array<boolean>(options.guests).fill(false);

  const guest = async (index: number, deadline: number): Promise<void> => {
    const { privateKey, teePubKey } = keys[index] as ReturnType<typeof generateTeeKey>;
    const connection = connections[index] as GuestConnection;
    while (performance.now() < deadline) {
      try {
        verified[index] = await oneFlow(connection, privateKey, teePubKey, verified[index] === true);
      } catch (error) {
        // A reset connection (e.g. the KBS's request timeout under heavy load) is a failed flow, not the end of the run.
        failures += 1;
        lastFailure = (error as Error).message;
      }
    }
  };

  /** One auth → attest → resource flow; returns whether this guest has decrypted an answer. */
  const oneFlow = async (connection: GuestConnection, privateKey: KeyObject, teePubKey: TeePubKey, decrypted: boolean): Promise<boolean> => {
    const t0 = performance.now();
    const challenge = await connection.call('POST', '/kbs/v0/auth', authBody);
    const t1 = performance.now();
    if (challenge.status !== 200) {
      failures += 1;
      lastFailure = `auth ${challenge.status} ${challenge.body}`;
      return decrypted;
    }
    const nonce = (JSON.parse(challenge.body) as { nonce: string }).nonce;
    const digest = runtimeDataDigest(primaryRuntimeData(nonce, teePubKey, ''), 'sha384');
    const evidence = await options.evidence(digest);
    const t1e = performance.now();
    const attestation = { 'init-data': null, 'runtime-data': { nonce, 'tee-pubkey': teePubKey }, 'tee-evidence': { primary_evidence: evidence, additional_evidence: '' } };
    const cookie = challenge.cookie ?? '';
    const attested = await connection.call('POST', '/kbs/v0/attest', JSON.stringify(attestation), cookie);
    const t2 = performance.now();
    const resource = await connection.call('GET', options.resourcePath, undefined, cookie);
    const t3 = performance.now();
    if (attested.status !== 200 || resource.status !== 200) {
      failures += 1;
      lastFailure = `${attested.status} ${attested.body.slice(0, 300)} / ${resource.status} ${resource.body.slice(0, 300)}`;
      return decrypted;
    }
    if (!decrypted) {
      const jwe = JSON.parse(resource.body) as JweResponse;
      if (new TextDecoder().decode(decryptJweResponse(jwe, privateKey)) !== options.secret) throw new Error('wrong plaintext');
    }
    if (!recording) return true;
    // Client-side evidence generation (hardware factories) is not the KBS's latency.
    flow.push(t3 - t0 - (t1e - t1));
    steps.auth.push(t1 - t0);
    steps.attest.push(t2 - t1e);
    steps.resource.push(t3 - t2);
    return true;
  };

  await Promise.all(Array.from({ length: Math.min(options.guests, 8) }, (_, index) => guest(index, performance.now() + 2000))); // warm-up
  recording = true;
  failures = 0;
  const loadBefore = loadAverages();
  const kbsCpuStart = processTreeCpuSeconds(kbs.pid);
  const clientCpuStart = process.cpuUsage();
  const start = performance.now();
  await Promise.all(Array.from({ length: options.guests }, (_, index) => guest(index, start + options.seconds * 1000)));
  const elapsedSeconds = (performance.now() - start) / 1000;
  const kbsCpuEnd = processTreeCpuSeconds(kbs.pid);
  const clientCpu = process.cpuUsage(clientCpuStart);
  for (const connection of connections) connection.close();
  const sorted = (values: number[]): number[] => [...values].sort((a, b) => a - b);
  return {
    flows: flow.length,
    failures,
    lastFailure,
    elapsedSeconds,
    kbsCpuSeconds: kbsCpuStart === undefined || kbsCpuEnd === undefined ? undefined : kbsCpuEnd - kbsCpuStart,
    clientCpuSeconds: (clientCpu.user + clientCpu.system) / 1e6,
    latencies: sorted(flow),
    steps: { auth: sorted(steps.auth), attest: sorted(steps.attest), resource: sorted(steps.resource) },
    loadBefore,
    loadAfter: loadAverages(),
  };
}

/**
 * The HTTP floor: KBS CPU per `GET /healthz` (no body, no storage, no crypto; the route, the
 * `onResponse` hook with its metrics, node's HTTP parser and the socket writes and reads) with
 * `connections` keep-alive connections for `seconds`. A flow is three such round trips plus its
 * work, so three times this is what the transport alone costs per flow on this machine.
 */
export async function measureHttpFloor(kbs: KbsProcess, connections: number, seconds: number): Promise<{ readonly kbsMsPerRequest: number; readonly requestsPerSecond: number }> {
  const guests = Array.from({ length: connections }, () => new GuestConnection(kbs.port));
  let requests = 0;
  const loop = async (connection: GuestConnection, deadline: number): Promise<void> => {
    while (performance.now() < deadline) {
      const reply = await connection.call('GET', '/healthz', undefined);
      if (reply.status !== 200) throw new Error(`/healthz answered ${reply.status}`);
      requests += 1;
    }
  };
  try {
    await Promise.all(guests.map((connection) => loop(connection, performance.now() + 500)));
    requests = 0;
    const cpuStart = processTreeCpuSeconds(kbs.pid);
    const start = performance.now();
    await Promise.all(guests.map((connection) => loop(connection, start + seconds * 1000)));
    const elapsed = (performance.now() - start) / 1000;
    const cpuEnd = processTreeCpuSeconds(kbs.pid);
    const cpu = cpuStart === undefined || cpuEnd === undefined ? Number.NaN : cpuEnd - cpuStart;
    return { kbsMsPerRequest: (cpu * 1000) / Math.max(1, requests), requestsPerSecond: requests / elapsed };
  } finally {
    for (const connection of guests) connection.close();
  }
}

/** Sample evidence: `{svn, report_data}` with the report data in standard base64. */
export const sampleEvidence: EvidenceSource = (reportData) => ({ svn: '1', report_data: b64std.encode(reportData) });

// ---------------------------------------------------------------------------------------------
// Crypto floor
// ---------------------------------------------------------------------------------------------

/** Extra per-evidence signature checks of a hardware TEE (beyond the KBS's own crypto). */
export type EvidenceCheck = 'snp-report' | 'tdx-quote' | 'vtpm-quote';

/**
 * One flow's unavoidable KBS-side crypto, as a repeatable operation: 32 random bytes (nonce),
 * SHA-384 over the runtime data, one ES256 signature (EAR token), one ES256 verification (the
 * token presented with the resource request), the JWE key agreement for the TEE key (ephemeral
 * EC key pair + ECDH + Concat KDF + AES key wrap, or one RSA-OAEP-256 encryption) and the
 * AES-256-GCM encryption of the resource; plus, for hardware evidence, its signature checks.
 */
export function floorOperation(keyKind: TeeKeyKind, checks: readonly EvidenceCheck[] = []): () => void {
  const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  // An EAR of the sample flow is ~1.5 KB of base64url payload; sign and verify a similar input.
  const signingInput = Buffer.from(`${'h'.repeat(260)}.${'p'.repeat(1500)}`, 'ascii');
  const signature = sign('sha256', signingInput, { key: signer.privateKey, dsaEncoding: 'ieee-p1363' });
  const tee = generateTeeKey(keyKind);
  const runtimeData = Buffer.from(JSON.stringify({ nonce: b64std.encode(randomBytes(32)), 'tee-pubkey': tee.teePubKey }));
  const plaintext = Buffer.from('bench-secret');
  const jwe = jweOperation(keyKind, tee.privateKey);
  const evidence = checks.map(evidenceCheckOperation);
  return () => {
    randomBytes(32);
    createHash('sha384').update(runtimeData).digest();
    sign('sha256', signingInput, { key: signer.privateKey, dsaEncoding: 'ieee-p1363' });
    if (!verify('sha256', signingInput, { key: signer.publicKey, dsaEncoding: 'ieee-p1363' }, signature)) throw new Error('floor: ES256 verify failed');
    const cek = jwe();
    const cipher = createCipheriv('aes-256-gcm', cek, randomBytes(12));
    cipher.setAAD(Buffer.from('protected-header'));
    Buffer.concat([cipher.update(plaintext), cipher.final()]);
    cipher.getAuthTag();
    for (const check of evidence) check();
  };
}

/** Key agreement/transport of the CEK to the TEE key; returns the CEK. */
function jweOperation(keyKind: TeeKeyKind, teePrivateKey: KeyObject): () => Buffer {
  if (keyKind === 'RSA-OAEP-256') {
    const publicKey = createPublicKey(teePrivateKey);
    return () => {
      const cek = randomBytes(32);
      publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, cek);
      return cek;
    };
  }
  const curve = keyKind === 'P-256' ? 'prime256v1' : 'secp521r1';
  const peer = createECDH(curve);
  peer.generateKeys();
  const peerPoint = peer.getPublicKey();
  const kekWrapIv = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');
  return () => {
    const cek = randomBytes(32);
    const ephemeral = createECDH(curve);
    ephemeral.generateKeys();
    const z = ephemeral.computeSecret(peerPoint);
    ephemeral.getPublicKey();
    const kek = createHash('sha256').update(z).update('ECDH-ES+A256KW').digest();
    const wrap = createCipheriv('id-aes256-wrap', kek, kekWrapIv);
    Buffer.concat([wrap.update(cek), wrap.final()]);
    return cek;
  };
}

/**
 * The signature checks hardware evidence needs per attestation once collateral and certificate
 * chains are cached: an SNP report is one ECDSA P-384/SHA-384 signature by the VCEK; a TDX quote
 * is two ECDSA P-256 signatures (quote by the attestation key, QE report by the PCK) and the
 * SHA-256 binding of the attestation key; a vTPM quote is one RSA-2048 PKCS#1 v1.5 SHA-256
 * signature by the AK plus the SHA-256 of the HCL runtime data it is bound to.
 */
function evidenceCheckOperation(check: EvidenceCheck): () => void {
  switch (check) {
    case 'snp-report': {
      const vcek = generateKeyPairSync('ec', { namedCurve: 'P-384' });
      const report = randomBytes(0x2a0);
      const signature = sign('sha384', report, { key: vcek.privateKey, dsaEncoding: 'ieee-p1363' });
      return () => {
        if (!verify('sha384', report, { key: vcek.publicKey, dsaEncoding: 'ieee-p1363' }, signature)) throw new Error('floor: SNP verify failed');
      };
    }
    case 'tdx-quote': {
      const attestationKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const pck = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const body = randomBytes(632);
      const qeReport = randomBytes(384);
      const quoteSignature = sign('sha256', body, { key: attestationKey.privateKey, dsaEncoding: 'ieee-p1363' });
      const qeSignature = sign('sha256', qeReport, { key: pck.privateKey, dsaEncoding: 'ieee-p1363' });
      const authData = randomBytes(96);
      return () => {
        const ok =
          verify('sha256', body, { key: attestationKey.publicKey, dsaEncoding: 'ieee-p1363' }, quoteSignature) &&
          verify('sha256', qeReport, { key: pck.publicKey, dsaEncoding: 'ieee-p1363' }, qeSignature);
        if (!ok) throw new Error('floor: TDX verify failed');
        createHash('sha256').update(authData).digest();
      };
    }
    case 'vtpm-quote': {
      const ak = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const quote = randomBytes(145);
      const signature = sign('sha256', quote, ak.privateKey);
      const hclData = randomBytes(1200);
      return () => {
        if (!verify('sha256', quote, ak.publicKey, signature)) throw new Error('floor: vTPM verify failed');
        createHash('sha256').update(hclData).digest();
      };
    }
  }
}

/**
 * CPU milliseconds of one floor operation in this process: the fastest of five rounds of
 * `iterations` calls (process CPU time, so other load on the machine barely moves it).
 */
export function measureFloorMs(operation: () => void, iterations = 150): number {
  for (let i = 0; i < 20; i++) operation();
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 5; round++) {
    const start = process.cpuUsage();
    for (let i = 0; i < iterations; i++) operation();
    const used = process.cpuUsage(start);
    best = Math.min(best, (used.user + used.system) / 1000 / iterations);
  }
  return best;
}

export const TABLE_HEADER = `${'case'.padEnd(34)} ${'flows/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'KBS CPU ms/flow'.padStart(16)} ${'floor ms'.padStart(9)} ${'ratio'.padStart(6)} ${'client ms/flow'.padStart(15)}  load (1/5/15 min)`;

export function tableRow(name: string, result: FlowPhaseResult, floorMs: number): string {
  const cpuPerFlow = result.kbsCpuSeconds === undefined ? Number.NaN : (result.kbsCpuSeconds * 1000) / Math.max(1, result.flows);
  const failures = result.failures > 0 ? `  ${result.failures} FAILED: ${result.lastFailure}` : '';
  return (
    `${name.padEnd(34)} ${(result.flows / result.elapsedSeconds).toFixed(0).padStart(8)} ${percentile(result.latencies, 50).toFixed(2).padStart(8)} ${percentile(result.latencies, 99).toFixed(2).padStart(8)} ` +
    `${cpuPerFlow.toFixed(3).padStart(16)} ${floorMs.toFixed(3).padStart(9)} ${(cpuPerFlow / floorMs).toFixed(2).padStart(6)} ${((result.clientCpuSeconds * 1000) / Math.max(1, result.flows)).toFixed(3).padStart(15)}  ${result.loadBefore} -> ${result.loadAfter}${failures}`
  );
}
