/**
 * Where a resource lives on the KBS: `repo/type/tag`, `kbs:///repo/type/tag` or
 * `kbs+<plugin>:///a/b/c?query` (guest-components resource URIs). Segments are
 * percent-encoded; `.`/`..` segments are refused because URL normalisation would rewrite them.
 */
import { KbsClientError } from './kbsClientError.ts';

export interface ResourceLocation {
  readonly plugin: string;
  readonly segments: readonly string[];
  readonly query: string | undefined;
}

const PLUGIN_NAME = /^[A-Za-z0-9_-]+$/;

export function parseResourceLocation(pathOrUri: string): ResourceLocation {
  let plugin = 'resource';
  let rest = pathOrUri;
  const uri = /^kbs(?:\+([^:/]+))?:\/\/[^/]*\/(.*)$/.exec(pathOrUri);
  if (uri !== null) {
    plugin = uri[1] ?? 'resource';
    rest = uri[2] ?? '';
  }
  if (!PLUGIN_NAME.test(plugin)) throw new KbsClientError('usage', `invalid plugin name ${JSON.stringify(plugin)}`);
  let query: string | undefined;
  const mark = rest.indexOf('?');
  if (mark >= 0) {
    query = rest.slice(mark + 1);
    rest = rest.slice(0, mark);
  }
  const segments = splitPath(rest, 'resource path');
  return { plugin, segments, query };
}

/** Splits a `/`-separated path into non-empty segments that are safe to percent-encode into a URL. */
export function splitPath(path: string, what: string): string[] {
  const segments = path.replace(/^\/+/, '').split('/');
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new KbsClientError('usage', `invalid ${what} ${JSON.stringify(path)}: empty, "." or ".." segment`);
  }
  return segments;
}

export function encodePath(segments: readonly string[]): string {
  return segments.map((segment) => encodeURIComponent(segment)).join('/');
}
