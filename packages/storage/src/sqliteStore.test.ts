/**
 * Invariant: several SqliteStore instances (standing in for several KBS processes) on one
 * database file see each other's writes immediately, agree on create-if-absent races, and the
 * sweeper removes expired rows from disk.
 */
import Database from 'better-sqlite3';
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { SqliteStore } from './sqliteStore.ts';

const dirs: string[] = [];
function dbPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-store-'));
  dirs.push(dir);
  return join(dir, 'nested', 'kbs.sqlite');
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

test('two instances on one file share writes, deletes and create-if-absent', async () => {
  const path = dbPath();
  const a = new SqliteStore({ path, sweepIntervalMs: 0 });
  const b = new SqliteStore({ path, sweepIntervalMs: 0 });
  await a.set('kbs_protocol_session', 'abc', bytes('authed'));
  expect(new TextDecoder().decode(await b.get('kbs_protocol_session', 'abc'))).toBe('authed');
  expect(await b.set('kbs', 'resource-policy.rego', bytes('b'), { overwrite: false })).toBe(true);
  expect(await a.set('kbs', 'resource-policy.rego', bytes('a'), { overwrite: false })).toBe(false);
  expect(new TextDecoder().decode(await a.get('kbs', 'resource-policy.rego'))).toBe('b');
  expect(await b.delete('kbs_protocol_session', 'abc')).toBe(true);
  expect(await a.get('kbs_protocol_session', 'abc')).toBeUndefined();
  await a.close();
  await b.close();
});

test('uses the WAL journal (readers never block the writer)', async () => {
  const path = dbPath();
  const store = new SqliteStore({ path, sweepIntervalMs: 0 });
  await store.set('kbs', 'k', bytes('v'));
  const db = new Database(path, { readonly: true });
  expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
  db.close();
  await store.close();
});

