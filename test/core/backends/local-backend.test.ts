import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Handle } from '../../../src/core/backends/backend.js';
import { LocalBackend, mapFsError, tempFilePrefix } from '../../../src/core/backends/local-backend.js';
import { FakeClock } from '../../../src/core/clock.js';
import { LifeboatError } from '../../../src/core/errors.js';
import { backendContract, dataHandle, hexId, listAll, rejection } from './contract.js';

let base: string;
let count = 0;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'lifeboat-local-backend-'));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

/** A backend over a folder that does not exist yet (create() makes it). */
function freshBackend(options?: ConstructorParameters<typeof LocalBackend>[1]): { backend: LocalBackend; root: string } {
  count += 1;
  const root = join(base, `repo-${count}`);
  return { backend: new LocalBackend(root, options), root };
}

backendContract('local', () => freshBackend().backend);

function errnoError(code: string, message = `${code}: something, open '/x'`): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

describe('LocalBackend', () => {
  it('writes objects where the format says, creating data fan-out folders lazily, owner-only', async () => {
    const { backend, root } = freshBackend();
    await backend.create();
    expect((await readdir(root)).sort()).toEqual(['data', 'index', 'keys', 'locks', 'snapshots']);
    expect(await readdir(join(root, 'data'))).toEqual([]);

    const handle = dataHandle('c3');
    await backend.save(handle, Buffer.from('pack'));
    await backend.save({ kind: 'config', name: 'config' }, Buffer.from('{}'));
    expect(await readdir(join(root, 'data'))).toEqual(['c3']);
    expect(await readdir(join(root, 'data', 'c3'))).toEqual([handle.name]);
    expect((await stat(join(root, 'data', 'c3', handle.name))).mode & 0o777).toBe(0o600);
    expect((await stat(join(root, 'data', 'c3'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(root, 'config'))).size).toBe(2);
    expect(backend.location).toBe(root);
  });

  it('saves into a folder that create() never made', async () => {
    const { backend, root } = freshBackend();
    const handle: Handle = { kind: 'snapshots', name: hexId() };
    await backend.save(handle, Buffer.from('snap'));
    expect((await backend.load(handle)).toString()).toBe('snap');
    expect(await readdir(join(root, 'snapshots'))).toEqual([handle.name]);
  });

  it('never lists temp files or foreign files, and leaves no temp file after a save', async () => {
    const { backend, root } = freshBackend();
    await backend.create();
    const handle = dataHandle('ab');
    await backend.save(handle, Buffer.from('x'));
    const index: Handle = { kind: 'index', name: hexId() };
    await backend.save(index, Buffer.from('y'));
    expect(await readdir(join(root, 'data', 'ab'))).toEqual([handle.name]);

    await writeFile(join(root, 'data', 'ab', `${tempFilePrefix}1234`), 'partial');
    await writeFile(join(root, 'data', 'ab', 'cd0000'), 'in the wrong fan-out folder');
    await mkdir(join(root, 'data', 'zz'));
    await writeFile(join(root, 'data', 'zz', 'zz0000'), 'not a fan-out folder');
    await writeFile(join(root, 'index', `${tempFilePrefix}5678`), 'partial');
    await writeFile(join(root, 'index', 'has space'), 'foreign');
    await mkdir(join(root, 'index', 'subfolder'));

    expect(await listAll(backend, 'data')).toEqual([{ name: handle.name, size: 1 }]);
    expect(await listAll(backend, 'index')).toEqual([{ name: index.name, size: 1 }]);
  });

  it('no partial file is ever visible under the final name during a save', async () => {
    const { backend, root } = freshBackend();
    await backend.create();
    const handle = dataHandle('5e');
    const size = 24 * 1024 * 1024;
    const finalPath = join(root, 'data', '5e', handle.name);
    let done = false;
    const saving = backend.save(handle, randomBytes(size)).finally(() => {
      done = true;
    });
    let polls = 0;
    let sawTemp = false;
    while (!done) {
      polls += 1;
      const entries = await readdir(join(root, 'data', '5e')).catch(() => []);
      if (entries.some((name) => name.startsWith(tempFilePrefix))) sawTemp = true;
      const found = await stat(finalPath).catch(() => undefined);
      if (found !== undefined) expect(found.size).toBe(size);
    }
    await saving;
    expect(polls).toBeGreaterThan(1);
    expect(sawTemp).toBe(true);
    expect((await stat(finalPath)).size).toBe(size);
  });

  it('create() removes temp files older than an hour and keeps fresh ones', async () => {
    const { backend, root } = freshBackend();
    await backend.create();
    await backend.save(dataHandle('0f'), Buffer.from('x'));
    const old = new Date(Date.now() - 2 * 60 * 60 * 1000);
    const stale = [join(root, `${tempFilePrefix}a`), join(root, 'data', '0f', `${tempFilePrefix}b`), join(root, 'keys', `${tempFilePrefix}c`)];
    const fresh = join(root, 'index', `${tempFilePrefix}d`);
    for (const path of [...stale, fresh]) await writeFile(path, 'partial');
    for (const path of stale) await utimes(path, old, old);

    await backend.create();
    for (const path of stale) await expect(stat(path)).rejects.toThrow(/ENOENT/);
    expect((await stat(fresh)).isFile()).toBe(true);
    expect(await listAll(backend, 'data')).toHaveLength(1);
  });

  it('judges temp files stale by the clock it is given', async () => {
    const clock = new FakeClock(new Date());
    const { backend, root } = freshBackend({ clock });
    await backend.create();
    const temp = join(root, 'locks', `${tempFilePrefix}e`);
    await writeFile(temp, 'partial');
    expect(await backend.removeStaleTempFiles()).toBe(0);
    clock.advance(61 * 60 * 1000);
    expect(await backend.removeStaleTempFiles()).toBe(1);
    await expect(stat(temp)).rejects.toThrow(/ENOENT/);
  });

  it('maps ENOTDIR (a repository path under a regular file) to a permanent BACKEND_IO naming the path', async () => {
    const file = join(base, `plain-file-${hexId().slice(0, 8)}`);
    await writeFile(file, 'not a folder');
    const backend = new LocalBackend(join(file, 'repo'));
    expect(await backend.exists()).toBe(false);
    const created = await rejection(backend.create(), 'BACKEND_IO');
    expect(created.message).toContain(join(file, 'repo'));
    const handle: Handle = { kind: 'index', name: hexId() };
    const saved = await rejection(backend.save(handle, Buffer.from('x')), 'BACKEND_IO');
    expect(saved.message).toContain(join(file, 'repo', 'index', handle.name));
    expect(saved.message).toContain('ENOTDIR');
    expect(saved instanceof LifeboatError && saved.retryable).toBe(false);
    await rejection(backend.load(handle), 'BACKEND_IO');
  });

  it('maps EACCES to BACKEND_PERMISSION for save, load, list and remove', async (ctx) => {
    const { backend, root } = freshBackend();
    await backend.create();
    const handle = dataHandle('aa');
    await backend.save(handle, Buffer.from('secret pack'));
    await backend.save({ kind: 'keys', name: 'k1' }, Buffer.from('key'));
    // Readable and searchable by others, writable by nobody but the owner; the pack unreadable.
    await chmod(base, 0o755);
    for (const folder of [root, join(root, 'data'), join(root, 'data', 'aa')]) await chmod(folder, 0o755);
    await chmod(join(root, 'index'), 0o555);
    await chmod(join(root, 'keys'), 0o555);
    await chmod(join(root, 'locks'), 0o000);
    await chmod(join(root, 'data', 'aa', handle.name), 0o000);

    // Root ignores file modes, so as root the probe runs as "nobody" in a child process.
    const asRoot = process.getuid?.() === 0;
    const fixture = join(import.meta.dirname, 'fixtures', 'permission-probe.ts');
    // The child's own temp folder (tsx caches there), removed with the rest of `base`.
    const childTmp = join(base, `child-tmp-${count}`);
    await mkdir(childTmp);
    await chmod(childTmp, 0o1777);
    let stdout: string;
    try {
      ({ stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', fixture, root, handle.name], {
        ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
        env: { ...process.env, HOME: childTmp, TMPDIR: childTmp },
        timeout: 30_000,
      }));
    } catch (e) {
      if (asRoot && (e as NodeJS.ErrnoException).code === 'EPERM') {
        ctx.skip('running as root without the right to switch user: EACCES cannot be provoked here');
      }
      throw e;
    } finally {
      await chmod(join(root, 'locks'), 0o700);
      await chmod(join(root, 'keys'), 0o700);
    }
    const result = JSON.parse(stdout) as Record<string, { code: string; message: string }>;
    expect(result.stat?.code).toBe('ok');
    expect(result.save?.code).toBe('BACKEND_PERMISSION');
    expect(result.save?.message).toContain(join(root, 'index', 'ab12'));
    expect(result.save?.message).toContain('permission denied');
    expect(result.load?.code).toBe('BACKEND_PERMISSION');
    expect(result.load?.message).toContain(handle.name);
    expect(result.list?.code).toBe('BACKEND_PERMISSION');
    expect(result.list?.message).toContain(join(root, 'locks'));
    expect(result.remove?.code).toBe('BACKEND_PERMISSION');
  });

  it('reports a full disk as a permanent BACKEND_IO "disk full at <path>" and leaves nothing behind', async (ctx) => {
    const mountPoint = join(base, `tmpfs-${hexId().slice(0, 8)}`);
    await mkdir(mountPoint);
    // Needs root with CAP_SYS_ADMIN; elsewhere the mapping is covered by the mapFsError test below.
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint], { stdio: 'ignore' });
    if (mounted.status !== 0) ctx.skip('cannot mount a small tmpfs here (not root, or no CAP_SYS_ADMIN)');
    try {
      const backend = new LocalBackend(join(mountPoint, 'repo'));
      await backend.create();
      const handle = dataHandle('e0');
      const error = await rejection(backend.save(handle, randomBytes(2 * 1024 * 1024)), 'BACKEND_IO');
      expect(error.message).toContain(`disk full at ${join(mountPoint, 'repo', 'data', 'e0', handle.name)}`);
      expect(error instanceof LifeboatError && error.retryable).toBe(false);
      await rejection(backend.stat(handle), 'BACKEND_NOT_FOUND');
      expect(await readdir(join(mountPoint, 'repo', 'data', 'e0'))).toEqual([]);
      // The space is back: a small save still works.
      await backend.save(handle, Buffer.from('fits'));
      expect((await backend.load(handle)).toString()).toBe('fits');
    } finally {
      spawnSync('umount', [mountPoint], { stdio: 'ignore' });
    }
  });

  it('mapFsError gives every errno its contract code, path and retryability', () => {
    const cases: [string, string, boolean, string][] = [
      ['ENOENT', 'BACKEND_NOT_FOUND', false, 'load /r/x: not found'],
      ['EACCES', 'BACKEND_PERMISSION', false, 'load /r/x: permission denied (EACCES)'],
      ['EPERM', 'BACKEND_PERMISSION', false, 'load /r/x: permission denied (EPERM)'],
      ['EROFS', 'BACKEND_PERMISSION', false, 'load /r/x: read-only file system (EROFS)'],
      ['ENOSPC', 'BACKEND_IO', false, 'load failed: disk full at /r/x (ENOSPC)'],
      ['EDQUOT', 'BACKEND_IO', false, 'load failed: disk quota exceeded at /r/x (EDQUOT)'],
      ['ETIMEDOUT', 'BACKEND_UNAVAILABLE', true, 'load /r/x: something (ETIMEDOUT)'],
      ['ESTALE', 'BACKEND_UNAVAILABLE', true, 'load /r/x: something (ESTALE)'],
      ['EMFILE', 'BACKEND_IO', true, 'load /r/x: something (EMFILE)'],
      ['EIO', 'BACKEND_IO', false, 'load /r/x: something (EIO)'],
      ['ENOTDIR', 'BACKEND_IO', false, 'load /r/x: something (ENOTDIR)'],
    ];
    for (const [errno, code, retryable, message] of cases) {
      const mapped = mapFsError(errnoError(errno), 'load', '/r/x');
      expect({ code: mapped.code, retryable: mapped.retryable, message: mapped.message }).toEqual({
        code,
        retryable,
        message,
      });
      expect(mapped.details).toMatchObject({ errno, path: '/r/x', op: 'load' });
    }
    const coded = new LifeboatError('BACKEND_IO', 'already mapped');
    expect(mapFsError(coded, 'load', '/r/x')).toBe(coded);
    expect(mapFsError(new Error('odd'), 'list', '/r').message).toBe('list /r: odd');
  });

  it('refuses a relative path and the file system root', () => {
    expect(() => new LocalBackend('relative/repo')).toThrow(/absolute path/);
    expect(() => new LocalBackend('/')).toThrow(/file system root/);
    expect(new LocalBackend('/srv/repo/').location).toBe('/srv/repo');
  });
});
