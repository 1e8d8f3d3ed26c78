// Invariant: a temp file is created exclusively inside the given directory, owner-only, with the
// complete value; a failed write leaves no file behind.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { writeSyncedTempFile } from './syncedTempFile.ts';

const dir = mkdtempSync(join(tmpdir(), 'synced-temp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('writes the value to a fresh 0600 file named <prefix><hex> in the directory', async () => {
  const first = await writeSyncedTempFile(dir, '.tmp-', Uint8Array.of(1, 2, 3));
  const second = await writeSyncedTempFile(dir, '.tmp-', 'text');
  expect(dirname(first)).toBe(dir);
  expect(basename(first)).toMatch(/^\.tmp-[0-9a-f]{24}$/);
  expect(second).not.toBe(first);
  expect([...readFileSync(first)]).toEqual([1, 2, 3]);
  expect(readFileSync(second, 'utf8')).toBe('text');
  expect(statSync(first).mode & 0o777).toBe(0o600);
});

test('a missing directory rejects and creates nothing', async () => {
  const before = readdirSync(dir).length;
  await expect(writeSyncedTempFile(join(dir, 'missing'), '', 'x')).rejects.toThrow(/ENOENT/);
  expect(readdirSync(dir).length).toBe(before);
});
