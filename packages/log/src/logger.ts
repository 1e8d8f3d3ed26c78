/**
 * The one logging interface of trustee-ts, pino underneath. Packages take a `Logger` (any pino
 * logger fits it, so a fastify `request.log` does too); services make one root logger with
 * `createLogger` and hand it, or a child of it carrying a request id, to everything they
 * compose. One JSON line per event on stderr: `{"level":"warn","time":"…","msg":"…",…}` plus the
 * child's bindings (`reqId`, `service`). Callers log codes, ids, sizes and digests — never
 * tokens, keys, evidence or payloads.
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

export type LogFields = Record<string, unknown>;

/** pino's call shapes: a message, or fields and a message. */
export interface LogFn {
  (message: string): void;
  (fields: LogFields, message: string): void;
}

export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  /** A logger that adds `bindings` to every line (e.g. `{ reqId }`). */
  child(bindings: LogFields): Logger;
  /** The fields this logger adds to every line (pino's `bindings()`), e.g. a request logger's `reqId`. */
  bindings?(): LogFields;
}

/**
 * The `reqId` a request's logger was made with, so a call to another service can carry it (the
 * KBS sends it to a gRPC attestation service as `x-request-id`); undefined when there is none.
 */
export function requestIdOf(log: Logger | undefined): string | undefined {
  const id = log?.bindings?.()['reqId'];
  return typeof id === 'string' ? id : undefined;
}

/** The concrete logger a service makes: a pino logger, also usable as fastify's `loggerInstance`. */
export type RootLogger = PinoLogger;

export interface CreateLoggerOptions {
  /** `debug` | `info` | `warn` | `error` | `silent`; default `info`. */
  readonly level?: string | undefined;
  /** Where lines go; default stderr. */
  readonly stream?: DestinationStream | NodeJS.WritableStream;
  /** Added to every line as `service`. */
  readonly service?: string;
}

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

export function createLogger(options: CreateLoggerOptions = {}): RootLogger {
  const level = options.level !== undefined && LEVELS.has(options.level) ? options.level : 'info';
  return pino(
    {
      level,
      base: options.service === undefined ? null : { service: options.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    (options.stream ?? process.stderr) as DestinationStream,
  );
}

/** A logger that writes nothing (tests, and compositions given no logger). */
export const silentLogger: RootLogger = pino({ level: 'silent' });
