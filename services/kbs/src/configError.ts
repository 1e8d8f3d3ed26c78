/** A configuration problem, with the TOML path it concerns in the message (`admin.authentication...: ...`). */
import { errorClassWithCode } from '@trustee/errors';
export class ConfigError extends errorClassWithCode('invalid_config') {}

export type Table = Record<string, unknown>;

export function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

export function table(value: unknown, path: string): Table {
  if (!isTable(value)) throw new ConfigError(`${path}: expected a table`);
  return value;
}

export function optionalTable(parent: Table, key: string, path: string): Table | undefined {
  const value = parent[key];
  return value === undefined ? undefined : table(value, `${path}.${key}`);
}

export function optionalString(parent: Table, key: string, path: string): string | undefined {
  const value = parent[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new ConfigError(`${path}.${key}: expected a string`);
  return value;
}

export function requiredString(parent: Table, key: string, path: string): string {
  const value = optionalString(parent, key, path);
  if (value === undefined) throw new ConfigError(`${path}.${key}: required`);
  return value;
}

export function optionalBoolean(parent: Table, key: string, path: string): boolean | undefined {
  const value = parent[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new ConfigError(`${path}.${key}: expected true or false`);
  return value;
}

export function optionalInteger(parent: Table, key: string, path: string, min: number, max: number): number | undefined {
  const value = parent[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${path}.${key}: expected an integer from ${min} to ${max}`);
  }
  return value;
}

export function stringArray(parent: Table, key: string, path: string): string[] {
  const value = parent[key];
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new ConfigError(`${path}.${key}: expected an array of strings`);
  return value.map((item, index) => {
    if (typeof item !== 'string') throw new ConfigError(`${path}.${key}[${index}]: expected a string`);
    return item;
  });
}

export function tableArray(parent: Table, key: string, path: string): Table[] {
  const value = parent[key];
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new ConfigError(`${path}.${key}: expected an array of tables`);
  return value.map((item, index) => table(item, `${path}.${key}[${index}]`));
}

/** serde `deny_unknown_fields`: the `[admin]` tables reject keys they do not know. */
export function rejectUnknownKeys(value: Table, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new ConfigError(`${path}: unknown field \`${key}\`, expected one of ${allowed.map((k) => `\`${k}\``).join(', ')}`);
  }
}
