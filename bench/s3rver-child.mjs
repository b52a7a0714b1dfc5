// s3rver as a child process of the S3 bench: `node --openssl-legacy-provider
// bench/s3rver-child.mjs DIR BUCKET... [--key FILE --cert FILE] [--stats FILE]`.
// Listens on 127.0.0.1, a free port, prints `{"port":N,"pid":N}` on stdout once
// it answers, and closes on SIGTERM or SIGINT. With --stats it counts what the
// clients asked for (requests per kind, bytes each way, the most in flight at
// once, connections and resumed TLS sessions, time per request) and writes that
// to FILE as JSON when it closes, and on SIGUSR2 (then starts counting afresh,
// so the bench gets one file per timed op): s3rver is one Node process, so how
// much a tool asks of it is part of how fast the tool can be. (The legacy provider: s3rver's continuation
// tokens for paginated listings use DES, which Node 20 hides without it.)
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const S3rver = require('s3rver');

const args = process.argv.slice(2);
const take = (flag) => {
  const i = args.indexOf(flag);
  if (i < 0) return undefined;
  const [, value] = args.splice(i, 2);
  return value;
};
const keyFile = take('--key');
const certFile = take('--cert');
const statsFile = take('--stats');
const [directory, ...buckets] = args;
if (!directory) {
  console.error('usage: node --openssl-legacy-provider bench/s3rver-child.mjs DIR BUCKET... [--key FILE --cert FILE]');
  process.exit(2);
}

const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  configureBuckets: buckets.map((name) => ({ name })),
  ...(keyFile && certFile ? { key: readFileSync(keyFile), cert: readFileSync(certFile) } : {}),
});
const { port } = await server.run();
const stats = statsFile ? countRequests(server.httpServer) : undefined;
process.stdout.write(`${JSON.stringify({ port, pid: process.pid })}\n`);

let closing = false;
const close = async () => {
  if (closing) return;
  closing = true;
  await server.close().catch(() => undefined);
  if (stats) writeFileSync(statsFile, `${JSON.stringify(stats, null, 2)}\n`);
  process.exit(0);
};
process.on('SIGTERM', close);
process.on('SIGINT', close);
if (stats) {
  process.on('SIGUSR2', () => {
    writeFileSync(statsFile, `${JSON.stringify(stats, null, 2)}\n`);
    Object.assign(stats, freshStats());
    // The answer the bench waits for: the file is complete.
    process.stdout.write(`${JSON.stringify({ statsWritten: statsFile })}\n`);
  });
}

/** Request counters on the server's own sockets (see the head comment). */
function countRequests(httpServer) {
  const stats = freshStats();
  let inFlight = 0;
  httpServer.on('connection', () => stats.connections++);
  httpServer.on('secureConnection', (socket) => {
    if (socket.isSessionReused()) stats.tlsResumed++;
  });
  httpServer.on('request', (req, res) => {
    const url = new URL(req.url, 'http://x');
    const sub = ['uploads', 'uploadId', 'partNumber', 'list-type', 'delete'].filter((q) => url.searchParams.has(q)).join('+');
    const kind = `${req.method}${sub ? ` ?${sub}` : ''}${req.headers.range ? ' range' : ''}`;
    const started = process.hrtime.bigint();
    stats.requests[kind] = (stats.requests[kind] ?? 0) + 1;
    const hasBody = req.method !== 'HEAD';
    inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, inFlight);
    // Not a 'data' listener: that would start the body flowing before s3rver reads it.
    stats.bytesIn += Number(req.headers['content-length'] ?? 0);
    res.on('close', () => {
      inFlight--;
      if (hasBody) stats.bytesOut += Number(res.getHeader('content-length') ?? 0);
      stats.requestMs[kind] = (stats.requestMs[kind] ?? 0) + Number(process.hrtime.bigint() - started) / 1e6;
    });
  });
  return stats;
}

function freshStats() {
  return { requests: {}, bytesIn: 0, bytesOut: 0, maxInFlight: 0, connections: 0, tlsResumed: 0, requestMs: {} };
}
