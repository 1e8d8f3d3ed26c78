/**
 * Minimal HTTP(S) client on node:http/node:https. HTTPS trusts the system roots plus an
 * optional extra CA (kbs-client `--cert-file` adds a root like reqwest's
 * `add_root_certificate`, it does not replace the defaults).
 */
import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { KbsClientError } from './kbsClientError.ts';

export interface HttpRequest {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly url: URL;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface HttpTransportOptions {
  /** Extra trusted root CA(s), PEM. */
  readonly caCertPem?: string;
  /** Per-request timeout; the Rust client uses 60 s. */
  readonly timeoutMs?: number;
  /** Largest accepted response body. */
  readonly maxResponseBytes?: number;
  readonly userAgent?: string;
}

export type HttpTransport = (request: HttpRequest) => Promise<HttpResponse>;

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** Creates a transport bound to the given TLS trust and limits. */
export function createHttpTransport(options: HttpTransportOptions = {}): HttpTransport {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const ca = options.caCertPem === undefined ? undefined : [...rootCertificates, options.caCertPem];

  return (request) =>
    new Promise<HttpResponse>((resolve, reject) => {
      const { url } = request;
      const headers: Record<string, string> = { ...(options.userAgent === undefined ? {} : { 'User-Agent': options.userAgent }), ...request.headers };
      if (request.body !== undefined) headers['Content-Length'] = String(request.body.byteLength);
      const fail = (message: string, cause?: unknown): void => reject(new KbsClientError('http', message, { cause }));

      let outgoing: http.ClientRequest;
      const onResponse = (response: http.IncomingMessage): void => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            outgoing.destroy();
            fail(`${request.method} ${url.pathname}: response body larger than ${maxBytes} bytes`);
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
        response.on('error', (error) => fail(`${request.method} ${url.pathname}: ${error.message}`, error));
      };

      if (url.protocol === 'https:') {
        outgoing = https.request(url, { method: request.method, headers, ...(ca === undefined ? {} : { ca }) }, onResponse);
      } else if (url.protocol === 'http:') {
        outgoing = http.request(url, { method: request.method, headers }, onResponse);
      } else {
        fail(`unsupported URL scheme ${url.protocol}`);
        return;
      }
      outgoing.setTimeout(timeoutMs, () => {
        outgoing.destroy();
        fail(`${request.method} ${url.pathname}: timed out after ${timeoutMs} ms`);
      });
      outgoing.on('error', (error) => fail(`${request.method} ${url.origin}${url.pathname}: ${error.message}`, error));
      outgoing.end(request.body === undefined ? undefined : Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength));
    });
}
