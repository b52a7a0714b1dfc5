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
import { randomBytes } from 'node:crypto';
import { unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveFileOf, type Handle } from '../../../src/core/backends/backend.js';
import { openFileBody, type FileBody } from '../../../src/core/backends/file-body.js';
import { LocalBackend } from '../../../src/core/backends/local-backend.js';
import { wrapForTransfer } from '../../../src/core/backends/transfer-wrappers.js';
import { MetadataCache } from '../../../src/core/backends/metadata-cache.js';
import { S3Backend } from '../../../src/core/backends/s3-backend.js';
import { StagingBackend } from '../../../src/core/backends/staging-backend.js';
import { s3rverCredentials } from '../../helpers/s3rver.js';
import { startRecordingS3rvers, type RecordingS3rver, type RecordingS3rvers } from '../../helpers/recording-s3rver.js';
import { MiB } from './harness.js';

let servers: RecordingS3rvers;
let tlsServer: RecordingS3rver;
let plainServer: RecordingS3rver;

beforeAll(async () => {
  servers = await startRecordingS3rvers('s3-streamed');
  ({ tls: tlsServer, plain: plainServer } = servers);
}, 60_000);

afterAll(async () => {
  await servers?.close();
});

function backendOn(server: RecordingS3rver, prefix: string): S3Backend {
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
  const path = join(servers.root, `staged-${randomBytes(6).toString('hex')}`);
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

  it("staging checks an upload's size once: S3's own HeadObject after the save, not a second one (a store that keeps less fails it)", async () => {
    const s3 = backendOn(tlsServer, 'staged-once');
    // The stack a backup uses: staging → metadata cache → retry → concurrency → S3.
    const remote = new MetadataCache(wrapForTransfer(s3, { concurrency: 2 }), new LocalBackend(join(servers.root, 'cache-once')));
    const staging = new StagingBackend(remote, new LocalBackend(join(servers.root, 'staging-once')));
    const handles = [dataHandle(), dataHandle(), { kind: 'index' as const, name: randomBytes(32).toString('hex') }];
    try {
      for (const h of handles) await staging.save(h, randomBytes(3 * MiB));
      await staging.flush();
      for (const h of handles) expect((await s3.stat(h)).size).toBe(3 * MiB);
    } finally {
      await staging.close();
    }
    for (const h of handles) {
      const mine = tlsServer.seen.filter((r) => r.url.includes(h.name));
      // One PUT, one HEAD (the save's own size check), then the stat above.
      expect(mine.map((r) => r.method)).toEqual(['PUT', 'HEAD', 'HEAD']);
    }
  });
});

