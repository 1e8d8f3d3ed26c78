/**
 * Reads a config file and decodes it by its extension, as upstream's `config` crate does
 * (`File::with_name`): `.toml`, `.yaml` / `.yml`, `.json`. A file with another extension is read
 * in the service's own format (TOML for the KBS, JSON for the AS and the RVPS).
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from './configError.ts';

export type ConfigFormat = 'toml' | 'yaml' | 'json';

/** Largest config file read (a config is a few KiB; a larger file is not a config). */
export const MAX_CONFIG_FILE_BYTES = 4 * 1024 * 1024;

const FORMAT_NAMES: Readonly<Record<ConfigFormat, string>> = { toml: 'TOML', yaml: 'YAML', json: 'JSON' };

export function configFormatOf(file: string, fallback: ConfigFormat): ConfigFormat {
  const extension = extname(file).toLowerCase();
  if (extension === '.toml') return 'toml';
  if (extension === '.yaml' || extension === '.yml') return 'yaml';
  if (extension === '.json') return 'json';
  return fallback;
}

/** Decodes config text; a syntax error is a ConfigError naming the file and the format. */
export function decodeConfigText(text: string, file: string, format: ConfigFormat): unknown {
  try {
    if (format === 'toml') return parseToml(text);
    // Aliases bounded: a "billion laughs" document must not expand without limit.
    if (format === 'yaml') return parseYaml(text, { maxAliasCount: 100 }) as unknown;
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ConfigError(`${file}: invalid ${FORMAT_NAMES[format]}: ${(error as Error).message}`, { cause: error });
  }
}

export interface ReadConfigOptions {
  /** The format of a file whose extension is none of .toml, .yaml, .yml, .json. */
  readonly defaultFormat: ConfigFormat;
}

/** Reads and decodes `file`; `ENOENT` and the like are ConfigErrors naming the file. */
export async function readConfigFile(file: string, options: ReadConfigOptions): Promise<unknown> {
  let text: string;
  try {
    const bytes = await readFile(file);
    if (bytes.length > MAX_CONFIG_FILE_BYTES) throw new ConfigError(`${file}: larger than ${MAX_CONFIG_FILE_BYTES} bytes, not a config file`);
    text = bytes.toString('utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error });
  }
  return decodeConfigText(text, file, configFormatOf(file, options.defaultFormat));
}
