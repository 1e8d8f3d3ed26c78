// Invariant: a CCEL parses into exactly the entries upstream's eventlog crate produces (same
// `details` per event type, same device-path strings) and replays to the MANIFEST's RTMRs; any
// malformed log is a typed malformed_evidence error, never a crash or a hang.
import { describe, expect, test } from 'vitest';
import { createHash } from 'node:crypto';
import { parseCcel, replayCcel, TCG_ALG_SHA384 } from './parseCcel.ts';
import { renderDevicePaths, formatUefiGuid } from './devicePaths.ts';
import { buildTestCcel } from '../testing/tdxFactory.ts';
import { hasVectors, readVector } from '../testing/snpVectors.ts';
import { VerificationError } from '../verificationError.ts';
import type { JsonObject } from '../verifier.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ZERO = '0'.repeat(96);

describe.skipIf(!hasVectors('tdx/trustee-CCEL_data', 'tdx/gotdx-ccel-ccel_data.dat'))('real event logs (../shared/vectors)', () => {
  test.each([
    ['tdx/trustee-CCEL_data', 5, ['2dc712306a963eadb894ad47dbaa17df44814151555aee11cbb843becca88950ffd079664902e6f22c66f7c8213543f4', '0fa3be56af61208bbd179dc7b124988eb929319154663c539d6f46445ecac2fec287075047ff7bd1922829fec28cd3cf', ZERO, ZERO]],
    ['tdx/trustee-CCEL_data_ovmf', 20, ['8566f998798db09443b244c62de9a3041fb02e2e6936c4396d784bba2e90177329ec5aba3bb484404f2ab9cc90abe193', '775b9f6bfe99f8a31396f0d0218e67ffa796d3b96ccf961cbb0deba48c79c00f082cda1a5567c1c16305f1fc210c13c6', '94eaf7a7bf398ed8d888c91057ae0261802e4f3df084213a76ca7f0b5055ac9d2241de43cd58d9e8b49c503bbf25f34a', ZERO]],
    ['tdx/trustee-eventlog-CCEL_data_grub', 37, ['cec0a104f691f60da2387fea3c2de00c4ac035e2bb479ff02edcce69039d9e9907f0b3e55031da3dc7038f423adebd79', '6c289e0c62182d41ebe97bdbc9872d10998a08eaa86adcdc684001a363207ee72942c7522cdf00a4bbc3d784bed7b670', '08919d017ba0e52cd6d966351c7de16fe76c1d3d3d3da4554239e4c7d16cb8b82a94e7eaea3a0e6e18eb690b999fd31e', ZERO]],
    ['tdx/trustee-eventlog-CCEL_data_grub_gke', 35, ['bc9945139042cf2cc75caf920aa57f14884ecfd7e893bccc51250c8ce90eb53ce72741e6adaa18183eb1331a87d4544a', 'c17cb288a4dee302bb9ed8d27257a168f3264ad68cab53757f37eeaa7039657fa887cad65cf910e0fdc435ff110f8a7b', '334aeba2c985f8886cea97d1ecffbd512769d528b9a94009583db667ad7d2faa7d37fa145d75b192ceee2d2f10b2eb6d', ZERO]],
    ['tdx/trustee-eventlog-CCEL_data_gcp', 21, ['3300980705adf09d28b707b79699d9874892164280832be2c386a715b6e204e0897fb564a064f810659207ba862b304f', '204d49f78d29918fe7b2f694e76653861a0c2a018987d2c3a54266eff737232524cf0af68c4d180e2f8c2c0937f21967', ZERO, ZERO]],
    ['tdx/trustee-eventlog-CCEL_AAEL_alibabacloud', 87, ['b796e1c11396c198ae88794def4cb8e24fa9b35468287c298087f00d4de7433e4e31a297a4e5a03d4300fa6f3a96d47c', '3b0b906140fcea689c8774ac1eafcf0fef8e22ba81a047fd750ebd7df3235c2704df6106a758e31e5645e9838ff37406', '35f2801338c1b5fce96518f058c37e0fe9ed247a12dcd5f50d9c18fe4b6c71311bb63fca2640c7915817b6aa412a8480', '5e4ecd49d3c7983d6f9ca36755b5cee0b423d7fa8c5a88aeb0681bd4698772bc37b4463dc5f722efe352a66417257dad']],
    ['tdx/gotdx-ccel-ccel_data.dat', 43, ['3fa2f61f395b7f5feefb4ec2df61297f109ad8abcd6410c1b7df60f21f37b19297fc35e544039c7e1edece752afd17f6', 'f62dbc072bd5d3f3438b7b35c39a727f5aea2ffc2473f43723953f530daf62504f0a7944aa62c41a86e8a878c2b122c1', '4969684dc87381fc3b3134176c8d8806eaf0a901859f5f70cfae8d17714b46c10a8de219048c9fc09f11f381a6fbe7c1', ZERO]],
  ] as Array<[string, number, string[]]>)('%s: %i events, replay matches the MANIFEST', (file, count, rtmrs) => {
    const entries = parseCcel(readVector(file));
    expect(entries).toHaveLength(count);
    expect([1, 2, 3, 4].map((i) => hex(replayCcel(entries, i, TCG_ALG_SHA384)))).toEqual(rtmrs);
  });

  test('AAEL entries of the Alibaba Cloud log carry domain/operation/content', () => {
    const aael = parseCcel(readVector('tdx/trustee-eventlog-CCEL_AAEL_alibabacloud')).filter((e) => (e.json.details as JsonObject).unicode_name === 'AAEL');
    expect(aael.length).toBeGreaterThan(0);
    for (const entry of aael) expect(Object.keys((entry.json.details as JsonObject).data as JsonObject)).toEqual(['domain', 'operation', 'content']);
  });

  test('boot-services applications render device paths (grub log)', () => {
    const paths = parseCcel(readVector('tdx/trustee-eventlog-CCEL_data_grub')).flatMap((e) => ((e.json.details as JsonObject).device_paths as string[] | undefined) ?? []);
    expect(paths.length).toBeGreaterThan(0);
    expect(paths.some((p) => p.startsWith('File(') || p.startsWith('HD(') || p.startsWith('PciRoot') || p.startsWith('ACPI(') || p.startsWith('Pci('))).toBe(true);
  });
});

