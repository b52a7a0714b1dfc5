/**
 * Start-up's key head start for an S3 repository (prefetch-repository-key.ts):
 * once a command has cached the repository's metadata in the state folder,
 * the next command starts the key's derivation from the cached key file
 * before the CLI and the SDK load, and opening the repository (which reads
 * its key file from that same copy) takes that derivation: one scrypt, begun
 * ahead. A state folder without the copy derives the key the ordinary way.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCliBuilt, repoRoot, runCli, runProgram } from '../../helpers/cli.js';
import { writeScryptCounter } from '../../helpers/count-scrypt.js';
import { startS3rver, type RunningS3rver } from '../../helpers/s3rver.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';
import { s3Env, writeS3Runbook } from './harness.js';

const tempDir = useTempDirs('s3-key-prefetch');
let server: RunningS3rver;

beforeAll(async () => {
  [server] = await Promise.all([startS3rver({ buckets: ['prefetch'] }), ensureCliBuilt()]);
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

describe('the key head start for an S3 repository', () => {
  it('a command after the first derives the key once, from the cached key file, begun before the CLI loaded', async () => {
    const base = await tempDir();
    await mkdir(join(base, 'data'));
    await writeFile(join(base, 'data', 'notes.txt'), 'kept in a bucket\n');
    const runbook = writeS3Runbook(base, 'bucketed', { endpoint: server.endpoint, bucket: 'prefetch', prefix: 'p', source: join(base, 'data') });
    const home = join(base, 'home');
    for (const args of [['init', runbook], ['backup', runbook]]) {
      const res = await runCli(args, { env: s3Env(home) });
      expect(res.code, res.stderr).toBe(0);
    }
    const tracer = await writeScryptCounter(base);
    const ls = (state: string) =>
      runProgram(process.execPath, ['--require', tracer, join(repoRoot, 'bin/lifeboat.js'), 'ls', runbook, 'latest', 'data'], { env: s3Env(state), cwd: base });

    const cached = await ls(home);
    expect(cached.code, cached.stderr).toBe(0);
    expect(cached.stdout).toContain('notes.txt');
    expect(cached.stderr).toContain('scrypt calls: 1, started ahead: 1');

    // A state folder that never saw the bucket: no copy to start from, the key derived once when opened.
    const fresh = await ls(join(base, 'home-fresh'));
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.stdout).toContain('notes.txt');
    expect(fresh.stderr).toContain('scrypt calls: 1, started ahead: 0');
  });
});
