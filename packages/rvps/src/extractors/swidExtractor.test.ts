/**
 * Invariant: the swid extractor turns a TCG RIM (SWID XML) into
 * `{manufacturer}.{edition}.measurement_{index}` → non-zero sha384 `HashN` values, matching names
 * and attributes by namespace (not by prefix), and refuses DTDs, malformed XML and bad encodings
 * with typed errors.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { MemoryStore } from '@trustee/storage';
import { createBuiltinRvps } from '../builtinRvps.ts';
import { RIM_NAMESPACE, SHA384_NAMESPACE, SWID_NAMESPACE, extractRimReferenceValues, swidExtractor } from './swidExtractor.ts';
import { rejection } from '../testing/referenceValueRejection.ts';

const fixture = readFileSync(new URL('./fixtures/gpu-rim.xml', import.meta.url), 'utf8');
const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const now = { now: new Date('2026-01-01T00:00:00Z') };

function hash(nibble: string, tail: string): string {
  return nibble.repeat(88) + tail.repeat(8);
}

function rim(meta: string, payload: string, rootAttributes = ''): string {
  return `<SoftwareIdentity xmlns="${SWID_NAMESPACE}" xmlns:r="${RIM_NAMESPACE}" xmlns:h="${SHA384_NAMESPACE}" ${rootAttributes}>${meta}<Payload>${payload}</Payload></SoftwareIdentity>`;
}

const META = '<Meta edition="GPU" r:PlatformManufacturerStr="ACME Corp"/>';

describe('swidExtractor', () => {
  test('extracts the fixture RIM like upstream (zero hashes skipped, namespaces resolved, dashes replaced)', () => {
    const values = swidExtractor.extract(b64(fixture), now);
    expect(values).toEqual([
      { name: 'Example_Silicon_Works.GPU_X.measurement_1', value: [hash('1', 'a')] },
      { name: 'Example_Silicon_Works.GPU_X.measurement_2', value: [hash('2', 'b'), hash('3', 'c')] },
      { name: 'Example_Silicon_Works.GPU_X.measurement_4_b', value: [hash('5', 'e')] },
    ]);
  });

  test('prefixes are arbitrary; only the namespace URI counts', () => {
    const xml = `<a:SoftwareIdentity xmlns:a="${SWID_NAMESPACE}"><a:Meta xmlns:zz="${RIM_NAMESPACE}" edition="E" zz:PlatformManufacturerStr="V"/><a:Payload xmlns:q="${SHA384_NAMESPACE}"><a:Resource type="Measurement" index="9" q:Hash0="ab"/></a:Payload></a:SoftwareIdentity>`;
    expect(extractRimReferenceValues(xml)).toEqual([{ name: 'V.E.measurement_9', value: ['ab'] }]);
  });

  test('elements in another namespace are not SWID elements', () => {
    const xml = rim(`<x:Meta xmlns:x="urn:other" edition="E" r:PlatformManufacturerStr="V"/>${META}`, '<Resource type="Measurement" index="1" h:Hash0="01"/>');
    expect(extractRimReferenceValues(xml)).toEqual([{ name: 'ACME_Corp.GPU.measurement_1', value: ['01'] }]);
  });

  test('attribute values are not trimmed', () => {
    const xml = rim('<Meta edition="GPU" r:PlatformManufacturerStr=" V "/>', '<Resource type="Measurement" index="1" h:Hash0="01"/>');
    expect(extractRimReferenceValues(xml)[0]?.name).toBe('_V_.GPU.measurement_1');
  });

  test('predefined entities in attribute values are decoded', () => {
    const xml = rim('<Meta edition="GPU" r:PlatformManufacturerStr="A &amp; B"/>', '<Resource type="Measurement" index="1" h:Hash0="01"/>');
    expect(extractRimReferenceValues(xml)[0]?.name).toBe('A_&_B.GPU.measurement_1');
  });

  test('registered through the built-in RVPS under the swid type', async () => {
    const rvps = createBuiltinRvps(new MemoryStore());
    expect(rvps.extractorTypes).toContain('swid');
    await rvps.register(JSON.stringify({ version: '0.1.0', type: 'swid', payload: b64(fixture) }));
    expect(await rvps.query('Example_Silicon_Works.GPU_X.measurement_2')).toEqual([hash('2', 'b'), hash('3', 'c')]);
    expect(await rvps.query('Example_Silicon_Works.GPU_X.measurement_0')).toBeUndefined();
  });

  test.each<[string, string, string]>([
    ['no Meta', rim('', '<Resource type="Measurement" index="1" h:Hash0="01"/>'), 'Could not find meta information.'],
    ['no manufacturer', rim('<Meta edition="GPU"/>', ''), 'Could not find manufacturer information.'],
    ['manufacturer without namespace', rim('<Meta edition="GPU" PlatformManufacturerStr="V"/>', ''), 'Could not find manufacturer information.'],
    ['no edition', rim('<Meta r:PlatformManufacturerStr="V"/>', ''), 'Could not find edition information.'],
    ['no Payload', `<SoftwareIdentity xmlns="${SWID_NAMESPACE}" xmlns:r="${RIM_NAMESPACE}">${META}</SoftwareIdentity>`, 'Could not find SWID payload.'],
    ['measurement without index', rim(META, '<Resource type="Measurement" h:Hash0="01"/>'), 'Could not find measurement name'],
    ['same attribute through two prefixes', rim(META, `<Resource xmlns:h2="${SHA384_NAMESPACE}" type="Measurement" index="1" h:Hash0="01" h2:Hash0="02"/>`), 'duplicate attribute'],
    ['undeclared prefix', rim(META, '<Resource type="Measurement" index="1" nope:Hash0="01"/>'), 'undeclared namespace prefix'],
    ['malformed XML', '<SoftwareIdentity><Meta></SoftwareIdentity>', 'malformed XML'],
    ['not XML', 'hello', 'malformed XML'],
    ['empty document', '', 'malformed XML'],
    ['DOCTYPE (entity expansion)', `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>${rim(META, '')}`, 'DOCTYPE'],
    ['external entity', `<!DOCTYPE x SYSTEM "file:///etc/passwd">${rim(META, '')}`, 'DOCTYPE'],
    ['deep nesting', `<a>${'<b>'.repeat(5000)}${'</b>'.repeat(5000)}</a>`, 'Maximum nested tags exceeded'],
  ])('rejects %s', (_name, xml, text) => {
    expect(rejection(() => extractRimReferenceValues(xml)).message).toContain(text);
  });

  test.each<[string, string, string]>([
    ['non-base64 payload', '%%%', 'base 64'],
    ['url-safe base64', Buffer.from([0xfb, 0xff]).toString('base64url'), 'base 64'],
    ['invalid UTF-8', Buffer.from([0x3c, 0xff, 0xfe]).toString('base64'), 'utf8'],
  ])('rejects %s', (_name, payload, text) => {
    expect(rejection(() => swidExtractor.extract(payload, now)).message).toContain(text);
  });
});