function le32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}
function le64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}
function utf16(s: string): Buffer {
  return Buffer.from(s, 'utf16le');
}
function node(type: number, sub: number, data: Uint8Array): Buffer {
  const b = Buffer.alloc(4);
  b[0] = type;
  b[1] = sub;
  b.writeUInt16LE(4 + data.length, 2);
  return Buffer.concat([b, data]);
}

describe('event details per type', () => {
  const details = (type: number, data: Uint8Array): JsonObject => (parseCcel(buildTestCcel([{ index: 1, type, data }]).ccel)[0]?.json.details ?? {}) as JsonObject;

  test('EFI variable: GUID in raw byte order, UTF-16 name, base64 data', () => {
    const guid = Buffer.from('61dfe48bca93d211aa0d00e098032b8c', 'hex');
    const data = Buffer.concat([guid, le64(10), le64(1), utf16('SecureBoot'), Buffer.from([1])]);
    expect(details(0x80000001, data)).toEqual({
      unicode_name: 'SecureBoot',
      unicode_name_length: 10,
      variable_data: 'AQ==',
      variable_data_length: 1,
      variable_name: '61dfe48b-ca93-d211-aa0d-00e098032b8c',
    });
  });

  test('platform firmware blob2 drops the length byte and the terminator (upstream quirk)', () => {
    expect(details(0x8000000a, Buffer.from('\x0btd_payload\0\0\0', 'latin1'))).toEqual({ string: 'td_payload' });
  });

  test('platform config flags: control characters removed, 0x10 becomes a space', () => {
    expect(details(0xa, Buffer.from('a\x10b\x01c', 'latin1'))).toEqual({ string: 'a bc' });
  });

  test('IPL: UTF-8 up to NUL, or the GCE UTF-16 form', () => {
    expect(details(0xd, Buffer.from('grub_cmd linux\0junk'))).toEqual({ string: 'grub_cmd linux' });
    expect(details(0xd, Buffer.concat([Buffer.from([0x2e, 0]), utf16('abc'), Buffer.from([0, 0])]))).toEqual({ string: 'abc' });
    expect(details(0xd, Buffer.from([0xff, 0xfe, 0]))).toEqual({ string: 'fffe00' });
  });

  test('separator and unparsed types have empty details', () => {
    expect(details(0x4, Buffer.alloc(4))).toEqual({});
    expect(details(0x80000008, Buffer.alloc(16))).toEqual({});
  });

  test('boot services application: device-path nodes as upstream renders them', () => {
    const path = Buffer.concat([
      node(2, 1, Buffer.concat([le32(0x0a0341d0), le32(0)])),
      node(1, 1, Buffer.from([0, 3])),
      node(4, 1, Buffer.concat([le32(1), le64(0x800), le64(0x100000), Buffer.from('00112233445566778899aabbccddeeff', 'hex'), Buffer.from([2, 2])])),
      node(4, 4, Buffer.concat([utf16('\\EFI\\BOOT\\BOOTX64.EFI'), Buffer.from([0, 0])])),
      node(3, 0x0b, Buffer.concat([Buffer.from('525400123456', 'hex'), Buffer.alloc(26), Buffer.from([1])])),
      node(3, 0x0c, Buffer.concat([Buffer.from([10, 0, 0, 1]), Buffer.from([10, 0, 0, 2]), Buffer.alloc(4), Buffer.from([6, 0, 1]), Buffer.alloc(8)])),
      node(5, 1, Buffer.concat([Buffer.from([2, 0, 0, 0]), Buffer.from('disk\0')])),
      node(9, 9, Buffer.from([0xab])),
    ]);
    const data = Buffer.concat([le64(0), le64(0), le64(0), le64(path.length + 4), path, Buffer.from([0x7f, 0xff, 4, 0])]);
    expect(details(0x80000003, data)).toEqual({
      device_paths: [
        'ACPI(PNP0A03,0)',
        'Pci(0,3)',
        'HD(1,GPT,33221100-5544-7766-8899-AABBCCDDEEFF,0x800,0x100000)',
        'File(\\EFI\\BOOT\\BOOTX64.EFI)',
        'Mac(525400123456,0x01)',
        'IPv4(2.0.0.10,TCP,Static,1.0.0.10)',
        'BBS(HARD_DRIVE,disk,0)',
        'Path(9,9,ab)',
      ],
    });
    expect(details(0x80000003, Buffer.alloc(32))).toEqual({});
  });

  test('guid formatting and malformed device paths', () => {
    expect(formatUefiGuid(Buffer.from('00112233445566778899aabbccddeeff', 'hex'))).toBe('33221100-5544-7766-8899-AABBCCDDEEFF');
    expect(renderDevicePaths(Buffer.from([1, 1, 2, 0]))).toBeUndefined();
    expect(renderDevicePaths(Buffer.from([1, 1]))).toBeUndefined();
  });

  test('digest_matches_event compares every digest with the event data', () => {
    const entries = parseCcel(buildTestCcel([{ index: 2, data: Buffer.from('x') }, { index: 2, data: Buffer.from('y'), digest: Buffer.alloc(48) }]).ccel);
    expect(entries.map((e) => e.json.digest_matches_event)).toEqual([true, false]);
    expect(entries[0]?.json.digests).toEqual([{ alg: 'SHA-384', digest: createHash('sha384').update('x').digest('hex') }]);
  });
});

