/**
 * A destination for a real logger (`createLogger({ stream })`) that parses what it writes, for
 * tests that assert the JSON lines a service logs (fields such as `reqId` that pino adds).
 * `lines` fills as the logger writes; a line split across writes is joined first.
 */
import { Writable } from 'node:stream';
import { MAX_REQUEST_ID_LENGTH } from '../requestId.ts';

export function jsonLines(): { readonly stream: Writable; readonly lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  let partial = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { stream, lines };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Checks a server against the request-id rule (requestId.ts): `reqIdFor(sent)` makes one call
 * with `sent` as the caller's id (undefined: none) and answers the reqId its log line carried.
 * Usable ids must come back as sent; missing, too long, spaced and empty ones, and `moreUnusable`
 * (e.g. non-ASCII over HTTP, which gRPC metadata cannot carry), must be replaced by a UUID.
 * Resolves with one line per case that broke the rule (none: it holds).
 */
export async function requestIdRuleViolations(reqIdFor: (sent: string | undefined) => Promise<unknown>, usable = 'caller-7f3a-1c', moreUnusable: readonly string[] = []): Promise<string[]> {
  const violations: string[] = [];
  for (const sent of [usable, 'k'.repeat(MAX_REQUEST_ID_LENGTH)]) {
    const got = await reqIdFor(sent);
    if (got !== sent) violations.push(`${JSON.stringify(sent)} came back as ${JSON.stringify(got)}`);
  }
  for (const sent of [undefined, 'k'.repeat(MAX_REQUEST_ID_LENGTH + 1), 'two words', '', ...moreUnusable]) {
    const got = await reqIdFor(sent);
    if (typeof got !== 'string' || !UUID.test(got)) violations.push(`${JSON.stringify(sent)} was not replaced by a UUID: ${JSON.stringify(got)}`);
  }
  return violations;
}
