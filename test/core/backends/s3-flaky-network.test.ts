/**
 * S3Backend → flaky proxy → s3rver: drops mid-body, 500 / 503 SlowDown,
 * stalls, and a store that keeps fewer bytes than it confirmed. Each fault is
 * a retryable error of the backend; RetryBackend carries a 300 MiB round trip
 * through a steady mix of them.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Handle } from '../../../src/core/backends/backend.js';
import { RetryBackend } from '../../../src/core/backends/retry-backend.js';
import { S3Backend, type S3BackendOptions } from '../../../src/core/backends/s3-backend.js';
import { wrapForTransfer } from '../../../src/core/backends/transfer-wrappers.js';
import type { EngineEvent } from '../../../src/core/events.js';
import {
  firstFault,
  randomFaults,
  seededRandom,
  startFlakyProxy,
  type FaultPlan,
  type FlakyProxy,
  type ProxyFault,
  type ProxyRequest,
} from '../../helpers/flaky-proxy.js';
import { startS3rver, s3rverCredentials, type RunningS3rver } from '../../helpers/s3rver.js';
import { dataHandle, hexId, listAll, rejection } from './contract.js';

const MiB = 1024 * 1024;

let server: RunningS3rver;
let proxy: FlakyProxy;

beforeAll(async () => {
  server = await startS3rver();
  proxy = await startFlakyProxy(server.endpoint);
});

afterAll(async () => {
  await proxy?.stop();
  await server?.stop();
});

beforeEach(() => {
  proxy.plan = () => undefined;
  proxy.resetStats();
});

function throughProxy(options: S3BackendOptions = {}): S3Backend {
  return new S3Backend(`s3://${server.bucket}/net-${hexId().slice(0, 10)}`, {
    endpoint: proxy.endpoint,
    pathStyle: true,
    credentials: s3rverCredentials,
    // Short, so a stall costs little test time; still far above any healthy pause on loopback.
    idleTimeoutMs: 2000,
    // The 8 MiB the objects here were sized for (the default is 32 MiB): 10 MiB goes multipart.
    multipartThresholdBytes: 8 * MiB,
    ...options,
  });
}

/** The fault for the first request that matches, once; then nothing. */
function once(fault: ProxyFault, when: (r: ProxyRequest) => boolean): FaultPlan {
  let fired = false;
  return (request) => {
    if (fired || !when(request)) return undefined;
    fired = true;
    return fault;
  };
}

const isUpload = (r: ProxyRequest) => r.method === 'PUT' && r.bodyBytes > 0;
const isGet = (r: ProxyRequest) => r.method === 'GET' && !r.url.includes('list-type');

