/**
 * Staged packs go up from their files (Backend.saveFile, file-body.ts): over
 * https the S3 backend streams the file as the body, so an upload in flight
 * holds no copy of its pack; where a stream would change what is sent (plain
 * http, where the body stays signed) it reads the file whole as before. Either
 * way the store keeps the exact bytes and the size is checked after the save.
 * Also: uploads of more than 2 MiB reuse kept connections (the SDK sends those
 * with "Expect: 100-continue", through a throwaway agent unless it is given one).
 * Real s3rver over https (a certificate the openssl CLI makes) and over http.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import type { IncomingMessage, Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveFileOf, type Handle } from '../../../src/core/backends/backend.js';
import { openFileBody, type FileBody } from '../../../src/core/backends/file-body.js';
import { S3Backend } from '../../../src/core/backends/s3-backend.js';
import { restoreEnv, saveEnv } from '../../helpers/saved-env.js';
import { s3rverCredentials } from '../../helpers/s3rver.js';
import { MiB } from './harness.js';

const require = createRequire(import.meta.url);
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => { run(): Promise<{ port: number }>; close(): Promise<void>; httpServer: Server };

interface Seen {
  method: string;
  url: string;
  contentSha256: string | undefined;
  contentLength: string | undefined;
  contentEncoding: string | undefined;
}

interface Running {
  endpoint: string;
  seen: Seen[];
  /** TCP connections the server accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

let root: string;
let tlsServer: Running;
let plainServer: Running;
const env = saveEnv('NODE_TLS_REJECT_UNAUTHORIZED');

async function start(name: string, tls?: { key: Buffer; cert: Buffer }): Promise<Running> {
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: join(root, name), configureBuckets: [{ name: 'bucket' }], ...tls });
  const { port } = await server.run();
  const seen: Seen[] = [];
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

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lifeboat-s3-streamed-'));
  const key = join(root, 'key.pem');
  const cert = join(root, 'cert.pem');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`openssl could not make a test certificate: ${made.error?.message ?? made.stderr}`);
  // The https agent is made inside S3Backend; the test's own self-signed certificate is trusted this way only.
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  tlsServer = await start('tls', { key: await readFile(key), cert: await readFile(cert) });
  plainServer = await start('plain');
}, 60_000);

afterAll(async () => {
  restoreEnv(env);
  await tlsServer?.close();
  await plainServer?.close();
  await rm(root, { recursive: true, force: true });
});

function backendOn(server: Running, prefix: string): S3Backend {
  return new S3Backend(`s3://bucket/${prefix}`, { endpoint: server.endpoint, pathStyle: true, credentials: s3rverCredentials });
}

function dataHandle(): Handle {
  const name = randomBytes(32).toString('hex');
  return { kind: 'data', name };
}

/** A real file body that counts how the backend read it. */
function counted(file: FileBody): FileBody & { streams: number; wholeReads: number } {
  const out = {
    size: file.size,
    path: file.path,
    streams: 0,
    wholeReads: 0,
    stream() {
      out.streams++;
      return file.stream();
    },
    bytes() {
      out.wholeReads++;
      return file.bytes();
    },
  };
  return out;
}

async function stagedFile(bytes: Buffer): Promise<string> {
  const path = join(root, `staged-${randomBytes(6).toString('hex')}`);
  await writeFile(path, bytes);
  return path;
}

describe('uploads from staged files', () => {
  it('over https: the file is streamed as one UNSIGNED-PAYLOAD PutObject of its exact length, and loads back byte for byte', async () => {
    const bytes = randomBytes(5 * MiB + 123);
    const opened = await openFileBody(await stagedFile(bytes));
    const file = counted(opened);
    const backend = backendOn(tlsServer, 'streamed');
    const handle = dataHandle();
    try {
      await saveFileOf(backend, handle, file);
      expect((await backend.load(handle)).equals(bytes)).toBe(true);
      expect((await backend.stat(handle)).size).toBe(bytes.length);
    } finally {
      await opened.close();
      await backend.close();
    }
    expect({ streams: file.streams, wholeReads: file.wholeReads }).toEqual({ streams: 1, wholeReads: 0 });
    const puts = tlsServer.seen.filter((s) => s.method === 'PUT' && s.url.includes(handle.name));
    expect(puts).toHaveLength(1);
    // Not aws-chunked (s3rver would keep the framing in the object): the plain bytes, announced up front.
    expect(puts[0]).toMatchObject({ contentSha256: 'UNSIGNED-PAYLOAD', contentLength: String(bytes.length), contentEncoding: undefined });
  });

  it('over plain http: the file is read whole and its hash signed, as every body there', async () => {
    const bytes = randomBytes(3 * MiB);
    const opened = await openFileBody(await stagedFile(bytes));
    const file = counted(opened);
    const backend = backendOn(plainServer, 'plain');
    const handle = dataHandle();
    try {
      await saveFileOf(backend, handle, file);
      expect((await backend.load(handle)).equals(bytes)).toBe(true);
    } finally {
      await opened.close();
      await backend.close();
    }
    expect({ streams: file.streams, wholeReads: file.wholeReads }).toEqual({ streams: 0, wholeReads: 1 });
    const put = plainServer.seen.find((s) => s.method === 'PUT' && s.url.includes(handle.name));
    expect(put?.contentSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a staged file removed after it was opened still goes up whole, on every attempt', async () => {
    const bytes = randomBytes(3 * MiB + 7);
    const path = await stagedFile(bytes);
    const file = await openFileBody(path);
    await unlink(path);
    const backend = backendOn(tlsServer, 'unlinked');
    const handle = dataHandle();
    try {
      // Two saves of one body: what a retry does.
      await backend.saveFile(handle, file);
      await backend.saveFile(handle, file);
      expect((await backend.load(handle)).equals(bytes)).toBe(true);
      expect((await file.bytes()).equals(bytes)).toBe(true);
    } finally {
      await file.close();
      await backend.close();
    }
  });

  it('large uploads reuse kept connections instead of one connection (and TLS handshake) each', async () => {
    const backend = backendOn(tlsServer, 'kept');
    const before = tlsServer.connections();
    try {
      // One after another, each above the SDK's 2 MiB "Expect: 100-continue" threshold, each followed by its size check.
      for (let i = 0; i < 4; i++) await backend.save(dataHandle(), randomBytes(3 * MiB));
    } finally {
      await backend.close();
    }
    // Before: a connection per PutObject plus one for the HEADs (5).
    expect(tlsServer.connections() - before).toBe(1);
  });
});
