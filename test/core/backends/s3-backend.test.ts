import { randomBytes } from 'node:crypto';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, Handle } from '../../../src/core/backends/backend.js';
import { RetryBackend } from '../../../src/core/backends/retry-backend.js';
import type { LifeboatError } from '../../../src/core/errors.js';
import { S3Backend, type S3BackendOptions } from '../../../src/core/backends/s3-backend.js';
import { mapS3Error } from '../../../src/core/backends/s3-errors.js';
import { parseS3Url } from '../../../src/core/backends/s3-url.js';
import { startS3rver, s3rverCredentials, type RunningS3rver } from '../../helpers/s3rver.js';
import { backendContract, dataHandle, hexId, listAll, rejection } from './contract.js';

let server: RunningS3rver;

beforeAll(async () => {
  server = await startS3rver({ buckets: ['lifeboat-test', 'other-bucket'] });
});

afterAll(async () => {
  await server?.stop();
});

function s3(prefix = `repo-${hexId().slice(0, 12)}`, options: S3BackendOptions = {}, bucket = server.bucket): S3Backend {
  return new S3Backend(`s3://${bucket}/${prefix}`, {
    endpoint: server.endpoint,
    pathStyle: true,
    credentials: s3rverCredentials,
    ...options,
  });
}

/** A raw client, to look at what the backend stored. */
function rawClient(): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: s3rverCredentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Retries counted but never waited for: these tests are about errors that must not be retried. */
function noWaitRetry(backend: S3Backend): RetryBackend {
  return new RetryBackend(backend, { sleep: async () => {}, random: () => 0.5 });
}

/**
 * The contract suite builds some rejecting calls before it awaits them one by
 * one. Over a network they reject before they are awaited, which vitest
 * reports as an unhandled rejection although the suite does check each one.
 * This pass-through marks every call's promise as observed; the caller still
 * gets the same promise, rejection included.
 */
function observed(backend: Backend): Backend {
  const watch = <T>(promise: Promise<T>): Promise<T> => {
    promise.catch(() => undefined);
    return promise;
  };
  return {
    get location() {
      return backend.location;
    },
    save: (handle, data, options) => watch(backend.save(handle, data, options)),
    load: (handle, range) => watch(backend.load(handle, range)),
    stat: (handle) => watch(backend.stat(handle)),
    list: (kind) => backend.list(kind),
    remove: (handle) => watch(backend.remove(handle)),
    create: () => watch(backend.create()),
    exists: () => watch(backend.exists()),
    close: () => backend.close(),
  };
}

// 12 MiB: above the 8 MiB multipart threshold set here (the default is 32 MiB), so the large cases go through lib-storage's Upload.
backendContract('s3 (s3rver)', () => observed(s3(undefined, { multipartThresholdBytes: 8 * 1024 * 1024 })), { largeObjectBytes: 12 * 1024 * 1024 });

