/** `HOST:PORT` / `[IPv6]:PORT` socket addresses of the CLI flags (port 0 = ephemeral). */
export interface SocketAddress {
  readonly host: string;
  readonly port: number;
}

export function parseSocketAddress(text: string, flag: string): SocketAddress {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(text);
  const port = match === null ? Number.NaN : Number(match[3]);
  if (match === null || port > 65535) throw new Error(`${flag}: expected HOST:PORT or [IPv6]:PORT, got ${JSON.stringify(text.slice(0, 128))}`);
  return { host: (match[1] ?? match[2]) as string, port };
}

export function formatSocketAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