test('writes from another OS process are visible (busy timeout handles the lock)', async () => {
  const path = dbPath();
  const store = new SqliteStore({ path, sweepIntervalMs: 0 });
  await store.set('kbs', 'parent', bytes('p'));
  const script = join(dirs[0] ?? tmpdir(), 'writer.cjs');
  writeFileSync(
    script,
    `const Database = require(${JSON.stringify(require_resolve())});
     const db = new Database(process.argv[2], { timeout: 5000 });
     db.pragma('journal_mode = WAL');
     const put = db.prepare('INSERT INTO kv (namespace, key, value, expires_at) VALUES (?, ?, ?, NULL) ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value');
     for (let i = 0; i < 200; i++) put.run('kbs', 'child-' + i, Buffer.from(String(i)));
     db.close();`,
  );
  const writes = Promise.all(Array.from({ length: 200 }, (_, i) => store.set('kbs', `parent-${i}`, bytes(String(i)))));
  await new Promise<void>((resolve, reject) => {
    const child = fork(script, [path], { stdio: 'inherit' });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer exited ${code}`))));
  });
  await writes;
  const keys = await store.list('kbs');
  expect(keys.filter((key) => key.startsWith('child-'))).toHaveLength(200);
  expect(keys.filter((key) => key.startsWith('parent-'))).toHaveLength(200);
  await store.close();
});

test('sweepExpired deletes expired rows only', async () => {
  let now = 1000;
  const path = dbPath();
  const store = new SqliteStore({ path, now: () => now, sweepIntervalMs: 0 });
  await store.set('s', 'old', bytes('x'), { expiresAtMs: 1500 });
  await store.set('s', 'young', bytes('y'), { expiresAtMs: 5000 });
  await store.set('s', 'forever', bytes('z'));
  now = 2000;
  expect(store.sweepExpired()).toBe(1);
  const db = new Database(path, { readonly: true });
  const rows = db.prepare('SELECT key FROM kv ORDER BY key').all() as Array<{ key: string }>;
  expect(rows.map((row) => row.key)).toEqual(['forever', 'young']);
  db.close();
  await store.close();
});

function require_resolve(): string {
  return createRequire(import.meta.url).resolve('better-sqlite3');
}

test('processes started together on a fresh file all open it (the WAL switch retries SQLITE_BUSY)', async () => {
  const { spawn } = await import('node:child_process');
  const moduleUrl = new URL('./sqliteStore.ts', import.meta.url).href;
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-race-'));
  // Each child loads the module, says "ready", then waits for the instant the parent sends once
  // all four are ready (so a slow start on a loaded machine cannot spoil the race), spins until
  // it, opens the store and writes one key.
  const script = (path: string): string =>
    `const { SqliteStore } = await import(${JSON.stringify(moduleUrl)});
     process.stdout.write('ready\\n');
     const at = await new Promise((resolve) => process.stdin.once('data', (chunk) => resolve(Number(String(chunk).trim()))));
     process.stdin.destroy();
     while (Date.now() < at) {}
     const store = new SqliteStore({ path: ${JSON.stringify(path)}, sweepIntervalMs: 0 });
     await store.set('race', String(process.pid), new Uint8Array([1]));
     await store.close();`;
  try {
    for (let round = 0; round < 8; round += 1) {
      const path = join(dir, `round-${round}.sqlite`);
      const children = Array.from({ length: 4 }, () => {
        const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script(path)]);
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        // A child that died before reading its instant must not fail the write with an unhandled EPIPE.
        child.stdin.on('error', () => undefined);
        const ready = new Promise<void>((resolve) => {
          let stdout = '';
          child.stdout.on('data', (chunk: Buffer) => {
            stdout += chunk.toString();
            if (stdout.includes('ready')) resolve();
          });
          child.on('exit', () => resolve());
        });
        const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
        return { child, ready, exited };
      });
      await Promise.all(children.map((c) => c.ready));
      const at = String(Date.now() + 200);
      for (const { child } of children) child.stdin.end(`${at}\n`);
      const results = await Promise.all(children.map((c) => c.exited));
      for (const result of results) expect(result.code, result.stderr).toBe(0);
      const store = new SqliteStore({ path, sweepIntervalMs: 0 });
      expect(await store.list('race')).toHaveLength(4);
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 240_000);

test('writes of one turn are group-committed in program order; a handle reads its own pending writes', async () => {
  const path = dbPath();
  const store = new SqliteStore({ path, sweepIntervalMs: 0 });
  const peer = new SqliteStore({ path, sweepIntervalMs: 0 });
  const first = store.set('kbs', 'k', bytes('one'));
  const claim = store.set('kbs', 'k', bytes('two'), { overwrite: false });
  const batch = store.setBatch([{ namespace: 'kbs', key: 'j', value: bytes('j') }, { namespace: 'kbs', key: 'k', value: bytes('x'), overwrite: false }, { namespace: 'kbs', key: 'never', value: bytes('x') }]);
  const removed = store.delete('kbs', 'k');
  const again = store.set('kbs', 'k', bytes('three'), { overwrite: false });
  // Not committed yet (the commit runs at the end of this turn), but this handle reads them.
  expect(new TextDecoder().decode(await store.get('kbs', 'k'))).toBe('three');
  expect(await Promise.all([first, claim, batch, removed, again])).toEqual([true, false, 1, true, true]);
  expect(new TextDecoder().decode(await peer.get('kbs', 'j'))).toBe('j');
  expect(await peer.get('kbs', 'never')).toBeUndefined();
  await store.close();
  await peer.close();
});

test('a write SQLite refuses fails alone; the other writes of its turn are committed', async () => {
  const path = dbPath();
  const store = new SqliteStore({ path, sweepIntervalMs: 0 });
  await store.set('kbs', 'setup', bytes('x'));
  const raw = new Database(path);
  raw.exec(`CREATE TRIGGER refuse_bad BEFORE INSERT ON kv WHEN NEW.key = 'bad' BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END;`);
  raw.close();
  const results = await Promise.allSettled([store.set('kbs', 'a', bytes('a')), store.set('kbs', 'bad', bytes('b')), store.set('kbs', 'c', bytes('c'))]);
  expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'backend_failure' });
  expect(await store.list('kbs')).toEqual(['a', 'c', 'setup']);
  await store.close();
});

test('close commits the writes already asked for', async () => {
  const path = dbPath();
  const store = new SqliteStore({ path, sweepIntervalMs: 0 });
  const written = store.set('kbs', 'late', bytes('x'));
  await store.close();
  await expect(written).resolves.toBe(true);
  await expect(store.set('kbs', 'after', bytes('x'))).rejects.toMatchObject({ code: 'closed' });
  const reader = new SqliteStore({ path, sweepIntervalMs: 0 });
  expect(await reader.list('kbs')).toEqual(['late']);
  await reader.close();
});

test('a file made with the WITHOUT ROWID layout is rewritten as a rowid table once, its rows kept', async () => {
  const path = dbPath();
  const first = new SqliteStore({ path, sweepIntervalMs: 0 });
  await first.close();
  const raw = new Database(path);
  raw.exec(`DROP TABLE kv;
            CREATE TABLE kv (namespace TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, expires_at INTEGER, PRIMARY KEY (namespace, key)) WITHOUT ROWID;
            INSERT INTO kv VALUES ('kbs', 'a', x'61', NULL), ('kbs', 'b', x'62', 1), ('other', 'c', x'63', NULL);`);
  raw.close();
  const store = new SqliteStore({ path, sweepIntervalMs: 0 });
  const peer = new SqliteStore({ path, sweepIntervalMs: 0 });
  expect(await store.list('kbs')).toEqual(['a']);
  expect(new TextDecoder().decode(await peer.get('other', 'c'))).toBe('c');
  expect(await store.set('kbs', 'a', bytes('again'), { overwrite: false })).toBe(false);
  await store.close();
  await peer.close();
  const check = new Database(path, { readonly: true });
  const sql = (check.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'kv'").get() as { sql: string }).sql;
  expect(sql).not.toMatch(/WITHOUT\s+ROWID/i);
  expect((check.prepare('SELECT count(*) AS n FROM kv').get() as { n: number }).n).toBe(3);
  check.close();
});

test('a read of another key leaves the turn\'s writes pending; a read of a pending key or namespace commits them first', async () => {
  const path = dbPath();
  const store = new SqliteStore({ path, sweepIntervalMs: 0 });
  const peer = new SqliteStore({ path, sweepIntervalMs: 0 });
  const written = store.set('kbs', 'a', bytes('a'));
  expect(await store.get('kbs', 'b')).toBeUndefined();
  expect(await store.list('other')).toEqual([]);
  expect(await peer.get('kbs', 'a')).toBeUndefined(); // still pending: one group commit for the turn
  expect(await store.list('kbs')).toEqual(['a']);
  expect(new TextDecoder().decode(await peer.get('kbs', 'a'))).toBe('a');
  await expect(written).resolves.toBe(true);
  const batch = store.setBatch([{ namespace: 'kbs', key: 'c', value: bytes('c') }]);
  expect(new TextDecoder().decode(await store.get('kbs', 'c'))).toBe('c');
  await expect(batch).resolves.toBe(1);
  await store.close();
  await peer.close();
});

const counterPlan = (read: (key: string) => Uint8Array | undefined): { writes: { key: string; value: Uint8Array }[]; result: number } => {
  const current = read('counter');
  const next = (current === undefined ? 0 : Number(new TextDecoder().decode(current))) + 1;
  return { writes: [{ key: 'counter', value: bytes(String(next)) }], result: next };
};

test('updateExclusive: read-then-write increments from two handles and another OS process lose no update', async () => {
  const path = dbPath();
  const a = new SqliteStore({ path, sweepIntervalMs: 0 });
  const b = new SqliteStore({ path, sweepIntervalMs: 0 });
  await a.set('ctr', 'counter', bytes('0'));
  const script = join(dirs[0] ?? tmpdir(), 'incrementer.cjs');
  // The other process increments the same row with its own read-then-write transactions.
  writeFileSync(
    script,
    `const Database = require(${JSON.stringify(require_resolve())});
     const db = new Database(process.argv[2], { timeout: 5000 });
     const get = db.prepare("SELECT value FROM kv WHERE namespace = 'ctr' AND key = 'counter'");
     const put = db.prepare("UPDATE kv SET value = ? WHERE namespace = 'ctr' AND key = 'counter'");
     const increment = db.transaction(() => { put.run(Buffer.from(String(Number(get.get().value.toString()) + 1))); }).immediate;
     for (let i = 0; i < 300; i++) increment();
     db.close();`,
  );
  const child = new Promise<void>((resolve, reject) => {
    const process = fork(script, [path], { stdio: 'inherit' });
    process.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`incrementer exited ${code}`))));
  });
  const results: number[] = [];
  for (let round = 0; round < 50; round++) {
    // Several exclusive updates per turn on each handle: each sees the one before it.
    results.push(...(await Promise.all([a, b, a, b, a, b].map((store) => store.updateExclusive('ctr', counterPlan)))));
  }
  await child;
  expect(new TextDecoder().decode(await a.get('ctr', 'counter'))).toBe(String(300 + 300));
  expect(new Set(results).size).toBe(300); // every increment saw a different value
  await a.close();
  await b.close();
});

test('updateExclusive: a pending plan is committed before a read of its namespace; a plan whose create finds the key fails alone', async () => {
  const path = dbPath();
  const store = new SqliteStore({ path, sweepIntervalMs: 0 });
  const peer = new SqliteStore({ path, sweepIntervalMs: 0 });
  const first = store.updateExclusive('ctr', counterPlan);
  expect(new TextDecoder().decode(await store.get('ctr', 'counter'))).toBe('1');
  await expect(first).resolves.toBe(1);
  await peer.set('ctr', 'taken', bytes('peer'));
  const other = store.set('kbs', 'beside', bytes('x'));
  const refused = store.updateExclusive('ctr', () => ({ writes: [{ key: 'fresh', value: bytes('f') }, { key: 'taken', value: bytes('mine'), overwrite: false }], result: 'done' }));
  await expect(refused).rejects.toThrow(/ctr\/taken already exists/);
  await expect(other).resolves.toBe(true);
  expect(await peer.get('ctr', 'fresh')).toBeUndefined(); // nothing of the refused plan was applied
  expect(new TextDecoder().decode(await peer.get('ctr', 'taken'))).toBe('peer');
  await store.close();
  await peer.close();
});
