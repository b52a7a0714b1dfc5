/**
 * The repository key's head start (src/core/repo/kdf-prefetch.ts,
 * prefetch-repository-key.ts, src/cli/key-request.ts, bin/lifeboat.js): the
 * derivation started before the CLI loads is the one opening the repository
 * takes — only for exactly the same password, salt and parameters, once —
 * and anything start-up cannot know (S3, an example, no password now, a
 * planted key file) means no head start, never a different key.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { keyRequest } from '../../src/cli/key-request.js';
import { metadataCacheFolder } from '../../src/core/backends/cache-folder.js';
import { LocalBackend } from '../../src/core/backends/local-backend.js';
import { deriveKey } from '../../src/core/repo/crypto.js';
import { untakenDerivations } from '../../src/core/repo/kdf-prefetch.js';
import { openMasterKey } from '../../src/core/repo/keys.js';
import { prefetchRepositoryKey } from '../../src/core/repo/prefetch-repository-key.js';
import { ensureCliBuilt, repoRoot, runCli, runProgram, writeRunbook } from '../helpers/cli.js';
import { writeScryptCounter } from '../helpers/count-scrypt.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('key-prefetch');
const PASSWORD = 'correct horse battery staple';

let dir: string;
let runbook: string;
let repo: string;

beforeAll(async () => {
  await ensureCliBuilt();
  dir = await tempDir();
  const source = join(dir, 'source');
  await mkdir(join(source, 'etc'), { recursive: true });
  await writeFile(join(source, 'etc', 'app.yaml'), 'port: 8080\n');
  repo = join(dir, 'repo');
  await mkdir(join(dir, 'runbooks'));
  runbook = writeRunbook(join(dir, 'runbooks'), 'app', { source, repo });
  const env = { LIFEBOAT_HOME: join(dir, 'home'), LIFEBOAT_PASSWORD: PASSWORD };
  for (const args of [['init', runbook], ['backup', runbook]]) {
    const res = await runCli(args, { env, cwd: dir });
    expect(res.code, res.stderr).toBe(0);
  }
}, 60_000);

/** The scrypt inputs of the repository's one key file. */
async function keyFileParams(): Promise<{ salt: Buffer; N: number; r: number; p: number }> {
  const [name] = await readdir(join(repo, 'keys'));
  const file = JSON.parse(await readFile(join(repo, 'keys', name!), 'utf8')) as { salt: string; N: number; r: number; p: number };
  return { ...file, salt: Buffer.from(file.salt, 'base64') };
}

describe('keyRequest (which runbook a command line will open the key of)', () => {
  it('names the runbook of a plain key-opening command, global flags anywhere', () => {
    expect(keyRequest(['ls', 'app', 'latest', 'data/etc'])).toBe('app');
    expect(keyRequest(['--json', 'restore', 'runbooks/app.yaml', '--path', 'data/x', '--target', '/tmp/t'])).toBe('runbooks/app.yaml');
    expect(keyRequest(['--config', 'x.yaml', 'snapshots', 'app'])).toBe('app');
  });
  it('asks for nothing when the key may not be opened, or the runbook is not plainly the first argument', () => {
    for (const argv of [[], ['status'], ['init', 'app'], ['runbooks', 'validate', 'app'], ['ls', '--long', 'app'], ['ls', 'app', '--help'], ['help', 'ls'], ['restore', 'app', '--estimate'], ['check', 'app', '--tier', 'cold'], ['check', 'app', '--tier=cold'], ['restore', 'app', '--copy', 'offsite', '--target', '/tmp/t'], ['restore-drill', 'app', '--copy=offsite']]) {
      expect(keyRequest(argv), argv.join(' ')).toBeUndefined();
    }
  });
});

