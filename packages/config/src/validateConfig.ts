/**
 * Validates a decoded config document against its zod schema and turns every problem into one
 * ConfigError with dotted key paths. Objects in the schemas are strict (`z.strictObject`): a key
 * the schema does not know is refused with its path and the nearest known key, unless the
 * operator opted in to `--allow-unknown-config`, which turns those refusals into warnings (and
 * drops the keys) so a config written for a newer upstream still starts.
 */
import type { z } from 'zod';
import { ConfigError } from './configError.ts';
import { unknownNameHint } from './nearestName.ts';

export interface ValidateOptions {
  /** Prefixes every path in messages, e.g. the file name (`/etc/kbs.toml: http_server.sockets: ...`). */
  readonly where?: string;
  /** `--allow-unknown-config`: unknown keys become warnings instead of errors. */
  readonly allowUnknown?: boolean;
  /** Where `raw` sits in its document (`storage_backend`), prepended to every key path. */
  readonly at?: string;
}

export interface Validated<T> {
  readonly value: T;
  /** One sentence per unknown key dropped under `allowUnknown`. */
  readonly warnings: readonly string[];
}

type Path = readonly PropertyKey[];

/** `a.b[0].c`; a key that is not a plain identifier is quoted (`pinned_versions."repo/key/tag"`). */
export function formatPath(path: Path): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else {
      const key = String(segment);
      const part = /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
      text += text === '' ? part : `.${part}`;
    }
  }
  return text;
}

const KNOWN_KEYS_MARK = '\u0000known:';

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a date';
  if (typeof value === 'object') return 'a table';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'undefined') return 'nothing';
  return `${typeof value} ${String(value)}`;
}

/** Messages in the config's words (TOML "table", the value found) instead of zod's defaults. */
const errorMap = (issue: z.core.$ZodRawIssue): string | undefined => {
  if (issue.code === 'unrecognized_keys') {
    const shape = (issue.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def?.shape;
    return KNOWN_KEYS_MARK + JSON.stringify(Object.keys(shape ?? {}));
  }
  if (issue.code === 'invalid_type') {
    const names: Readonly<Record<string, string>> = { object: 'a table', record: 'a table', array: 'an array', int: 'an integer' };
    const expected = names[issue.expected] ?? `a ${issue.expected}`;
    return issue.input === undefined ? 'required' : `expected ${expected}, found ${kindOf(issue.input)}`;
  }
  if (issue.code === 'invalid_value') return `expected one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}, found ${kindOf(issue.input)}`;
  if (issue.code === 'too_small' && issue.origin === 'array') return Number(issue.minimum) === 1 ? 'at least one entry required' : `at least ${String(issue.minimum)} entries required`;
  if (issue.code === 'too_small' && issue.origin === 'string') return 'must not be empty';
  if (issue.code === 'too_small') return `must be ${issue.inclusive === false ? 'greater than' : 'at least'} ${String(issue.minimum)}`;
  if (issue.code === 'too_big') return `must be ${issue.inclusive === false ? 'less than' : 'at most'} ${String(issue.maximum)}`;
  return undefined;
};

interface Problem {
  readonly path: string;
  readonly message: string;
  readonly unknown: readonly PropertyKey[] | undefined;
}

function problemsOf(error: z.ZodError): Problem[] {
  const problems: Problem[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys' && issue.message.startsWith(KNOWN_KEYS_MARK)) {
      const known = JSON.parse(issue.message.slice(KNOWN_KEYS_MARK.length)) as string[];
      for (const key of issue.keys) {
        problems.push({ path: formatPath([...issue.path, key]), message: `unknown key (${unknownNameHint(key, known)})`, unknown: [...issue.path, key] });
      }
    } else if (issue.code === 'invalid_union') {
      // The branch closest to the input: the one with the fewest problems.
      const branches = issue.errors.map((branch) => branch.map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] })));
      const best = branches.sort((a, b) => a.length - b.length)[0];
      if (best === undefined || best.length === 0) problems.push({ path: formatPath(issue.path), message: issue.message, unknown: undefined });
      else problems.push(...problemsOf({ issues: best } as unknown as z.ZodError));
    } else {
      problems.push({ path: formatPath(issue.path), message: issue.message, unknown: undefined });
    }
  }
  return problems;
}

function joinPath(at: string | undefined, path: string): string {
  if (at === undefined || at === '') return path;
  if (path === '') return at;
  return path.startsWith('[') ? `${at}${path}` : `${at}.${path}`;
}

function withoutKey(value: unknown, path: readonly PropertyKey[]): unknown {
  if (path.length === 0 || typeof value !== 'object' || value === null) return value;
  const [head, ...rest] = path;
  if (Array.isArray(value)) return value.map((item, index) => (index === head ? withoutKey(item, rest) : item));
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  const key = String(head);
  if (rest.length === 0) delete copy[key];
  else copy[key] = withoutKey(copy[key], rest);
  return copy;
}

/**
 * Validates `raw` against `schema`.
 *
 * @throws ConfigError listing every problem as `path: message`, its `path` the first one's.
 * @example validateConfig(kbsConfigSchema, raw, { where: '/etc/kbs-config.toml' })
 */
export function validateConfig<S extends z.ZodType>(schema: S, raw: unknown, options: ValidateOptions = {}): Validated<z.output<S>> {
  const warnings: string[] = [];
  let input = raw;
  const prefix = options.where === undefined || options.where === '' ? '' : `${options.where}: `;
  // Each pass drops the unknown keys it found; a second pass can only find fewer.
  for (let pass = 0; pass < 3; pass += 1) {
    const result = schema.safeParse(input, { error: errorMap });
    if (result.success) return { value: result.data, warnings };
    const problems = problemsOf(result.error).map((problem) => ({ ...problem, path: joinPath(options.at, problem.path) }));
    const unknown = problems.filter((problem) => problem.unknown !== undefined);
    if (options.allowUnknown === true && unknown.length > 0) {
      for (const problem of unknown) {
        warnings.push(`${prefix}${problem.path}: ${problem.message.replace(/^unknown key/, 'unknown key ignored (--allow-unknown-config)')}`);
        input = withoutKey(input, problem.unknown ?? []);
      }
      continue;
    }
    const lines = problems.map((problem) => (problem.path === '' ? problem.message : `${problem.path}: ${problem.message}`));
    throw new ConfigError(`${prefix}${lines.join(`\n${prefix}`)}`, { path: problems[0]?.path ?? '' });
  }
  throw new ConfigError(`${prefix}the configuration could not be validated`);
}