describe('malformed logs', () => {
  const good = buildTestCcel([
    { index: 1, data: Buffer.from('a') },
    { index: 2, type: 0x80000001, data: Buffer.concat([Buffer.alloc(16), le64(1), le64(0), utf16('A')]) },
    { index: 3, type: 0x8000000a, data: Buffer.from('\x03ab\0', 'latin1') },
  ], 0).ccel;

  test('every truncation is a typed error or a shorter valid log', () => {
    for (let length = 0; length < good.length; length++) {
      try {
        parseCcel(good.subarray(0, length));
      } catch (error) {
        expect(error).toBeInstanceOf(VerificationError);
        expect((error as VerificationError).code).toBe('malformed_evidence');
      }
    }
  });

  test.each([
    ['first event not EV_NO_ACTION', (b: Buffer) => b.writeUInt32LE(5, 4), 'ccel.spec_event'],
    ['unknown event type', (b: Buffer) => b.writeUInt32LE(0x77, 4 + 4 + 20 + 4 + 33 + 4), 'ccel.event.type'],
    ['digest algorithm without a size', (b: Buffer) => b.writeUInt16LE(0x0b, 4 + 4 + 20 + 4 + 33 + 12), 'ccel.event.digest'],
    ['more digests than declared banks', (b: Buffer) => b.writeUInt32LE(0xffffffff, 4 + 4 + 20 + 4 + 33 + 8), 'ccel.event.digest_count'],
    ['huge event size', (b: Buffer) => b.writeUInt32LE(0xffffffff, 4 + 4 + 20 + 4 + 33 + 14 + 48), 'ccel.event.data'],
  ] as Array<[string, (b: Buffer) => void, string]>)('%s', (_name, mutate, check) => {
    const copy = Buffer.from(good);
    mutate(copy);
    try {
      parseCcel(copy);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(VerificationError);
      expect((error as VerificationError).failures[0]?.check).toBe(check);
    }
  });

  test('random mutations never escape as untyped errors', () => {
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let round = 0; round < 500; round++) {
      const copy = Uint8Array.from(good);
      for (let k = 0; k < 1 + rand(4); k++) copy[rand(copy.length)] = rand(256);
      try {
        parseCcel(copy);
      } catch (error) {
        expect(error).toBeInstanceOf(VerificationError);
      }
    }
  });
});