describe('prefetchRepositoryKey', () => {
  it('starts the derivation of the first key file, which opening the repository then takes (once) and which opens it', async () => {
    expect(untakenDerivations()).toBe(0);
    expect(await prefetchRepositoryKey('app', { cwd: dir, env: { LIFEBOAT_PASSWORD: PASSWORD } })).toBe(true);
    expect(await prefetchRepositoryKey('runbooks/app.yaml', { cwd: dir, env: { LIFEBOAT_PASSWORD: PASSWORD } })).toBe(true);
    expect(untakenDerivations()).toBe(1); // the same inputs twice: one derivation
    const opened = await openMasterKey(new LocalBackend(repo), PASSWORD);
    expect(opened.key.encryption).toHaveLength(32);
    expect(untakenDerivations()).toBe(0);
  });

  it('a derivation for another password is not taken by the right one (and the right one still opens)', async () => {
    expect(await prefetchRepositoryKey('app', { cwd: dir, env: { LIFEBOAT_PASSWORD: 'not it' } })).toBe(true);
    await openMasterKey(new LocalBackend(repo), PASSWORD);
    expect(untakenDerivations()).toBe(1);
    const { salt, N, r, p } = await keyFileParams();
    await deriveKey('not it', salt, { N, r, p }); // takes it
    expect(untakenDerivations()).toBe(0);
    await expect(openMasterKey(new LocalBackend(repo), 'not it')).rejects.toThrow(/wrong password/);
  });

  it('gives no head start for what it cannot know now: an unset password, an S3 repository not cached here, a missing one, an example, an unknown name', async () => {
    const s3 = join(dir, 'runbooks', 's3.yaml');
    await writeFile(s3, ['name: s3', 'repository:', '  hot: { url: "s3://bucket-x/app" }', '  password: { env: LIFEBOAT_PASSWORD }', ''].join('\n'));
    const env = { LIFEBOAT_PASSWORD: PASSWORD };
    expect(await prefetchRepositoryKey('app', { cwd: dir, env: {} })).toBe(false);
    expect(await prefetchRepositoryKey('s3', { cwd: dir, env })).toBe(false);
    expect(await prefetchRepositoryKey('examples/app-data', { cwd: dir, env })).toBe(false);
    expect(await prefetchRepositoryKey('nothing-here', { cwd: dir, env })).toBe(false);
    expect(await prefetchRepositoryKey('app', { cwd: dir, env: { ...env, LIFEBOAT_RUNBOOKS: 'elsewhere' } })).toBe(false);
    expect(untakenDerivations()).toBe(0);
  });

  it('for an S3 repository, starts the derivation of the key file its metadata cache holds, which opening the cached copy takes', async () => {
    const url = 's3://bucket-c/app';
    await writeFile(join(dir, 'runbooks', 's3c.yaml'), ['name: s3c', 'repository:', `  hot: { url: "${url}" }`, '  password: { env: LIFEBOAT_PASSWORD }', ''].join('\n'));
    const home = join(dir, 'home-s3c');
    const cache = metadataCacheFolder(home, url);
    await mkdir(join(cache, 'keys'), { recursive: true });
    const [name] = await readdir(join(repo, 'keys'));
    await writeFile(join(cache, 'keys', name!), await readFile(join(repo, 'keys', name!)));
    expect(await prefetchRepositoryKey('s3c', { cwd: dir, env: { LIFEBOAT_PASSWORD: PASSWORD, LIFEBOAT_HOME: home } })).toBe(true);
    expect(untakenDerivations()).toBe(1);
    // Another state folder has no copy: no head start there.
    expect(await prefetchRepositoryKey('s3c', { cwd: dir, env: { LIFEBOAT_PASSWORD: PASSWORD, LIFEBOAT_HOME: join(dir, 'home-other') } })).toBe(false);
    const opened = await openMasterKey(new LocalBackend(cache), PASSWORD);
    expect(opened.key.encryption).toHaveLength(32);
    expect(untakenDerivations()).toBe(0);
  });

  it('skips a planted key file (scrypt cost out of bounds, or not named by its content) as openMasterKey does', async () => {
    const planted = join(dir, 'planted');
    await mkdir(join(planted, 'keys'), { recursive: true });
    const runbooks = join(planted, 'runbooks');
    await mkdir(runbooks);
    writeRunbook(runbooks, 'app', { source: dir, repo: planted });
    const heavy = Buffer.from(JSON.stringify({ kdf: 'scrypt', N: 2 ** 30, r: 8, p: 1, salt: 'AAAA', data: 'AAAA' }));
    await writeFile(join(planted, 'keys', createHash('sha256').update(heavy).digest('hex')), heavy);
    const misnamed = Buffer.from(JSON.stringify({ kdf: 'scrypt', N: 1024, r: 8, p: 1, salt: 'AAAA', data: 'AAAA' }));
    await writeFile(join(planted, 'keys', '0'.repeat(64)), misnamed);
    expect(await prefetchRepositoryKey('app', { cwd: planted, env: { LIFEBOAT_PASSWORD: PASSWORD } })).toBe(false);
    expect(untakenDerivations()).toBe(0);
  });
});

describe('the CLI with the head start', () => {
  it('ls lists the snapshot and derives the key once: the derivation start-up began before the CLI loaded is the one used', async () => {
    const tracer = await writeScryptCounter(dir);
    const res = await runProgram(process.execPath, ['--require', tracer, join(repoRoot, 'bin/lifeboat.js'), 'ls', 'app', 'latest', 'data/etc'], {
      env: { LIFEBOAT_HOME: join(dir, 'home'), LIFEBOAT_PASSWORD: PASSWORD },
      cwd: dir,
    });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('app.yaml');
    expect(res.stderr).toContain('scrypt calls: 1, started ahead: 1');
  });
});
