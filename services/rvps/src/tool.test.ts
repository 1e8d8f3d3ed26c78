/**
 * Invariant: rvps-tool speaks to a real RVPS over gRPC with upstream's commands and output
 * texts (register, query incl. "No reference values found…"), and the admin commands send the
 * token from a file and surface the server's status.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MemoryStore, parseStorageBackendConfig } from '@trustee/storage';
import { composeRvps, type ComposedRvps } from './compose.ts';
import { bindGrpcServer } from './grpcServer.ts';
import { createAdminKeys, sampleMessage } from './testing/messages.ts';
import { runTool } from './tool.ts';

const dir = mkdtempSync(join(tmpdir(), 'rvps-tool-'));
const admin = createAdminKeys(dir);
let rvps: ComposedRvps;
let address = '';

async function tool(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runTool(argv, { out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out, err };
}

beforeAll(async () => {
  rvps = await composeRvps({ storage: parseStorageBackendConfig({ storage_type: 'Memory' }), admin: { identityProviders: [{ publicKeyUri: admin.publicKeyPath }], protectRegister: false } }, { store: new MemoryStore() });
  address = `http://127.0.0.1:${await bindGrpcServer(rvps.grpcServer, '127.0.0.1', 0)}`;
});

afterAll(async () => {
  await rvps.close();
});

describe('rvps-tool', () => {
  test('register, query, list, delete', async () => {
    const messagePath = join(dir, 'message.json');
    writeFileSync(messagePath, sampleMessage({ svn: ['3'] }));
    expect(await tool('register', '-a', address, '-p', messagePath)).toEqual({ code: 0, out: ['Register provenance succeeded.'], err: [] });
    expect(await tool('query', '--addr', address, '--reference-value-id', 'svn')).toEqual({ code: 0, out: ['["3"]'], err: [] });
    expect(await tool('query', '-a', address.replace('http://', ''), '-r', 'absent')).toEqual({ code: 0, out: ['No reference values found for the given id'], err: [] });

    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, `${await admin.token()}\n`);
    const listed = await tool('list', '-a', address, '--token-file', tokenFile);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.out.join('\n'))).toEqual([{ name: 'svn', expiration: expect.any(String), value: ['3'] }]);
    expect(await tool('delete', '-a', address, '-r', 'svn', '--token-file', tokenFile)).toEqual({ code: 0, out: ['Deleted svn'], err: [] });
    expect((await tool('delete', '-a', address, '-r', 'svn', '--token-file', tokenFile)).code).toBe(1);
  });

  test('server errors are printed with their status', async () => {
    const messagePath = join(dir, 'bad.json');
    writeFileSync(messagePath, sampleMessage({ a: 1 }, { version: '9' }));
    expect(await tool('register', '-a', address, '-p', messagePath)).toEqual({ code: 1, out: [], err: ['error: INVALID_ARGUMENT: Version unmatched!'] });
    const forged = join(dir, 'forged');
    writeFileSync(forged, 'e30.e30.sig');
    expect((await tool('list', '-a', address, '--token-file', forged)).err[0]).toContain('UNAUTHENTICATED');
  });

  test('usage errors', async () => {
    expect((await tool('frobnicate')).code).toBe(2);
    await expect(tool('query', '-a', address)).rejects.toThrow('--reference-value-id is required');
    await expect(tool('list', '-a', address)).rejects.toThrow('--token-file is required');
    await expect(tool('query', '-a', 'https://127.0.0.1:1', '-r', 'x')).rejects.toThrow('needs --ca-cert');
  });
});
