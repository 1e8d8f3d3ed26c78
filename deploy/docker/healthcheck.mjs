// Container health probe with no extra binaries (the node:22-slim runtime has no curl):
//   node deploy/docker/healthcheck.mjs http://127.0.0.1:8080/healthz   → exit 0 on a 2xx answer
//   node deploy/docker/healthcheck.mjs grpc://127.0.0.1:50004          → exit 0 when grpc.health.v1.Health/Check
//                                                                         answers SERVING (plain-text HTTP/2)
//   node deploy/docker/healthcheck.mjs tcp://127.0.0.1:50004           → exit 0 once the port accepts
// The target defaults to $HEALTHCHECK_URL. HTTPS is probed without certificate checks: the probe
// talks to the process in its own container and sends nothing secret.
import { connect as connectHttp2 } from 'node:http2';
import { connect } from 'node:net';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

const TIMEOUT_MS = 2500;
const target = process.argv[2] ?? process.env.HEALTHCHECK_URL;

function done(ok, reason) {
  if (!ok) console.error(`unhealthy: ${reason}`);
  process.exit(ok ? 0 : 1);
}

if (target === undefined) done(false, 'no target (argument or HEALTHCHECK_URL)');
let url;
try {
  url = new URL(target);
} catch {
  done(false, `not a URL: ${target}`);
}
setTimeout(() => done(false, `no answer within ${TIMEOUT_MS} ms`), TIMEOUT_MS).unref();

if (url.protocol === 'tcp:') {
  const socket = connect({ host: url.hostname, port: Number(url.port) });
  socket.on('connect', () => {
    socket.destroy();
    done(true);
  });
  socket.on('error', (error) => done(false, error.code ?? error.message));
} else if (url.protocol === 'grpc:') {
  // HealthCheckRequest{service: ""} is an empty protobuf message: a 5-byte gRPC frame of length 0.
  // A SERVING answer is HealthCheckResponse{status: 1} = protobuf bytes 08 01.
  const session = connectHttp2(`http://${url.host}`);
  session.on('error', (error) => done(false, error.code ?? error.message));
  const stream = session.request({
    ':method': 'POST',
    ':path': '/grpc.health.v1.Health/Check',
    'content-type': 'application/grpc',
    te: 'trailers',
  });
  const chunks = [];
  let grpcStatus;
  stream.on('response', (headers) => {
    if (headers['grpc-status'] !== undefined) grpcStatus = String(headers['grpc-status']);
  });
  stream.on('trailers', (trailers) => {
    grpcStatus = String(trailers['grpc-status']);
  });
  stream.on('data', (chunk) => chunks.push(chunk));
  stream.on('error', (error) => done(false, error.code ?? error.message));
  stream.on('end', () => {
    const body = Buffer.concat(chunks);
    const serving = grpcStatus === '0' && body.length === 7 && body.subarray(5).equals(Buffer.from([0x08, 0x01]));
    done(serving, `grpc-status ${grpcStatus ?? 'missing'}, response ${body.toString('hex')}`);
  });
  stream.end(Buffer.alloc(5));
} else if (url.protocol === 'http:' || url.protocol === 'https:') {
  const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method: 'GET', rejectUnauthorized: false }, (response) => {
    response.resume();
    const status = response.statusCode ?? 0;
    done(status >= 200 && status < 300, `HTTP ${status}`);
  });
  request.on('error', (error) => done(false, error.code ?? error.message));
  request.end();
} else {
  done(false, `unsupported scheme ${url.protocol}`);
}
