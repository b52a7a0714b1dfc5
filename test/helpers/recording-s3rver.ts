/**
 * Two real s3rver instances on loopback, one over https (a certificate the
 * openssl CLI makes for the test) and one over plain http, each with a bucket
 * `bucket`, recording the headers of every request on the server's own
 * sockets: for tests of what an upload sends (its body hash, length,
 * encoding) and how many connections it took.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { IncomingMessage, Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { restoreEnv, saveEnv } from './saved-env.js';

const require = createRequire(import.meta.url);
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => { run(): Promise<{ port: number }>; close(): Promise<void>; httpServer: Server };

/** One request as the server received it. */
export interface SeenRequest {
  method: string;
  url: string;
  contentSha256: string | undefined;
  contentLength: string | undefined;
  contentEncoding: string | undefined;
}

export interface RecordingS3rver {
  endpoint: string;
  seen: SeenRequest[];
  /** TCP connections the server accepted so far. */
  connections(): number;
}

export interface RecordingS3rvers {
  /** The servers' temp folder (the test may keep files of its own in it); removed by `close`. */
  root: string;
  tls: RecordingS3rver;
  plain: RecordingS3rver;
  close(): Promise<void>;
}

async function start(root: string, name: string, tls?: { key: Buffer; cert: Buffer }): Promise<RecordingS3rver & { close(): Promise<void> }> {
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: join(root, name), configureBuckets: [{ name: 'bucket' }], ...tls });
  const { port } = await server.run();
  const seen: SeenRequest[] = [];
  let connections = 0;
  server.httpServer.on('connection', () => connections++);
  server.httpServer.on('request', (req: IncomingMessage) => {
    const header = (n: string): string | undefined => {
      const v = req.headers[n];
      return Array.isArray(v) ? v[0] : v;
    };
    seen.push({ method: req.method ?? '', url: req.url ?? '', contentSha256: header('x-amz-content-sha256'), contentLength: header('content-length'), contentEncoding: header('content-encoding') });
  });
  return { endpoint: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`, seen, connections: () => connections, close: () => server.close() };
}

/**
 * Starts both servers in a temp folder named after `label`. The https agent is
 * made inside S3Backend, so the test's self-signed certificate is trusted
 * through NODE_TLS_REJECT_UNAUTHORIZED, set here and given back by `close`.
 */
export async function startRecordingS3rvers(label: string): Promise<RecordingS3rvers> {
  const root = await mkdtemp(join(tmpdir(), `lifeboat-${label}-`));
  const env = saveEnv('NODE_TLS_REJECT_UNAUTHORIZED');
  const key = join(root, 'key.pem');
  const cert = join(root, 'cert.pem');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`openssl could not make a test certificate: ${made.error?.message ?? made.stderr}`);
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  const tls = await start(root, 'tls', { key: await readFile(key), cert: await readFile(cert) });
  const plain = await start(root, 'plain');
  return {
    root,
    tls,
    plain,
    async close() {
      restoreEnv(env);
      await tls.close();
      await plain.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}
