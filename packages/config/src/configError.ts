import { TrusteeError } from '@trustee/errors';

/**
 * The one "bad configuration" error of every trustee-ts service: a config file that cannot be
 * read, decoded or validated, or a setting that cannot be honoured. `path` is the dotted key
 * path of the first problem (`http_server.tls_min_version`, `plugins[0].vault_url`), or '' when
 * the problem is the file itself; the message names every problem found, one per line.
 */
export class ConfigError extends TrusteeError<'invalid_config'> {
  readonly path: string;

  constructor(message: string, options?: { readonly path?: string; readonly cause?: unknown }) {
    super('invalid_config', message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.path = options?.path ?? '';
  }

  /** `path: message`, the form every config problem is reported in. */
  static at(path: string, message: string): ConfigError {
    return new ConfigError(path === '' ? message : `${path}: ${message}`, { path });
  }
}
