/**
 * The console's browser-facing rules: one strict Content-Security-Policy (only this origin's own
 * scripts, styles and fetches; no inline script or style element, no frames, no forms posting
 * elsewhere), no MIME sniffing, no referrer, no framing; and a refusal of cross-site requests
 * (Sec-Fetch-Site other than same-origin/none, or an Origin that is not this host). The console
 * sets no cookie: the admin token lives in the tab's sessionStorage and travels as a Bearer
 * header, which a cross-site page cannot attach.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function secureHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('cross-origin-opener-policy', 'same-origin')
    .header('cross-origin-resource-policy', 'same-origin')
    .header('permissions-policy', 'camera=(), microphone=(), geolocation=()');
}

/** Why a request is cross-site (undefined when it is not). */
export function crossSiteReason(request: FastifyRequest): string | undefined {
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return `Sec-Fetch-Site: ${site}`;
  const origin = request.headers.origin;
  if (typeof origin === 'string') {
    let host: string;
    try {
      host = new URL(origin).host;
    } catch {
      return 'Origin is not a URL';
    }
    if (host !== request.headers.host) return 'Origin is another site';
  }
  return undefined;
}
