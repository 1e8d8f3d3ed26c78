import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { b64std } from '@trustee/protocol';
import { ReferenceValueError } from '../referenceValueError.ts';
import type { ExtractedReferenceValue, Extractor } from '../referenceValueProvider.ts';

/** ISO/IEC 19770-2:2015 SWID namespace (elements `Meta`, `Payload`, `Resource`). */
export const SWID_NAMESPACE = 'http://standards.iso.org/iso/19770/-2/2015/schema.xsd';
/** TCG RIM information model namespace (`PlatformManufacturerStr` on `Meta`). */
export const RIM_NAMESPACE = 'https://trustedcomputinggroup.org/resource/tcg-reference-integrity-manifest-rim-information-model/';
/** XML Encryption sha384 namespace: the `Hash0`, `Hash1`, ... attributes of a measurement. */
export const SHA384_NAMESPACE = 'http://www.w3.org/2001/04/xmlenc#sha384';

const XMLNS_NAMESPACE = 'http://www.w3.org/2000/xmlns/';
const XML_NAMESPACE = 'http://www.w3.org/XML/1998/namespace';
/** Bound on HashN attributes read per resource (real RIMs carry a handful of alternatives). */
const MAX_HASHES_PER_RESOURCE = 1024;

/** One element with namespace-resolved names. Attribute keys are `{namespace}local` or `local` (no namespace). */
interface XmlElement {
  readonly namespace: string | undefined;
  readonly localName: string;
  readonly attributes: ReadonlyMap<string, string>;
  readonly children: readonly XmlElement[];
}

/** fast-xml-parser's `preserveOrder` node: `{ [tagName]: children, ':@'?: attributes }` or a text node. */
type OrderedNode = Record<string, unknown>;

function invalid(message: string): ReferenceValueError {
  return new ReferenceValueError('invalid_reference_value', `swid: ${message}`);
}

function splitQName(name: string): [prefix: string | undefined, local: string] {
  const colon = name.indexOf(':');
  return colon < 0 ? [undefined, name] : [name.slice(0, colon), name.slice(colon + 1)];
}

function attributeKey(namespace: string | undefined, local: string): string {
  return namespace === undefined ? local : `{${namespace}}${local}`;
}

/**
 * Builds the element tree with namespaces resolved the way an XML-Names processor does:
 * `xmlns`/`xmlns:p` declarations scope over the element and its descendants, unprefixed
 * attributes have no namespace, and an undeclared prefix is an error (roxmltree, which
 * upstream uses, rejects those documents too).
 */
function resolveElement(node: OrderedNode, scope: ReadonlyMap<string, string>): XmlElement | undefined {
  const tagName = Object.keys(node).find((key) => key !== ':@');
  if (tagName === undefined || tagName === '#text' || tagName === '#comment' || tagName.startsWith('?')) return undefined;
  const rawAttributes = (node[':@'] ?? {}) as Record<string, unknown>;
  let inner: Map<string, string> | undefined;
  for (const [name, value] of Object.entries(rawAttributes)) {
    if (typeof value !== 'string') continue;
    if (name === 'xmlns') (inner ??= new Map(scope)).set('', value);
    else if (name.startsWith('xmlns:')) (inner ??= new Map(scope)).set(name.slice('xmlns:'.length), value);
  }
  const names = inner ?? scope;
  const resolvePrefix = (prefix: string): string => {
    if (prefix === 'xml') return XML_NAMESPACE;
    const namespace = names.get(prefix);
    if (namespace === undefined) throw invalid(`undeclared namespace prefix ${JSON.stringify(prefix.slice(0, 64))}`);
    return namespace;
  };
  const attributes = new Map<string, string>();
  for (const [name, value] of Object.entries(rawAttributes)) {
    if (typeof value !== 'string' || name === 'xmlns' || name.startsWith('xmlns:')) continue;
    const [prefix, local] = splitQName(name);
    const namespace = prefix === undefined ? undefined : prefix === 'xmlns' ? XMLNS_NAMESPACE : resolvePrefix(prefix);
    const key = attributeKey(namespace, local);
    // Two prefixes bound to one namespace make two spellings of the same attribute (XML Names §6.3).
    if (attributes.has(key)) throw invalid(`duplicate attribute ${JSON.stringify(local.slice(0, 64))}`);
    attributes.set(key, value);
  }
  const [prefix, localName] = splitQName(tagName);
  const namespace = prefix === undefined ? names.get('') || undefined : resolvePrefix(prefix);
  const rawChildren = node[tagName];
  const children: XmlElement[] = [];
  if (Array.isArray(rawChildren)) {
    for (const child of rawChildren as OrderedNode[]) {
      const element = resolveElement(child, names);
      if (element !== undefined) children.push(element);
    }
  }
  return { namespace, localName, attributes, children };
}