/** Object `i` of the big round trip: 16 MiB of AES-CTR keystream, regenerated on demand instead of kept. */
function objectBytes(i: number, size: number): Buffer {
  const key = createHash('sha256').update(`object ${i}`).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

describe('S3Backend through a flaky network', () => {
  it('turns each fault into one retryable BACKEND_UNAVAILABLE', async () => {
    const backend = throughProxy();
    const small = Buffer.alloc(256 * 1024, 7);
    const big = objectBytes(99, 10 * MiB); // multipart
    const handle = dataHandle();
    const cases: { fault: ProxyFault; when: (r: ProxyRequest) => boolean; call: () => Promise<unknown>; says: RegExp }[] = [
      { fault: { type: 'status', status: 500, code: 'InternalError' }, when: isUpload, call: () => backend.save(dataHandle(), small), says: /InternalError, HTTP 500/ },
      { fault: { type: 'status', status: 503, code: 'SlowDown' }, when: isUpload, call: () => backend.save(dataHandle(), small), says: /SlowDown, HTTP 503/ },
      { fault: { type: 'drop-request', afterBytes: 100_000 }, when: isUpload, call: () => backend.save(dataHandle(), small), says: /unreachable/ },
      { fault: { type: 'drop-request', afterBytes: 3 * MiB }, when: isUpload, call: () => backend.save(dataHandle(), big), says: /unreachable/ },
      { fault: { type: 'status', status: 503, code: 'SlowDown' }, when: (r) => r.method === 'POST', call: () => backend.save(dataHandle(), big), says: /SlowDown/ },
      { fault: { type: 'stall' }, when: isUpload, call: () => backend.save(dataHandle(), small), says: /unreachable/ },
      { fault: { type: 'drop-response', afterBytes: 1000 }, when: isGet, call: () => backend.load(handle), says: /unreachable/ },
      { fault: { type: 'stall', afterResponseBytes: 5000 }, when: isGet, call: () => backend.load(handle), says: /unreachable/ },
      { fault: { type: 'stall' }, when: (r) => r.method === 'HEAD', call: () => backend.stat(handle), says: /unreachable/ },
      { fault: { type: 'status', status: 500, code: 'InternalError' }, when: (r) => r.url.includes('list-type'), call: () => listAll(backend, 'data'), says: /InternalError/ },
    ];
    await backend.save(handle, small);
    for (const c of cases) {
      proxy.plan = once(c.fault, c.when);
      const error = await rejection(c.call(), 'BACKEND_UNAVAILABLE');
      expect(error, `${c.fault.type}: ${error.message}`).toMatchObject({ retryable: true });
      expect(error.message).toMatch(c.says);
      expect(error.message).toContain(`s3://${server.bucket}/`);
    }
    // Healed, everything is where it should be.
    proxy.plan = () => undefined;
    expect((await backend.load(handle)).equals(small)).toBe(true);
    await backend.close();
  });

  it('re-uploads once when the store kept fewer bytes than it confirmed, then gives up with BACKEND_IO', async () => {
    const backend = throughProxy();
    const data = Buffer.alloc(300_000, 3);
    const handle: Handle = { kind: 'index', name: hexId() };
    proxy.plan = once({ type: 'truncate-upload', keepBytes: 1000 }, isUpload);
    await backend.save(handle, data);
    expect((await backend.load(handle)).equals(data)).toBe(true);
    expect(proxy.stats.faults['truncate-upload']).toBeGreaterThan(0);

    proxy.plan = (r) => (isUpload(r) ? { type: 'truncate-upload', keepBytes: 1000 } : undefined);
    const error = await rejection(backend.save({ kind: 'index', name: hexId() }, data), 'BACKEND_IO');
    expect(error.message).toMatch(/confirmed 300000 bytes but holds 1000 bytes, twice/);
    await backend.close();
  });

  it('a destination that stays down exhausts the retry budget with a retryable error, and works once back', async () => {
    const backend = new RetryBackend(throughProxy(), { baseDelayMs: 20, maxDelayMs: 100, budgetMs: 600 });
    proxy.plan = () => ({ type: 'status', status: 503, code: 'ServiceUnavailable' });
    const started = Date.now();
    const error = await rejection(backend.save(dataHandle(), Buffer.from('x')), 'BACKEND_UNAVAILABLE');
    expect(error).toMatchObject({ retryable: true });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(backend.retryStats()).toMatchObject({ budgetExhausted: true, gaveUp: 1 });
    expect(backend.retryStats().retries).toBeGreaterThan(2);
    proxy.plan = () => undefined;
    await backend.save(dataHandle(), Buffer.from('x'));
    expect(backend.retryStats().budgetExhausted).toBe(false);
    await backend.close();
  });

  it('carries 304 MiB in 16 MiB objects through drops, 500s, SlowDowns and stalls, byte-identical, counting retries', async () => {
    const objectSize = 16 * MiB;
    const count = 19;
    const random = seededRandom(20_260_101);
    const midBody = (r: ProxyRequest, rnd: () => number) => Math.floor(rnd() * Math.max(1, r.bodyBytes));
    proxy.plan = firstFault(
      // Each kind of fault at least once, whatever the draw…
      once({ type: 'drop-request', afterBytes: 4 * MiB }, (r) => isUpload(r) && r.bodyBytes >= 8 * MiB),
      once({ type: 'status', status: 503, code: 'SlowDown' }, isUpload),
      once({ type: 'status', status: 500, code: 'InternalError' }, (r) => r.method === 'POST'),
      once({ type: 'stall' }, isUpload),
      once({ type: 'drop-response', afterBytes: 6 * MiB }, isGet),
      once({ type: 'stall', afterResponseBytes: 2 * MiB }, isGet),
      // …and a steady drizzle of them.
      randomFaults(
        [
          { probability: 0.05, when: isUpload, fault: (r, rnd) => ({ type: 'drop-request', afterBytes: midBody(r, rnd) }) },
          { probability: 0.03, when: isUpload, fault: () => ({ type: 'status', status: 503, code: 'SlowDown' }) },
          { probability: 0.03, fault: () => ({ type: 'status', status: 500, code: 'InternalError' }) },
          { probability: 0.05, when: isGet, fault: (_r, rnd) => ({ type: 'drop-response', afterBytes: Math.floor(rnd() * objectSize) }) },
        ],
        random,
      ),
    );
    const events: EngineEvent[] = [];
    const inner = throughProxy();
    const backend = wrapForTransfer(inner, { concurrency: 4, retryBudgetMs: 60_000, emit: (e) => events.push(e) });
    const handles = Array.from({ length: count }, (_, i) => ({
      kind: 'data' as const,
      name: createHash('sha256').update(`pack ${i}`).digest('hex'),
    }));

    const started = Date.now();
    await Promise.all(handles.map((h, i) => backend.save(h, objectBytes(i, objectSize))));
    const uploaded = Date.now();

    const listed = await listAll(backend, 'data');
    expect(listed).toEqual(handles.map((h) => ({ name: h.name, size: objectSize })).sort((a, b) => a.name.localeCompare(b.name)));
    await Promise.all(
      handles.map(async (h, i) => {
        const loaded = await backend.load(h);
        expect(loaded.length).toBe(objectSize);
        expect(loaded.equals(objectBytes(i, objectSize)), `object ${i} differs`).toBe(true);
      }),
    );
    const done = Date.now();

    const stats = backend.retryStats();
    expect(stats.retries).toBeGreaterThan(0);
    expect(stats.byOperation.save).toBeGreaterThan(0);
    expect(stats.byOperation.load).toBeGreaterThan(0);
    expect(stats.gaveUp).toBe(0);
    expect(events.filter((e) => e.type === 'retry')).toHaveLength(stats.retries);
    const { faults } = proxy.stats;
    for (const type of ['drop-request', 'drop-response', 'status', 'stall'] as const) expect(faults[type]).toBeGreaterThan(0);
    console.log(
      `304 MiB round trip: upload ${((uploaded - started) / 1000).toFixed(1)} s, download+verify ${((done - uploaded) / 1000).toFixed(1)} s; ` +
        `${proxy.stats.requests} requests, faults ${JSON.stringify(faults)}, retries ${JSON.stringify(stats)}`,
    );
    await backend.close();
  });
});
