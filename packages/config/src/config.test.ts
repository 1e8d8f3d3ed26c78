/**
 * Invariant: one reader for every service's config — TOML, YAML and JSON by extension, every
 * problem reported as `path: message` in one ConfigError, an unknown key refused with its dotted
 * path and the nearest known key, and `allowUnknown` turning exactly those refusals into warnings.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { ConfigError, fail, nearestName, readConfigFile, validateConfig } from './index.ts';

const schema = z.strictObject({
  server: z.strictObject({ sockets: z.array(z.string()).min(1), insecure_http: z.boolean().optional() }),
  plugins: z.array(z.strictObject({ name: z.string(), 'dir path': z.string().optional() })).optional(),
  limit: z
    .number()
    .int()
    .min(1)
    .optional()
    .transform((value, ctx) => {
      if (value === 13) fail(ctx, [], 'unlucky');
      return value ?? 5;
    }),
});

/** The ConfigError validating `raw` throws (the test fails if it is accepted or throws anything else). */
function refusal(raw: unknown, options = {}): ConfigError {
  const thrown = ((): unknown => {
    try {
      return validateConfig(schema, raw, options);
    } catch (error) {
      return error;
    }
  })();
  expect(thrown).toBeInstanceOf(ConfigError);
  return thrown as ConfigError;
}

describe('validateConfig', () => {
  test('a valid document comes back typed with its defaults', () => {
    expect(validateConfig(schema, { server: { sockets: ['a:1'] } })).toEqual({ value: { server: { sockets: ['a:1'] }, limit: 5 }, warnings: [] });
  });

  test('an unknown key names its dotted path and the nearest known key, or the known keys', () => {
    const typo = refusal({ server: { sockets: ['a:1'], insecure_htp: true } });
    expect(typo.message).toBe('server.insecure_htp: unknown key (did you mean "insecure_http"?)');
    expect(typo.path).toBe('server.insecure_htp');
    expect(typo.code).toBe('invalid_config');
    expect(refusal({ server: { sockets: ['a:1'] }, zzz: 1 }).message).toBe('zzz: unknown key (known keys: server, plugins, limit)');
    expect(refusal({ server: { sockets: ['a:1'] }, plugins: [{ name: 'x', dir_pth: '/' }] }).message).toBe('plugins[0].dir_pth: unknown key (did you mean "dir path"?)');
  });

  test('every problem is listed, the file named first on each line', () => {
    const error = refusal({ server: { sockets: [] }, limit: 1.5 }, { where: '/etc/x.toml' });
    expect(error.message).toBe('/etc/x.toml: server.sockets: at least one entry required\n/etc/x.toml: limit: expected an integer, found number 1.5');
    expect(refusal({ server: { sockets: ['a'] }, limit: 13 }).message).toBe('limit: unlucky');
    expect(refusal({ server: 'x' }).message).toBe('server: expected a table, found the string "x"');
    expect(refusal({}).message).toBe('server: required');
  });

  test('allowUnknown drops unknown keys with a warning each, and still refuses everything else', () => {
    const { value, warnings } = validateConfig(schema, { server: { sockets: ['a:1'], future: 1 }, newer: {} }, { allowUnknown: true, where: 'f.toml' });
    expect(value).toEqual({ server: { sockets: ['a:1'] }, limit: 5 });
    expect(warnings).toEqual(['f.toml: server.future: unknown key ignored (--allow-unknown-config) (known keys: sockets, insecure_http)', 'f.toml: newer: unknown key ignored (--allow-unknown-config) (known keys: server, plugins, limit)']);
    expect(() => validateConfig(schema, { server: { sockets: 'a', future: 1 } }, { allowUnknown: true })).toThrow('server.sockets: expected an array, found the string "a"');
  });

  test('`at` places a table held apart from its document', () => {
    expect(() => validateConfig(schema, { server: {} }, { at: 'section' })).toThrow('section.server.sockets: required');
  });
});

describe('readConfigFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'config-read-'));
  const write = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  test.each([
    ['c.toml', '[server]\nsockets = ["a:1"]\n'],
    ['c.yaml', 'server:\n  sockets: ["a:1"]\n'],
    ['c.yml', 'server:\n  sockets:\n    - a:1\n'],
    ['c.json', '{"server": {"sockets": ["a:1"]}}'],
    ['c.conf', '[server]\nsockets = ["a:1"]\n'],
  ])('%s decodes by extension (TOML otherwise, for this caller)', async (name, text) => {
    expect(await readConfigFile(write(name, text), { defaultFormat: 'toml' })).toEqual({ server: { sockets: ['a:1'] } });
  });

  test('syntax errors and unreadable files name the file and the format', async () => {
    await expect(readConfigFile(write('bad.json', '{'), { defaultFormat: 'toml' })).rejects.toThrow(/bad\.json: invalid JSON/);
    await expect(readConfigFile(write('bad.yaml', 'a: [1'), { defaultFormat: 'toml' })).rejects.toThrow(/bad\.yaml: invalid YAML/);
    await expect(readConfigFile(join(dir, 'missing.toml'), { defaultFormat: 'toml' })).rejects.toThrow(/missing\.toml: cannot read \(ENOENT\)/);
  });

  test('YAML alias bombs are refused', async () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`)].join('\n');
    await expect(readConfigFile(write('bomb.yaml', bomb), { defaultFormat: 'toml' })).rejects.toThrow(ConfigError);
  });
});

test('nearestName: close typos only', () => {
  expect(nearestName('storage_typ', ['storage_type', 'backends'])).toBe('storage_type');
  expect(nearestName('tls_minversion', ['tls_min_version', 'tls_max_version'])).toBe('tls_min_version');
  expect(nearestName('zzz', ['storage_type', 'backends'])).toBeUndefined();
});
