// Invariant: upstream's `vcek_sources` config is honoured — sources tried in order, first success
// wins, OfflineStore reads `<path>/vcek/<hwid>/<tcb_prefix>_vcek.der` then `vcek.der`.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { createAmdVcekSources, DEFAULT_KDS_OFFLINE_STORE, parseSnpVerifierConfig } from './amdVcekSources.ts';
import { ConfigError } from '@trustee/config';
import type { FetchLike } from './amdKds.ts';

const tcb = { bootloader: 3, tee: 0, snp: 8, microcode: 115 };
const chip = new Uint8Array(64).fill(0xc3);

describe('parseSnpVerifierConfig', () => {
  test.each([
    [undefined, [{ type: 'KDS', baseUrl: 'https://kdsintf.amd.com' }]],
    [{}, [{ type: 'KDS', baseUrl: 'https://kdsintf.amd.com' }]],
    [{ vcek_sources: [{ type: 'OfflineStore' }, { type: 'KDS', base_url: 'http://mirror' }] }, [{ type: 'OfflineStore', path: DEFAULT_KDS_OFFLINE_STORE }, { type: 'KDS', baseUrl: 'http://mirror' }]],
  ])('%j', (raw, expected) => expect(parseSnpVerifierConfig(raw, 'snp').vcekSources).toEqual(expected));
  test.each([[1], [{ vcek_sources: {} }], [{ vcek_sources: [{ type: 'Other' }] }], [{ vcek_sources: [{ type: 'KDS', base_url: 3 }] }]])('rejects %j', (raw) => {
    expect(() => parseSnpVerifierConfig(raw, 'snp')).toThrow(ConfigError);
  });
});

describe('createAmdVcekSources', () => {
  test('offline store first (tcb file, then flat vcek.der), KDS as fallback', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kds-store-'));
    try {
      const hwdir = join(dir, 'vcek', Buffer.from(chip).toString('hex'));
      await mkdir(hwdir, { recursive: true });
      await writeFile(join(hwdir, 'vcek.der'), 'flat');
      const asked: string[] = [];
      const fetch: FetchLike = (url) => {
        asked.push(url);
        return Promise.resolve({ status: 404, arrayBuffer: () => Promise.resolve(new ArrayBuffer(0)) });
      };
      const sources = createAmdVcekSources(parseSnpVerifierConfig({ vcek_sources: [{ type: 'OfflineStore', path: dir }, { type: 'KDS', base_url: 'http://kds' }] }, 'snp'), { fetch });
      expect(Buffer.from(await sources.getVcek?.('Milan', chip, tcb) ?? []).toString()).toBe('flat');
      await writeFile(join(hwdir, 'bl03_tee00_snp08_ucode115_vcek.der'), 'exact');
      expect(Buffer.from(await sources.getVcek?.('Milan', chip, tcb) ?? []).toString()).toBe('exact');
      expect(asked).toEqual([]);
      await expect(sources.getVcek?.('Milan', new Uint8Array(64).fill(1), tcb)).rejects.toMatchObject({ code: 'collateral_unavailable' });
      expect(asked).toEqual([`http://kds/vcek/v1/Milan/${'01'.repeat(64)}?blSPL=03&teeSPL=00&snpSPL=08&ucodeSPL=115`]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
