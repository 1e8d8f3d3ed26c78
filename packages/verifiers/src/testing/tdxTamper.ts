/** Helpers for tamper tests: deterministic byte samples and single-bit flips (test-only). */

/** `count` offsets spread evenly over [from, to) (all of them when the span is smaller). */
export function sampleOffsets(from: number, to: number, count: number): number[] {
  const span = to - from;
  if (span <= count) return Array.from({ length: Math.max(0, span) }, (_, i) => from + i);
  return Array.from({ length: count }, (_, i) => from + Math.floor((i * span) / count));
}

/** A copy of `bytes` with the lowest bit of byte `at` flipped. */
export function flipByte(bytes: Uint8Array, at: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[at] = (copy[at] as number) ^ 0x01;
  return copy;
}

/** A copy of `text` with the lowest bit of character `at` flipped. */
export function flipChar(text: string, at: number): string {
  return text.slice(0, at) + String.fromCharCode(text.charCodeAt(at) ^ 0x01) + text.slice(at + 1);
}
