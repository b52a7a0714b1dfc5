/**
 * Upload bodies over https go UNSIGNED-PAYLOAD (S3BackendOptions.unsignedPayloadOverTls):
 * SigV4 would otherwise hash every body with SHA-256 on the main thread. Over
 * plain http, or with the option off, the body hash stays in the signature.
 * Real s3rver over https (a certificate the openssl CLI makes for the test),
 * which checks every signature; the headers are read on the server's sockets.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Backend, type S3BackendOptions } from '../../../src/core/backends/s3-backend.js';
import { s3rverCredentials } from '../../helpers/s3rver.js';
import { startRecordingS3rvers, type RecordingS3rver, type RecordingS3rvers } from '../../helpers/recording-s3rver.js';

const MiB = 1024 * 1024;
let servers: RecordingS3rvers;
let tlsServer: RecordingS3rver;
let plainServer: RecordingS3rver;

beforeAll(async () => {
  servers = await startRecordingS3rvers('s3-unsigned');
  ({ tls: tlsServer, plain: plainServer } = servers);
});

afterAll(async () => {
  await servers?.close();
});

/** Saves one small object and one multipart object (two parts), reads both back, and returns the upload requests' body hashes. */
async function uploadBoth(server: RecordingS3rver, prefix: string, options: S3BackendOptions = {}): Promise<string[]> {
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