describe('S3Backend', () => {
  it('parses s3:// URLs and refuses bad ones without echoing credentials', () => {
    expect(parseS3Url('s3://acme-archive/app-data/')).toEqual({ bucket: 'acme-archive', prefix: 'app-data' });
    expect(parseS3Url('s3://acme-archive')).toEqual({ bucket: 'acme-archive', prefix: '' });
    expect(parseS3Url('S3://acme-archive/a/b')).toEqual({ bucket: 'acme-archive', prefix: 'a/b' });
    for (const url of ['s3://', 's3://Upper/x', 's3://ab/x', 's3://bucket/a//b', 's3://bucket/../x']) {
      expect(() => parseS3Url(url)).toThrow(/expected s3:\/\/bucket\/prefix/);
    }
    expect(() => parseS3Url('s3://AKIAXXX:hunter2@bucket/x')).toThrow(/credentials never go in the URL/);
    try {
      parseS3Url('s3://AKIAXXX:hunter2@bucket/x');
    } catch (e) {
      expect(String(e)).not.toContain('hunter2');
    }
  });

  it('keeps objects under the prefix in the Backend layout, and a repository at the bucket root works too', async () => {
    const prefix = `layout-${hexId().slice(0, 8)}`;
    const backend = s3(prefix);
    const pack = dataHandle('ab');
    await backend.save(pack, Buffer.from('pack'));
    await backend.save({ kind: 'config', name: 'config' }, Buffer.from('{}'));
    const client = rawClient();
    const head = await client.send(new HeadObjectCommand({ Bucket: server.bucket, Key: `${prefix}/data/ab/${pack.name}` }));
    expect(head.ContentLength).toBe(4);
    expect(backend.location).toBe(`s3://${server.bucket}/${prefix}`);

    const rooted = new S3Backend('s3://other-bucket', { endpoint: server.endpoint, pathStyle: true, credentials: s3rverCredentials });
    await rooted.save({ kind: 'config', name: 'config' }, Buffer.from('{}'));
    expect(await rooted.exists()).toBe(true);
    expect(await listAll(rooted, 'config')).toEqual([{ name: 'config', size: 2 }]);
    await client.send(new HeadObjectCommand({ Bucket: 'other-bucket', Key: 'config' }));
    client.destroy();
    await Promise.all([backend.close(), rooted.close()]);
  });

  it('gives data/ the storage class asked for, and keeps config, keys, index, snapshots and locks STANDARD', async () => {
    const prefix = `cold-${hexId().slice(0, 8)}`;
    const backend = s3(prefix, { dataStorageClass: 'GLACIER' });
    const pack = dataHandle();
    const defaultPack = dataHandle();
    const others: Handle[] = [
      { kind: 'config', name: 'config' },
      { kind: 'keys', name: hexId() },
      { kind: 'index', name: hexId() },
      { kind: 'snapshots', name: hexId() },
      { kind: 'locks', name: hexId() },
    ];
    await backend.save(pack, randomBytes(100), { storageClass: 'DEEP_ARCHIVE' });
    await backend.save(defaultPack, randomBytes(100));
    for (const handle of others) await backend.save(handle, randomBytes(10), { storageClass: 'DEEP_ARCHIVE' });

    const client = rawClient();
    const classOf = async (path: string) =>
      (await client.send(new HeadObjectCommand({ Bucket: server.bucket, Key: `${prefix}/${path}` }))).StorageClass ?? 'STANDARD';
    expect(await classOf(`data/${pack.name.slice(0, 2)}/${pack.name}`)).toBe('DEEP_ARCHIVE');
    expect(await classOf(`data/${defaultPack.name.slice(0, 2)}/${defaultPack.name}`)).toBe('GLACIER');
    for (const handle of others) {
      expect(await classOf(handle.kind === 'config' ? 'config' : `${handle.kind}/${handle.name}`)).toBe('STANDARD');
    }
    // Archived objects read back normally on s3rver (a Glacier thaw needs a test double of its own).
    expect((await backend.load(pack)).length).toBe(100);
    client.destroy();
    await backend.close();
  });

  it('lists across ListObjectsV2 pages (continuation tokens need --openssl-legacy-provider in s3rver)', async () => {
    const backend = s3(undefined, { listPageSize: 3 });
    const names = Array.from({ length: 8 }, () => dataHandle());
    const index = Array.from({ length: 7 }, () => ({ kind: 'index', name: hexId() }) as const);
    await Promise.all([...names, ...index].map((h, i) => backend.save(h, randomBytes(i + 1))));
    expect((await listAll(backend, 'data')).map((o) => o.name)).toEqual(names.map((h) => h.name).sort((a, b) => a.localeCompare(b)));
    expect(await listAll(backend, 'index')).toHaveLength(7);
    await backend.close();
  });

  it('skips foreign keys under the prefix when listing', async () => {
    const prefix = `foreign-${hexId().slice(0, 8)}`;
    const backend = s3(prefix);
    const pack = dataHandle('cd');
    await backend.save(pack, Buffer.from('x'));
    const stray = s3(`${prefix}/data`);
    // data/<not hex>/…, a pack outside its fan-out prefix, and a nested index key.
    await stray.save({ kind: 'index', name: 'zz' }, Buffer.from('x')); // → prefix/data/index/zz
    const misplaced = s3(`${prefix}/data/ab`);
    await misplaced.save({ kind: 'config', name: 'config' }, Buffer.from('x')); // → prefix/data/ab/config
    const nested = s3(`${prefix}/index/sub`);
    await nested.save({ kind: 'config', name: 'config' }, Buffer.from('x')); // → prefix/index/sub/config
    expect((await listAll(backend, 'data')).map((o) => o.name)).toEqual([pack.name]);
    expect(await listAll(backend, 'index')).toEqual([]);
    await Promise.all([backend.close(), stray.close(), misplaced.close(), nested.close()]);
  });

  it('create() makes a missing bucket, and is idempotent', async () => {
    const bucket = `made-${hexId().slice(0, 10)}`;
    const backend = s3('repo', {}, bucket);
    expect(await backend.exists()).toBe(false);
    await backend.create();
    await backend.create();
    await backend.save({ kind: 'config', name: 'config' }, Buffer.from('{}'));
    expect(await backend.exists()).toBe(true);
    await backend.close();
  });

  it('a missing bucket is one clear BACKEND_NOT_FOUND naming it, with no retries', async () => {
    const bucket = `missing-${hexId().slice(0, 10)}`;
    const inner = s3('repo', { createBucket: false }, bucket);
    const backend = noWaitRetry(inner);
    const started = Date.now();
    const checks = [
      rejection(backend.create(), 'BACKEND_NOT_FOUND'),
      rejection(backend.load({ kind: 'config', name: 'config' }), 'BACKEND_NOT_FOUND'),
      rejection(backend.stat({ kind: 'snapshots', name: hexId() }), 'BACKEND_NOT_FOUND'),
      rejection(listAll(backend, 'snapshots'), 'BACKEND_NOT_FOUND'),
      rejection(backend.save({ kind: 'locks', name: hexId() }, Buffer.from('x')), 'BACKEND_NOT_FOUND'),
    ];
    for (const error of await Promise.all(checks)) {
      expect(error.message).toContain(`bucket "${bucket}" does not exist`);
      expect(error.message).toContain('check the bucket name and region');
      expect(error.message.split('\n')).toHaveLength(1);
    }
    expect(await backend.exists()).toBe(false);
    expect(backend.retryStats().retries).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    await backend.close();
  });

  it('wrong credentials are one clear BACKEND_PERMISSION naming the bucket, never the secret, with no retries', async () => {
    const secret = 'not-the-real-secret-value';
    const inner = s3('repo', { credentials: { accessKeyId: 'WRONGKEYID', secretAccessKey: secret } });
    const backend = noWaitRetry(inner);
    const checks = [
      rejection(backend.save(dataHandle(), Buffer.from('x')), 'BACKEND_PERMISSION'),
      rejection(backend.load({ kind: 'config', name: 'config' }), 'BACKEND_PERMISSION'),
      rejection(backend.stat({ kind: 'config', name: 'config' }), 'BACKEND_PERMISSION'),
      rejection(backend.exists(), 'BACKEND_PERMISSION'),
      rejection(backend.create(), 'BACKEND_PERMISSION'),
      rejection(listAll(backend, 'index'), 'BACKEND_PERMISSION'),
    ];
    for (const error of await Promise.all(checks)) {
      expect(error.message).toContain(`access denied to bucket "${server.bucket}"`);
      expect(error.message).toContain('check the AWS credentials');
      expect(error.message).not.toContain(secret);
      expect(error.message).not.toContain('WRONGKEYID');
      expect(JSON.stringify((error as LifeboatError).details)).not.toContain(secret);
    }
    expect(backend.retryStats()).toMatchObject({ retries: 0 });
    await backend.close();
  });

  it('an unreachable endpoint is a retryable BACKEND_UNAVAILABLE', async () => {
    const down = new S3Backend(`s3://${server.bucket}/x`, {
      endpoint: 'http://127.0.0.1:1',
      pathStyle: true,
      credentials: s3rverCredentials,
    });
    const error = await rejection(down.stat({ kind: 'config', name: 'config' }), 'BACKEND_UNAVAILABLE');
    expect(error).toMatchObject({ retryable: true });
    expect(error.message).toContain(`s3://${server.bucket}/x/config`);
    await down.close();
  });
});

