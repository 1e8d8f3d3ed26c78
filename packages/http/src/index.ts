export { createServer, type CreateServerOptions, type ServerTls } from './createServer.ts';
export { stopOnSignals } from './stopOnSignals.ts';
