import { VerificationError } from '../verificationError.ts';

/**
 * Intel signs TCB info and QE identity over the exact bytes of the inner JSON object as served
 * (`{"tcbInfo":{...},"signature":"..."}`): re-serialising would break the signature, so we cut
 * the member's text out of the received document.
 */
export interface SignedJson {
  /** The exact text of the signed member (e.g. the `tcbInfo` object). */
  readonly body: string;
  /** The parsed signed member. */
  readonly value: unknown;
  /** ECDSA r ‖ s. */
  readonly signature: Uint8Array;
}

function malformed(what: string, message: string): VerificationError {
  return VerificationError.single('malformed_evidence', `${what}.json`, message);
}

const MAX_DEPTH = 64;

/** Returns the end index (exclusive) of the JSON value starting at `start`. */
function skipValue(text: string, start: number, what: string): number {
  let i = start;
  let depth = 0;
  do {
    if (i >= text.length) throw malformed(what, 'unexpected end of JSON');
    const c = text[i] as string;
    if (c === '"') {
      i++;
      while (true) {
        if (i >= text.length) throw malformed(what, 'unterminated string');
        const d = text[i] as string;
        if (d === '\\') i += 2;
        else if (d === '"') break;
        else i++;
      }
      i++;
    } else if (c === '{' || c === '[') {
      depth++;
      if (depth > MAX_DEPTH) throw malformed(what, 'JSON nested too deeply');
      i++;
    } else if (c === '}' || c === ']') {
      depth--;
      if (depth < 0) throw malformed(what, 'unbalanced JSON');
      i++;
    } else if (depth === 0) {
      // scalar at top level: runs until a delimiter
      while (i < text.length && !/[,}\]\s]/.test(text[i] as string)) i++;
      return i;
    } else {
      i++;
    }
  } while (depth > 0);
  return i;
}

/** Spans of the top-level members of a JSON object text. */
export function topLevelMembers(text: string, what: string): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i] as string)) i++;
  };
  ws();
  if (text[i] !== '{') throw malformed(what, 'expected a JSON object');
  i++;
  ws();
  if (text[i] === '}') return out;
  while (true) {
    ws();
    if (text[i] !== '"') throw malformed(what, 'expected a member name');
    const keyEnd = skipValue(text, i, what);
    let key: unknown;
    try {
      key = JSON.parse(text.slice(i, keyEnd));
    } catch {
      throw malformed(what, 'bad member name');
    }
    i = keyEnd;
    ws();
    if (text[i] !== ':') throw malformed(what, 'expected ":"');
    i++;
    ws();
    const valueEnd = skipValue(text, i, what);
    if (out.has(key as string)) throw malformed(what, `duplicate member ${JSON.stringify(key)}`);
    out.set(key as string, text.slice(i, valueEnd));
    i = valueEnd;
    ws();
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text[i] === '}') {
      i++;
      break;
    }
    throw malformed(what, 'expected "," or "}"');
  }
  ws();
  if (i !== text.length) throw malformed(what, 'trailing text after the JSON object');
  return out;
}

export function parseHex(value: unknown, what: string, length?: number): Uint8Array {
  if (typeof value !== 'string' || value.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(value)) {
    throw malformed(what, 'expected a hex string');
  }
  if (length !== undefined && value.length !== length * 2) throw malformed(what, `expected ${length} bytes of hex`);
  return new Uint8Array(Buffer.from(value, 'hex'));
}

/** Splits `{"<member>": {...}, "signature": "<hex>"}` into the exact signed text and signature. */
export function parseSignedJson(text: string, member: string, what: string): SignedJson {
  const members = topLevelMembers(text, what);
  const body = members.get(member);
  const signatureText = members.get('signature');
  if (body === undefined) throw malformed(what, `missing "${member}"`);
  if (signatureText === undefined) throw malformed(what, 'missing "signature"');
  let value: unknown;
  let signatureValue: unknown;
  try {
    value = JSON.parse(body);
    signatureValue = JSON.parse(signatureText);
  } catch {
    throw malformed(what, 'invalid JSON');
  }
  return { body, value, signature: parseHex(signatureValue, `${what}.signature`, 64) };
}
