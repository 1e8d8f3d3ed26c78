/**
 * A minimal HTTP/1.1 client over node:http. Paths are sent exactly as given (no WHATWG URL
 * normalisation, which would silently resolve `..` and defeat path-traversal tests), and a
 * one-cookie jar keeps `kbs-session-id` the way reqwest's jar does for the Rust guest.
 */
import { request as httpPlainRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

export interface HttpRequest {
  readonly method: string;
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array | string;
  /** Extra trusted root (PEM) for https:// base URLs; the system store is not used then. */
  readonly ca?: string;
}

export function httpRequest(baseUrl: string, req: HttpRequest): Promise<HttpResponse> {
  const base = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...req.headers };
    if (req.body !== undefined) headers['content-length'] = Buffer.byteLength(req.body);
    const options = { host: base.hostname, port: base.port, method: req.method, path: req.path, headers, agent: false as const };
    const send = base.protocol === 'https:' ? httpsRequest : httpPlainRequest;
    const clientRequest = send(
      base.protocol === 'https:' && req.ca !== undefined ? { ...options, ca: req.ca } : options,
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
        response.on('error', reject);
      },
    );
    clientRequest.setTimeout(30_000, () => clientRequest.destroy(new Error(`${req.method} ${req.path} timed out`)));
    clientRequest.on('error', reject);
    if (req.body !== undefined) clientRequest.write(req.body);
    clientRequest.end();
  });
}

export function jsonBody(response: HttpResponse): unknown {
  return JSON.parse(response.body.toString('utf8')) as unknown;
}

export interface ParsedCookie {
  readonly name: string;
  readonly value: string;
  readonly attributes: Readonly<Record<string, string>>;
}

/** Parses every `Set-Cookie` header of a response. */
export function parseSetCookies(response: HttpResponse): ParsedCookie[] {
  const raw = response.headers['set-cookie'];
  const lines = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return lines.map((line) => {
    const [pair = '', ...attributeParts] = line.split(';');
    const eq = pair.indexOf('=');
    const attributes: Record<string, string> = {};
    for (const part of attributeParts) {
      const index = part.indexOf('=');
      const key = (index < 0 ? part : part.slice(0, index)).trim().toLowerCase();
      attributes[key] = index < 0 ? '' : part.slice(index + 1).trim();
    }
    return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attributes };
  });
}
