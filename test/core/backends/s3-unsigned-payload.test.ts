/**
 * Upload bodies over https go UNSIGNED-PAYLOAD (S3BackendOptions.unsignedPayloadOverTls):
 * SigV4 would otherwise hash every body with SHA-256 on the main thread. Over
 * plain http, or with the option off, the body hash stays in the signature.
 * Real s3rver over https (a certificate the openssl CLI makes for the test),
 * which checks every signature; the headers are read on the server's sockets.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { IncomingMessage, Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Backend, type S3BackendOptions } from '../../../src/core/backends/s3-backend.js';
import { restoreEnv, saveEnv } from '../../helpers/saved-env.js';
import { s3rverCredentials } from '../../helpers/s3rver.js';

const MiB = 1024 * 1024;
const require = createRequire(import.meta.url);
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => { run(): Promise<{ port: number }>; close(): Promise<void>; httpServer: Server };

interface Seen {
  method: string;
  url: string;
  contentSha256: string | undefined;
}

interface Running {
  endpoint: string;
  seen: Seen[];
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
  server.httpServer.on('request', (req: IncomingMessage) => {
    const sha = req.headers['x-amz-content-sha256'];
    seen.push({ method: req.method ?? '', url: req.url ?? '', contentSha256: Array.isArray(sha) ? sha[0] : sha });
  });
  return { endpoint: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`, seen, close: () => server.close() };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lifeboat-s3-unsigned-'));
  const key = join(root, 'key.pem');
  const cert = join(root, 'cert.pem');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`openssl could not make a test certificate: ${made.error?.message ?? made.stderr}`);
  // The SDK's https agent is made inside S3Backend; the test's own self-signed certificate is trusted this way only.
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  tlsServer = await start('tls', { key: await readFile(key), cert: await readFile(cert) });
  plainServer = await start('plain');
});

afterAll(async () => {
  restoreEnv(env);
  await tlsServer?.close();
  await plainServer?.close();
  await rm(root, { recursive: true, force: true });
});

/** Saves one small object and one multipart object (two parts), reads both back, and returns the upload requests' body hashes. */
async function uploadBoth(server: Running, prefix: string, options: S3BackendOptions = {}): Promise<string[]> {
  const backend = new S3Backend(`s3://bucket/${prefix}`, {
    endpoint: server.endpoint,
    pathStyle: true,
    credentials: s3rverCredentials,
    multipartThresholdBytes: 5 * MiB,
    partSizeBytes: 5 * MiB,
    ...options,
  });
  const small = randomBytes(4096);
  const large = randomBytes(6 * MiB);
  const smallName = 'aa' + randomBytes(31).toString('hex');
  const largeName = 'bb' + randomBytes(31).toString('hex');
  await backend.save({ kind: 'data', name: smallName }, small);
  await backend.save({ kind: 'data', name: largeName }, large);
  expect((await backend.load({ kind: 'data', name: smallName })).equals(small)).toBe(true);
  expect((await backend.load({ kind: 'data', name: largeName })).equals(large)).toBe(true);
  await backend.close();
  const uploads = server.seen.filter((s) => s.method === 'PUT' && s.url.includes(`/bucket/${prefix}/data/`));
  // One PutObject, two UploadPart.
  expect(uploads.map((u) => (u.url.includes('partNumber=') ? 'part' : 'put')).sort()).toEqual(['part', 'part', 'put']);
  return uploads.map((u) => u.contentSha256 ?? '(none)');
}

describe('S3 upload bodies and SigV4', () => {
  it('over https: PutObject and UploadPart go UNSIGNED-PAYLOAD, and the store accepts and keeps them whole', async () => {
    expect(await uploadBoth(tlsServer, 'default')).toEqual(['UNSIGNED-PAYLOAD', 'UNSIGNED-PAYLOAD', 'UNSIGNED-PAYLOAD']);
  });

  it('over https with unsignedPayloadOverTls: false, and over plain http: every body is hashed into the signature', async () => {
    for (const hashes of [await uploadBoth(tlsServer, 'signed', { unsignedPayloadOverTls: false }), await uploadBoth(plainServer, 'plain')]) {
      expect(hashes).toHaveLength(3);
      for (const h of hashes) expect(h).toMatch(/^[0-9a-f]{64}$/);
    }
  });
});