describe('mapS3Error', () => {
  const sdkError = (name: string, status?: number, extra: Record<string, unknown> = {}) =>
    Object.assign(new Error(name === 'Unknown' ? 'UnknownError' : `${name} happened`), {
      name,
      ...(status === undefined ? {} : { $metadata: { httpStatusCode: status } }),
      ...extra,
    });
  const networkError = (code: string, message: string) => Object.assign(new Error(message), { code });
  const context = { op: 'save', bucket: 'acme', key: 'repo/data/ab/abcd' };

  it.each([
    ['SlowDown', sdkError('SlowDown', 503), 'BACKEND_UNAVAILABLE', /SlowDown, HTTP 503/],
    ['InternalError', sdkError('InternalError', 500), 'BACKEND_UNAVAILABLE', /InternalError, HTTP 500/],
    ['a bare 502', sdkError('Unknown', 502), 'BACKEND_UNAVAILABLE', /\(HTTP 502\)/],
    ['RequestTimeout (400)', sdkError('RequestTimeout', 400), 'BACKEND_UNAVAILABLE', /RequestTimeout/],
    ['429', sdkError('TooManyRequests', 429), 'BACKEND_UNAVAILABLE', /HTTP 429/],
    ['ECONNRESET', networkError('ECONNRESET', 'read ECONNRESET'), 'BACKEND_UNAVAILABLE', /ECONNRESET/],
    ['ECONNREFUSED', networkError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'), 'BACKEND_UNAVAILABLE', /ECONNREFUSED/],
    ['socket hang up', new Error('socket hang up'), 'BACKEND_UNAVAILABLE', /socket hang up/],
    ['an idle timeout', Object.assign(new Error('the request socket timed out'), { name: 'TimeoutError' }), 'BACKEND_UNAVAILABLE', /TimeoutError/],
    ['clock skew', sdkError('RequestTimeTooSkewed', 403), 'BACKEND_UNAVAILABLE', /clock/],
    ['NoSuchKey', sdkError('NoSuchKey', 404), 'BACKEND_NOT_FOUND', /: not found$/],
    ['a HEAD 404', sdkError('NotFound', 404), 'BACKEND_NOT_FOUND', /: not found$/],
    ['NoSuchBucket', sdkError('NoSuchBucket', 404), 'BACKEND_NOT_FOUND', /bucket "acme" does not exist \(check the bucket name and region, or run init/],
    ['AccessDenied', sdkError('AccessDenied', 403), 'BACKEND_PERMISSION', /access denied to bucket "acme" \(AccessDenied, HTTP 403\): check the AWS credentials/],
    ['a HEAD 403', sdkError('Unknown', 403), 'BACKEND_PERMISSION', /access denied to bucket "acme" \(HTTP 403\)/],
    ['SignatureDoesNotMatch', sdkError('SignatureDoesNotMatch', 403), 'BACKEND_PERMISSION', /check the AWS credentials/],
    ['ExpiredToken', sdkError('ExpiredToken', 400), 'BACKEND_PERMISSION', /ExpiredToken/],
    ['no credentials', Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), 'BACKEND_PERMISSION', /no AWS credentials found for bucket "acme"/],
    ['no region', new Error('Region is missing'), 'USAGE', /no AWS region for bucket "acme"/],
    ['an archived object', sdkError('InvalidObjectState', 403), 'OBJECT_ARCHIVED', /archived .* must be restored/],
    ['a wrong region', sdkError('PermanentRedirect', 301), 'BACKEND_IO', /another region/],
    ['an unknown 400', sdkError('InvalidArgument', 400), 'BACKEND_IO', /InvalidArgument, HTTP 400: InvalidArgument happened/],
  ] as const)('%s → %s', (_label, error, code, message) => {
    const mapped = mapS3Error(error, context);
    expect(mapped.code).toBe(code);
    expect(mapped.retryable).toBe(code === 'BACKEND_UNAVAILABLE');
    expect(mapped.message).toMatch(message);
    expect(mapped.message.startsWith('save s3://acme/repo/data/ab/abcd: ')).toBe(true);
  });

  it('keeps signed request headers out of the error and its cause', () => {
    const error = sdkError('AccessDenied', 403, {
      $response: { headers: { 'x-amz-security-token': 'SESSION-SECRET', authorization: 'AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/…' } },
    });
    const mapped = mapS3Error(error, context);
    const everything = JSON.stringify({ message: mapped.message, details: mapped.details, cause: String(mapped.cause), causeProps: { ...(mapped.cause as object) } });
    expect(everything).not.toContain('SESSION-SECRET');
    expect(everything).not.toContain('AKIAEXAMPLE');
  });
});