function* descendants(element: XmlElement): Generator<XmlElement> {
  // Iterative pre-order walk (document order), so nesting depth never grows the JS stack.
  const stack: XmlElement[] = [element];
  while (stack.length > 0) {
    const next = stack.pop() as XmlElement;
    yield next;
    for (let index = next.children.length - 1; index >= 0; index--) stack.push(next.children[index] as XmlElement);
  }
}

function isSwid(element: XmlElement, localName: string): boolean {
  return element.namespace === SWID_NAMESPACE && element.localName === localName;
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  allowBooleanAttributes: false,
  parseAttributeValue: false,
  parseTagValue: false,
  // Attribute values stay byte-exact (roxmltree, upstream's parser, does not trim them either).
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  htmlEntities: false,
  // Only the five predefined XML entities remain once DOCTYPEs are refused below.
  processEntities: true,
});

/** Parses the RIM XML into a namespace-resolved tree; refuses DTDs (no entity expansion of any kind). */
function parseRimXml(xml: string): XmlElement {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw invalid('XML with a DOCTYPE or entity declarations is not accepted');
  let nodes: unknown;
  try {
    const validation = XMLValidator.validate(xml, { allowBooleanAttributes: false });
    if (validation !== true) throw invalid(`malformed XML at line ${validation.err.line}: ${validation.err.msg}`);
    nodes = parser.parse(xml);
  } catch (error) {
    if (error instanceof ReferenceValueError) throw error;
    throw invalid(`malformed XML: ${(error as Error).message}`);
  }
  const roots: XmlElement[] = [];
  for (const node of Array.isArray(nodes) ? (nodes as OrderedNode[]) : []) {
    const element = resolveElement(node, new Map());
    if (element !== undefined) roots.push(element);
  }
  const [root, extra] = roots;
  if (root === undefined) throw invalid('document has no root element');
  if (extra !== undefined) throw invalid('document has more than one root element');
  return root;
}

/**
 * Reference values of one TCG RIM (SWID) manifest, e.g. an NVIDIA GPU vBIOS/driver RIM:
 * `{PlatformManufacturerStr, spaces→_}.{edition}.measurement_{index}` (every `-` → `_`, since
 * Rego references cannot hold dashes) → the non-zero `HashN` values of that measurement.
 * An all-zero hash means "no measurement at this index" in practice; a resource without any
 * non-zero hash is skipped so manifests describing the same TCB do not overwrite each other.
 */
export function extractRimReferenceValues(xml: string): ExtractedReferenceValue[] {
  const root = parseRimXml(xml);
  const all = [...descendants(root)];
  const meta = all.find((element) => isSwid(element, 'Meta'));
  if (meta === undefined) throw invalid('Could not find meta information.');
  const manufacturer = meta.attributes.get(attributeKey(RIM_NAMESPACE, 'PlatformManufacturerStr'));
  if (manufacturer === undefined) throw invalid('Could not find manufacturer information.');
  const edition = meta.attributes.get('edition');
  if (edition === undefined) throw invalid('Could not find edition information.');
  const prefix = `${manufacturer.replaceAll(' ', '_')}.${edition}`;

  const payload = all.find((element) => isSwid(element, 'Payload'));
  if (payload === undefined) throw invalid('Could not find SWID payload.');
  const values: ExtractedReferenceValue[] = [];
  for (const resource of descendants(payload)) {
    if (!isSwid(resource, 'Resource') || resource.attributes.get('type') !== 'Measurement') continue;
    const index = resource.attributes.get('index');
    if (index === undefined) throw invalid('Could not find measurement name');
    const hashes: string[] = [];
    for (let hashIndex = 0; hashIndex < MAX_HASHES_PER_RESOURCE; hashIndex++) {
      const hash = resource.attributes.get(attributeKey(SHA384_NAMESPACE, `Hash${hashIndex}`));
      if (hash === undefined) break;
      if (/^0*$/.test(hash)) continue;
      hashes.push(hash);
    }
    if (hashes.length === 0) continue;
    values.push({ name: `${prefix}.measurement_${index}`.replaceAll('-', '_'), value: hashes });
  }
  return values;
}

/**
 * `swid` extractor: the payload is standard base64 of a SWID/RIM XML document (TCG RIM IM).
 * Like upstream, the manifest's signature is not verified.
 */
export const swidExtractor: Extractor = {
  type: 'swid',
  extract(payload) {
    let bytes: Uint8Array;
    try {
      bytes = b64std.decode(payload);
    } catch {
      throw invalid('Failed to decode reference value manifest as base 64');
    }
    let xml: string;
    try {
      xml = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw invalid('Failed to decode reference value manifest as utf8 string');
    }
    return extractRimReferenceValues(xml);
  },
};
