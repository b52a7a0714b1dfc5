/**
 * S3Backend → misbehaving proxy → s3rver: a store that ignores a range,
 * announces more than was asked for, streams a body with no end, or sends more
 * than its Content-Length. `load` must fail with a permanent BACKEND_IO that
 * names the object and both sizes, and must stop reading: the proxy offers
 * hundreds of MiB and counts what it managed to write before the client hung
 * up (an upper bound of what the client received, socket buffers included).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { maxLoadBytes, type Handle } from '../../../src/core/backends/backend.js';
import { S3Backend } from '../../../src/core/backends/s3-backend.js';
import { isLifeboatError } from '../../../src/core/errors.js';
import { startFlakyProxy, type FlakyProxy, type ProxyFault } from '../../helpers/flaky-proxy.js';
import { startS3rver, s3rverCredentials, type RunningS3rver } from '../../helpers/s3rver.js';
import { dataHandle, hexId, rejection } from './contract.js';

const MiB = 1024 * 1024;
/** What the proxy offers beyond the real body: far more than any socket buffer. */
const OFFERED = 256 * MiB;
/** What a client that stops reading can have been sent anyway: the loopback socket buffers (a few MiB). */
const SOCKET_SLACK = 32 * MiB;

let server: RunningS3rver;
let proxy: FlakyProxy;
let backend: S3Backend;
const pack = dataHandle();
const packBytes = randomBytes(8 * MiB);
const keyFile: Handle = { kind: 'keys', name: hexId() };
const keyBytes = randomBytes(200);

beforeAll(async () => {
  server = await startS3rver();
  proxy = await startFlakyProxy(server.endpoint);
  backend = new S3Backend(`s3://${server.bucket}/bounded-${hexId().slice(0, 10)}`, {
    endpoint: proxy.endpoint,
    pathStyle: true,
    credentials: s3rverCredentials,
    idleTimeoutMs: 2000,
  });
  await backend.save(pack, packBytes);
  await backend.save(keyFile, keyBytes);
});

afterAll(async () => {
  await backend?.close();
  await proxy?.stop();
  await server?.stop();
});

beforeEach(() => {
  proxy.plan = () => undefined;
  proxy.resetStats();
});

/** Every GetObject gets `fault`. */
function everyGet(fault: ProxyFault): void {
  proxy.plan = (r) => (r.method === 'GET' && !r.url.includes('list-type') ? fault : undefined);
}

/** The load fails with a permanent BACKEND_IO whose message names the object and says `what`. */
async function refused(load: Promise<Buffer>, handle: Handle, what: RegExp): Promise<void> {
  const error = await rejection(load, 'BACKEND_IO');
  expect(isLifeboatError(error) && error.retryable).toBe(false);
  expect(error.message).toContain(handle.name);
  expect(error.message).toMatch(what);
}

/** After a refused answer the backend still works: the refused connection was not reused half-read. */
async function stillWorks(): Promise<void> {
  proxy.plan = () => undefined;
  expect((await backend.load(pack, { offset: 100, length: 4096 })).equals(packBytes.subarray(100, 4196))).toBe(true);
  expect((await backend.load(keyFile)).equals(keyBytes)).toBe(true);
}

describe('S3Backend.load reads no more than it may return', () => {
  it('refuses a ranged answer that ignored the range (200, the whole object) before reading its body', async () => {
    everyGet({ type: 'ignore-range' });
    await refused(backend.load(pack, { offset: 0, length: 4096 }), pack, /asked for 4096 bytes at offset 0, the store answered 8388608 bytes from offset 0; not read/);
    await refused(backend.load(pack, { offset: MiB, length: 4096 }), pack, /asked for 4096 bytes at offset 1048576, the store answered 8388608 bytes from offset 0/);
    expect(proxy.stats.faults['ignore-range']).toBe(2);
    await stillWorks();
  });

  it('refuses a ranged answer that announces more than the range (Content-Length) without reading it', async () => {
    everyGet({ type: 'oversize-response', extraBytes: OFFERED, contentLength: 'announce' });
    await refused(backend.load(pack, { offset: 4096, length: 4096 }), pack, new RegExp(`asked for 4096 bytes at offset 4096, the store answered ${4096 + OFFERED} bytes`));
    expect(proxy.stats.extraBytesSent).toBeLessThan(SOCKET_SLACK);
    await stillWorks();
  });

  it('stops reading a ranged answer with no Content-Length (chunked) as soon as it passes the range', async () => {
    everyGet({ type: 'oversize-response', extraBytes: OFFERED, contentLength: 'omit' });
    await refused(backend.load(pack, { offset: 4096, length: 4096 }), pack, /asked for 4096 bytes, the store sent more \(at least \d+\); stopped reading/);
    expect(proxy.stats.extraBytesSent).toBeLessThan(SOCKET_SLACK);
    await stillWorks();
  });

  it('never reads past the Content-Length it was given, even when the store keeps sending', async () => {
    everyGet({ type: 'oversize-response', extraBytes: OFFERED, contentLength: 'keep' });
    // HTTP/1.1 framing ends the body at Content-Length; the rest is never taken as body.
    expect((await backend.load(pack, { offset: 4096, length: 4096 })).equals(packBytes.subarray(4096, 8192))).toBe(true);
    expect((await backend.load(keyFile)).equals(keyBytes)).toBe(true);
    expect(proxy.stats.extraBytesSent).toBeLessThan(2 * SOCKET_SLACK);
    await stillWorks();
  });

  it(`refuses an unranged answer that announces more than its kind's maximum (keys: ${maxLoadBytes.keys} bytes) without reading it`, async () => {
    everyGet({ type: 'oversize-response', extraBytes: 64 * MiB, contentLength: 'announce' });
    await refused(backend.load(keyFile), keyFile, new RegExp(`has ${200 + 64 * MiB} bytes, more than the ${maxLoadBytes.keys} a keys object may have; not read`));
    expect(proxy.stats.extraBytesSent).toBeLessThan(SOCKET_SLACK);
    await stillWorks();
  });

  it("stops reading an unranged chunked answer at its kind's maximum", async () => {
    everyGet({ type: 'oversize-response', extraBytes: OFFERED, contentLength: 'omit' });
    await refused(backend.load(keyFile), keyFile, new RegExp(`sent more than the ${maxLoadBytes.keys} bytes a keys object may have \\(at least \\d+\\); stopped reading`));
    expect(proxy.stats.extraBytesSent).toBeLessThan(SOCKET_SLACK);
    await stillWorks();
  });

  it(`refuses a data pack announced above ${maxLoadBytes.data} bytes without reading it`, async () => {
    everyGet({ type: 'oversize-response', extraBytes: 4 * 1024 * MiB, contentLength: 'announce' });
    await refused(backend.load(pack), pack, new RegExp(`has ${packBytes.length + 4 * 1024 * MiB} bytes, more than the ${maxLoadBytes.data} a data object may have; not read`));
    expect(proxy.stats.extraBytesSent).toBeLessThan(SOCKET_SLACK);
    proxy.plan = () => undefined;
    expect((await backend.load(pack)).equals(packBytes)).toBe(true);
  });
});
