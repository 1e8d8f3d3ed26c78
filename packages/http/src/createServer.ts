/**
 * The one fastify set-up of the three HTTP services (KBS, AS REST, RVPS REST): plain HTTP or
 * HTTPS from the same code path, no HEAD routes unless asked, no fastify logger unless passed
 * (`loggerInstance`: a `@trustee/log` root logger, so `request.log` lines carry `reqId`) and no
 * per-request access lines.
 * The node server is made here (fastify's `serverFactory`), so an HTTPS server is typed as the
 * `http.Server` it extends and every service gets a plain `FastifyInstance`; fastify's own
 * connection settings (keep-alive, request timeout, socket timeout, requests per socket) are
 * applied to it exactly as fastify applies them to a server of its own.
 */
import { createServer as createHttpServer, type Server, type ServerOptions as HttpServerOptions } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsServerOptions } from 'node:https';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';

/** TLS settings of an HTTPS server: key and certificate, plus any other node TLS option (versions, ciphers, groups). */
export type ServerTls = HttpsServerOptions & { readonly key: Buffer | string; readonly cert: Buffer | string };

export interface CreateServerOptions extends Omit<FastifyServerOptions, 'serverFactory' | 'https' | 'http' | 'http2'> {
  /** Serve HTTPS with these settings; absent: plain HTTP. */
  readonly tls?: ServerTls | undefined;
  /** Node's `headersTimeout` (ms): the whole header block must arrive within it. */
  readonly headersTimeout?: number;
  /** Node's `connectionsCheckingInterval` (ms): how often request and header timeouts are checked. */
  readonly connectionsCheckingInterval?: number;
}

function positive(value: unknown): number | undefined {
  return typeof value === 'number' && value > 0 ? value : undefined;
}

export function createServer(options: CreateServerOptions = {}): FastifyInstance {
  const { tls, headersTimeout, connectionsCheckingInterval, ...fastifyOptions } = options;
  const nodeOptions: HttpServerOptions = {
    ...(headersTimeout === undefined ? {} : { headersTimeout }),
    ...(connectionsCheckingInterval === undefined ? {} : { connectionsCheckingInterval }),
  };
  return Fastify({
    logger: false,
    exposeHeadRoutes: false,
    // No per-request access lines: each service logs its failures itself, with the request id.
    logController: new LogController({ disableRequestLogging: true }),
    ...fastifyOptions,
    // `settings` are fastify's options with its defaults filled in (keep-alive 72 s, no request
    // or socket timeout), applied here as fastify applies them to the servers it makes itself.
    serverFactory: (handler, settings): Server => {
      const server = tls === undefined ? createHttpServer(nodeOptions, handler) : createHttpsServer({ ...nodeOptions, ...tls }, handler);
      server.keepAliveTimeout = positive(settings['keepAliveTimeout']) ?? 72_000;
      server.requestTimeout = positive(settings['requestTimeout']) ?? 0;
      server.setTimeout(positive(settings['connectionTimeout']) ?? 0);
      const maxRequestsPerSocket = positive(settings['maxRequestsPerSocket']);
      if (maxRequestsPerSocket !== undefined) server.maxRequestsPerSocket = maxRequestsPerSocket;
      return server;
    },
  });
}
