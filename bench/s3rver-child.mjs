// s3rver as a child process of the S3 bench: `node --openssl-legacy-provider
// bench/s3rver-child.mjs DIR BUCKET... [--key FILE --cert FILE]`. Listens on
// 127.0.0.1, a free port, prints `{"port":N,"pid":N}` on stdout once it answers,
// and closes on SIGTERM or SIGINT. (The legacy provider: s3rver's continuation
// tokens for paginated listings use DES, which Node 20 hides without it.)
import { readFileSync } from 'node:fs';
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
process.stdout.write(`${JSON.stringify({ port, pid: process.pid })}\n`);

let closing = false;
const close = async () => {
  if (closing) return;
  closing = true;
  await server.close().catch(() => undefined);
  process.exit(0);
};
process.on('SIGTERM', close);
process.on('SIGINT', close);
