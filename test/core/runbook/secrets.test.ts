import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLifeboatError } from '../../../src/core/errors.js';
import { resolveSecret } from '../../../src/core/runbook/secrets.js';

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-secret-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function failure(p: Promise<unknown>): Promise<Error & { details: Record<string, unknown> }> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isLifeboatError(e, 'SECRET_UNAVAILABLE')).toBe(true);
  return e as Error & { details: Record<string, unknown> };
}

describe('env secrets', () => {
  it('reads the variable', async () => {
    expect(await resolveSecret({ kind: 'env', name: 'PW' }, { PW: 'pa ss\n' })).toBe('pa ss\n');
  });

  it('names a missing variable', async () => {
    const e = await failure(resolveSecret({ kind: 'env', name: 'LIFEBOAT_PASSWORD' }, { OTHER: 'hunter2' }));
    expect(e.message).toBe('Environment variable LIFEBOAT_PASSWORD is not set (the runbook reads the repository password from it)');
    expect(e.details).toEqual({ env: 'LIFEBOAT_PASSWORD' });
    expect(e.message).not.toContain('hunter2');
  });

  it('refuses an empty variable', async () => {
    const e = await failure(resolveSecret({ kind: 'env', name: 'PW' }, { PW: '' }));
    expect(e.message).toBe('Environment variable PW is empty (expected the repository password)');
  });
});

describe('file secrets', () => {
  it('reads a key file, dropping the trailing newline', async () => {
    const file = path.join(tmp, 'k');
    await writeFile(file, 's3cret\n', { mode: 0o600 });
    expect(await resolveSecret({ kind: 'file', path: file, create: false }, {})).toBe('s3cret');
    await writeFile(file, 'crlf\r\n', { mode: 0o600 });
    expect(await resolveSecret({ kind: 'file', path: file, create: false }, {})).toBe('crlf');
  });

  it('names a missing file when it may not create one', async () => {
    const file = path.join(tmp, 'keys', 'missing.key');
    const e = await failure(resolveSecret({ kind: 'file', path: file, create: false }, {}));
    expect(e.message).toBe(`Key file not found: ${file} (create it with mode 600, or set create: true in the runbook to generate one)`);
    await expect(stat(file)).rejects.toThrow();
  });

  it('creates a random key with mode 600 in new folders, and reads the same key back', async () => {
    const file = path.join(tmp, 'state', 'keys', 'demo.key');
    const key = await resolveSecret({ kind: 'file', path: file, create: true }, {});
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const st = await stat(file);
    expect(st.mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(file))).mode & 0o077).toBe(0);
    expect(await readFile(file, 'utf8')).toBe(`${key}\n`);
    expect(await resolveSecret({ kind: 'file', path: file, create: true }, {})).toBe(key);
    const other = await resolveSecret({ kind: 'file', path: path.join(tmp, 'state', 'keys', 'other.key'), create: true }, {});
    expect(other).not.toBe(key);
  });

  it('gives every concurrent caller the same key and leaves no temp files', async () => {
    const file = path.join(tmp, 'keys', 'race.key');
    const keys = await Promise.all(Array.from({ length: 12 }, () => resolveSecret({ kind: 'file', path: file, create: true }, {})));
    expect(new Set(keys).size).toBe(1);
    expect(await readdir(path.dirname(file))).toEqual(['race.key']);
  });

  it('never replaces an existing key, even with create', async () => {
    const file = path.join(tmp, 'k');
    await writeFile(file, 'kept', { mode: 0o600 });
    expect(await resolveSecret({ kind: 'file', path: file, create: true }, {})).toBe('kept');
  });

  it.each([0o644, 0o640, 0o604, 0o660])('refuses a key file with mode %o, telling how to fix it, without its content', async (mode) => {
    const file = path.join(tmp, 'open.key');
    await writeFile(file, 'topsecretvalue');
    await chmod(file, mode);
    const e = await failure(resolveSecret({ kind: 'file', path: file, create: true }, {}));
    expect(e.message).toBe(`Key file ${file} is open to group or others (mode ${mode.toString(8)}); run: chmod 600 ${file}`);
    expect(e.message).not.toContain('topsecretvalue');
    expect(JSON.stringify(e.details)).not.toContain('topsecretvalue');
  });

  it('accepts a read-only key file (mode 400)', async () => {
    const file = path.join(tmp, 'ro.key');
    await writeFile(file, 'ro');
    await chmod(file, 0o400);
    expect(await resolveSecret({ kind: 'file', path: file, create: false }, {})).toBe('ro');
  });

  it('refuses an empty key file and a folder', async () => {
    const file = path.join(tmp, 'empty.key');
    await writeFile(file, '\n', { mode: 0o600 });
    expect((await failure(resolveSecret({ kind: 'file', path: file, create: false }, {}))).message).toBe(
      `Key file ${file} is empty (expected the repository password)`,
    );
    const dir = path.join(tmp, 'dir.key');
    await mkdir(dir, { mode: 0o700 });
    expect((await failure(resolveSecret({ kind: 'file', path: dir, create: true }, {}))).message).toBe(`Key file ${dir} is not a regular file`);
  });
});

describe('key creation across processes', () => {
  it('gives racing processes one key', async () => {
    const run = promisify(execFile);
    const file = path.join(tmp, 'procs', 'shared.key');
    const module = new URL('../../../src/core/runbook/secrets.ts', import.meta.url).href;
    const script = `const { resolveSecret } = await import(${JSON.stringify(module)});
process.stdout.write(await resolveSecret({ kind: 'file', path: ${JSON.stringify(file)}, create: true }, {}));`;
    const outputs = await Promise.all(
      Array.from({ length: 4 }, () => run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script])),
    );
    const keys = outputs.map((o) => o.stdout);
    expect(keys[0]).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set(keys).size).toBe(1);
    expect(await readdir(path.dirname(file))).toEqual(['shared.key']);
  });
});
