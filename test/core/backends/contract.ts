/**
 * The Backend contract (src/core/backends/backend.ts) as one suite that every
 * backend runs: `backendContract('local', () => new LocalBackend(dir))`.
 * `makeBackend` must return a backend over a fresh, empty container each time
 * (a new folder, bucket prefix, …); the suite calls `create()` before each test
 * and `close()` after it.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { maxLoadBytes, type Backend, type FileKind, type Handle, type ObjectInfo } from '../../../src/core/backends/backend.js';
import { isLifeboatError, type ErrorCode } from '../../../src/core/errors.js';

export interface BackendContractOptions {
  /** Size of the large-object cases (default 20 MiB). */
  largeObjectBytes?: number;
}

const MiB = 1024 * 1024;

export function hexId(): string {
  return randomBytes(32).toString('hex');
}

export function dataHandle(prefix = ''): Handle {
  return { kind: 'data', name: prefix + hexId().slice(prefix.length) };
}

/**
 * Every object of a kind as name and size. `modified` is checked on the way
 * (where a backend gives it, it is the time of the write: prune's grace period
 * for unindexed packs depends on it) and left out of the result.
 */
export async function listAll(backend: Backend, kind: FileKind): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const { modified, ...info } of backend.list(kind)) {
    if (modified !== undefined) {
      expect(modified).toBeInstanceOf(Date);
      expect(Math.abs(modified.getTime() - Date.now()), `${info.name}: modified ${modified.toISOString()} is not about now`).toBeLessThan(60 * 60 * 1000);
    }
    out.push(info);
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Resolves to the LifeboatError a promise rejects with, failing the test if it resolves or throws something else. */
export async function rejection(promise: Promise<unknown>, code: ErrorCode): Promise<Error> {
  let caught: unknown;
  try {
    await promise;
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected a rejection with ${code}`).toBeDefined();
  if (!isLifeboatError(caught)) throw caught instanceof Error ? caught : new Error(String(caught));
  expect(caught.code, caught.message).toBe(code);
  return caught;
}

export function backendContract(
  name: string,
  makeBackend: () => Backend | Promise<Backend>,
  options: BackendContractOptions = {},
): void {
  const largeBytes = options.largeObjectBytes ?? 20 * MiB;

  describe(`Backend contract: ${name}`, () => {
    let backend: Backend;

    beforeEach(async () => {
      backend = await makeBackend();
      await backend.create();
    });

    afterEach(async () => {
      await backend.close();
    });

    it('create is idempotent; exists is true only while a config is stored', async () => {
      expect(await backend.exists()).toBe(false);
      await backend.create();
      expect(await backend.exists()).toBe(false);
      await backend.save({ kind: 'config', name: 'config' }, Buffer.from('{"version":1}'));
      expect(await backend.exists()).toBe(true);
      await backend.create();
      expect(await backend.exists()).toBe(true);
      await backend.remove({ kind: 'config', name: 'config' });
      expect(await backend.exists()).toBe(false);
    });

    it('round-trips every kind, and stat gives the size', async () => {
      const handles: Handle[] = [
        { kind: 'config', name: 'config' },
        { kind: 'keys', name: hexId() },
        dataHandle(),
        { kind: 'index', name: hexId() },
        { kind: 'snapshots', name: hexId() },
        { kind: 'locks', name: hexId() },
      ];
      const stored = new Map<Handle, Buffer>();
      for (const [i, handle] of handles.entries()) {
        const data = randomBytes(100 + i * 37);
        stored.set(handle, data);
        await backend.save(handle, data);
      }
      for (const [handle, data] of stored) {
        expect((await backend.load(handle)).equals(data)).toBe(true);
        expect(await backend.stat(handle)).toEqual({ name: handle.name, size: data.length });
      }
    });

    it('round-trips an empty object', async () => {
      const handle: Handle = { kind: 'index', name: hexId() };
      await backend.save(handle, new Uint8Array(0));
      expect((await backend.load(handle)).length).toBe(0);
      expect((await backend.load(handle, { offset: 0, length: 0 })).length).toBe(0);
      expect((await backend.stat(handle)).size).toBe(0);
      expect(await listAll(backend, 'index')).toEqual([{ name: handle.name, size: 0 }]);
    });

    it('loads exactly the requested range', async () => {
      const handle = dataHandle();
      const data = randomBytes(1000);
      await backend.save(handle, data);
      const ranges = [
        { offset: 0, length: 1000 },
        { offset: 0, length: 1 },
        { offset: 0, length: 0 },
        { offset: 100, length: 200 },
        { offset: 999, length: 1 },
        { offset: 1000, length: 0 },
      ];
      for (const range of ranges) {
        const part = await backend.load(handle, range);
        expect(part.length).toBe(range.length);
        expect(part.equals(data.subarray(range.offset, range.offset + range.length))).toBe(true);
      }
    });

    it('refuses a range past the end with BACKEND_IO (permanent), never a short read', async () => {
      const handle = dataHandle();
      await backend.save(handle, randomBytes(1000));
      for (const range of [
        { offset: 1000, length: 1 },
        { offset: 999, length: 2 },
        { offset: 0, length: 1001 },
        { offset: 1001, length: 0 },
        { offset: 5000, length: 10 },
      ]) {
        const error = await rejection(backend.load(handle, range), 'BACKEND_IO');
        expect(isLifeboatError(error) && error.retryable).toBe(false);
      }
    });

    it('refuses an unranged load of an object larger than its kind may be (maxLoadBytes), naming it; ranges of it still load', async () => {
      const max = maxLoadBytes.locks;
      const fits: Handle = { kind: 'locks', name: hexId() };
      const over: Handle = { kind: 'locks', name: hexId() };
      await backend.save(fits, Buffer.alloc(max, 1));
      await backend.save(over, Buffer.alloc(max + 1, 2));
      expect((await backend.load(fits)).length).toBe(max);
      const error = await rejection(backend.load(over), 'BACKEND_IO');
      expect(isLifeboatError(error) && error.retryable).toBe(false);
      expect(error.message).toContain(over.name);
      expect(error.message).toContain(`${max + 1} bytes, more than the ${max}`);
      expect((await backend.load(over, { offset: max - 9, length: 10 })).equals(Buffer.alloc(10, 2))).toBe(true);
    });

    it('reports a missing object as BACKEND_NOT_FOUND (permanent), naming it', async () => {
      const handle: Handle = { kind: 'snapshots', name: hexId() };
      // Lazy: a promise created before the previous one is awaited would reject unobserved.
      for (const attempt of [
        () => backend.load(handle),
        () => backend.load(handle, { offset: 0, length: 1 }),
        () => backend.stat(handle),
        () => backend.load(dataHandle()),
        () => backend.load({ kind: 'config', name: 'config' }),
      ]) {
        const error = await rejection(attempt(), 'BACKEND_NOT_FOUND');
        expect(isLifeboatError(error) && error.retryable).toBe(false);
      }
      const error = await rejection(backend.stat(handle), 'BACKEND_NOT_FOUND');
      expect(error.message).toContain(handle.name);
    });

    it('lists each kind separately, every object once, data across fan-out prefixes', async () => {
      const data = [dataHandle('00'), dataHandle('00'), dataHandle('ab'), dataHandle('ff'), dataHandle('7')];
      const index = [{ kind: 'index', name: hexId() } as const, { kind: 'index', name: hexId() } as const];
      const key: Handle = { kind: 'keys', name: hexId() };
      for (const [i, handle] of [...data, ...index, key].entries()) await backend.save(handle, randomBytes(10 + i));
      await backend.save({ kind: 'config', name: 'config' }, Buffer.from('{}'));

      const listedData = await listAll(backend, 'data');
      expect(listedData.map((o) => o.name)).toEqual(data.map((h) => h.name).sort((a, b) => a.localeCompare(b)));
      for (const info of listedData) {
        expect(info.size).toBe(10 + data.findIndex((h) => h.name === info.name));
      }
      expect((await listAll(backend, 'index')).map((o) => o.name)).toEqual(
        index.map((h) => h.name).sort((a, b) => a.localeCompare(b)),
      );
      expect(await listAll(backend, 'keys')).toEqual([{ name: key.name, size: 10 + data.length + index.length }]);
      expect(await listAll(backend, 'config')).toEqual([{ name: 'config', size: 2 }]);
      expect(await listAll(backend, 'snapshots')).toEqual([]);
      expect(await listAll(backend, 'locks')).toEqual([]);
    });

    it('replaces an existing object on save', async () => {
      const handle: Handle = { kind: 'index', name: hexId() };
      await backend.save(handle, randomBytes(5000));
      const second = randomBytes(300);
      await backend.save(handle, second);
      expect((await backend.load(handle)).equals(second)).toBe(true);
      expect(await listAll(backend, 'index')).toEqual([{ name: handle.name, size: 300 }]);
    });

    it('concurrent saves of one name leave one of them whole', async () => {
      const handle: Handle = { kind: 'locks', name: hexId() };
      const versions = [0, 1, 2, 3].map((i) => Buffer.alloc(64 * 1024 + i * 1000, i + 1));
      await Promise.all(versions.map((v) => backend.save(handle, v)));
      const loaded = await backend.load(handle);
      expect(versions.some((v) => v.equals(loaded))).toBe(true);
      expect(await listAll(backend, 'locks')).toHaveLength(1);
    });

    it('remove deletes, and is idempotent', async () => {
      const handle = dataHandle();
      await backend.save(handle, randomBytes(10));
      await backend.remove(handle);
      await rejection(backend.load(handle), 'BACKEND_NOT_FOUND');
      await rejection(backend.stat(handle), 'BACKEND_NOT_FOUND');
      expect(await listAll(backend, 'data')).toEqual([]);
      await backend.remove(handle);
      await backend.remove(dataHandle());
      await backend.remove({ kind: 'config', name: 'config' });
    });

    it(`round-trips a large object (${largeBytes} bytes) with ranges near its end`, async () => {
      const handle = dataHandle();
      const data = randomBytes(largeBytes);
      await backend.save(handle, data);
      expect((await backend.stat(handle)).size).toBe(largeBytes);
      expect((await backend.load(handle)).equals(data)).toBe(true);
      const tailLength = Math.floor(largeBytes / 7) + 17;
      const tail = { offset: largeBytes - tailLength, length: tailLength };
      expect((await backend.load(handle, tail)).equals(data.subarray(tail.offset))).toBe(true);
    });

    it('concurrent saves of different names all land', async () => {
      const objects = Array.from({ length: 32 }, (_, i) => ({ handle: dataHandle(), data: randomBytes(1000 + i * 2048) }));
      await Promise.all(objects.map((o) => backend.save(o.handle, o.data)));
      expect(await listAll(backend, 'data')).toHaveLength(objects.length);
      for (const o of objects) expect((await backend.load(o.handle)).equals(o.data)).toBe(true);
    });

    it('a reader polling during a save sees nothing or the whole object, never a part', async () => {
      const handle = dataHandle();
      const data = randomBytes(largeBytes);
      const observed = await pollDuring(backend, handle, backend.save(handle, data));
      for (const size of observed) expect([undefined, largeBytes]).toContain(size);
      expect((await backend.load(handle)).equals(data)).toBe(true);
    });

    it('a reader polling during a replace sees the old or the new object, never a mix', async () => {
      const handle: Handle = { kind: 'index', name: hexId() };
      const before = Buffer.alloc(64 * 1024, 1);
      const after = Buffer.alloc(largeBytes, 2);
      await backend.save(handle, before);
      const observed = await pollDuring(backend, handle, backend.save(handle, after), (loaded) => {
        const expected = loaded[0] === 1 ? before : after;
        expect(loaded.equals(expected)).toBe(true);
      });
      for (const size of observed) expect([before.length, after.length]).toContain(size);
      expect((await backend.load(handle)).equals(after)).toBe(true);
    });

    it('stored bytes cannot be changed through the buffers passed in or handed out', async () => {
      const handle: Handle = { kind: 'keys', name: hexId() };
      const data = Buffer.from('master key material');
      const original = Buffer.from(data);
      await backend.save(handle, data);
      data.fill(0);
      const loaded = await backend.load(handle);
      expect(loaded.equals(original)).toBe(true);
      loaded.fill(0);
      (await backend.load(handle, { offset: 0, length: 6 })).fill(0);
      expect((await backend.load(handle)).equals(original)).toBe(true);
    });

    it('refuses names that could escape their kind or collide with temp files', async () => {
      const bad: Handle[] = [
        { kind: 'data', name: '../config' },
        { kind: 'index', name: '../keys/x' },
        { kind: 'index', name: 'a/b' },
        { kind: 'index', name: '.tmp-0123' },
        { kind: 'index', name: '..' },
        { kind: 'index', name: '' },
        { kind: 'data', name: 'zz0123' },
        { kind: 'config', name: 'other' },
      ];
      for (const handle of bad) {
        await rejection(backend.save(handle, Buffer.from('x')), 'INTERNAL');
        await rejection(backend.load(handle), 'INTERNAL');
      }
      await rejection(backend.load(dataHandle(), { offset: -1, length: 1 }), 'INTERNAL');
      for (const kind of ['config', 'data', 'index', 'keys'] as const) expect(await listAll(backend, kind)).toEqual([]);
    });
  });
}

/**
 * Polls stat, list and a tail read of `handle` until `saving` settles. Returns
 * every size seen (undefined while the object is absent); each full or tail
 * read is checked against the size stat reported in the same round.
 */
async function pollDuring(
  backend: Backend,
  handle: Handle,
  saving: Promise<void>,
  checkWhole?: (loaded: Buffer) => void,
): Promise<(number | undefined)[]> {
  let done = false;
  const finished = saving.finally(() => {
    done = true;
  });
  const sizes: (number | undefined)[] = [];
  while (!done) {
    const size = await backend.stat(handle).then(
      (info) => info.size,
      (e: unknown) => {
        if (isLifeboatError(e, 'BACKEND_NOT_FOUND')) return undefined;
        throw e;
      },
    );
    sizes.push(size);
    const listed = (await listAll(backend, handle.kind)).find((o) => o.name === handle.name);
    if (listed !== undefined) sizes.push(listed.size);
    if (checkWhole !== undefined && size !== undefined) {
      // Replaced objects are always present; a whole read must match one version exactly.
      checkWhole(await backend.load(handle));
    }
  }
  await finished;
  return sizes;
}
