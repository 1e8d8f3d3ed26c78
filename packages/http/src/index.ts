export { createServer, type CreateServerOptions, type ServerTls } from './createServer.ts';
