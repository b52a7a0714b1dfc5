/**
 * Every other test makes its repository keys cheap (LIFEBOAT_TEST_SCRYPT_N,
 * test/helpers/cli.ts): this one does not. A repository made by the real CLI
 * at production strength has a key file with the production scrypt
 * parameters, backs up, restores identically, checks clean, and refuses a
 * wrong password.
 */
import { readdir, readFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultScryptParams } from '../../src/core/repo/crypto.js';
import { ensureCliBuilt, runCli } from '../helpers/cli.js';
import { expectSameManifest, manifestOf } from '../helpers/fs-manifest.js';
import { pipelineEnv, writePipelineRunbook } from '../helpers/pipeline-runbook.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('production-scrypt');

beforeAll(async () => {
  await ensureCliBuilt();
});

describe('a repository at production key strength', () => {
  it('is made with the production scrypt parameters, backs up, restores, checks, and refuses a wrong password', async () => {
    const base = await tempDir();
    const src = join(base, 'src');
    await mkdir(join(src, 'nested'), { recursive: true });
    await writeFile(join(src, 'a.txt'), 'production strength\n');
    await writeFile(join(src, 'nested', 'b.bin'), Buffer.alloc(300_000, 7));
    const repo = join(base, 'repo');
    const runbook = writePipelineRunbook(base, 'strong', { repo, sources: [{ name: 'data', path: src }] });
    // An empty LIFEBOAT_TEST_SCRYPT_N is no override: the engine's own parameters apply.
    const env = pipelineEnv(join(base, 'home'), { LIFEBOAT_TEST_SCRYPT_N: '' });
    const cli = async (args: string[], extra: Record<string, string> = {}) => runCli(args, { env: { ...env, ...extra } });

    const init = await cli(['init', runbook]);
    expect(init.code, init.stderr).toBe(0);
    const keys = await readdir(join(repo, 'keys'));
    expect(keys).toHaveLength(1);
    const keyFile = JSON.parse(await readFile(join(repo, 'keys', keys[0]!), 'utf8')) as { kdf: string; N: number; r: number; p: number };
    expect(keyFile).toMatchObject({ kdf: 'scrypt', N: defaultScryptParams.N, r: defaultScryptParams.r, p: defaultScryptParams.p });
    expect(keyFile.N).toBeGreaterThanOrEqual(2 ** 16);

    const backup = await cli(['backup', runbook]);
    expect(backup.code, backup.stderr).toBe(0);
    const target = join(base, 'restored');
    const restore = await cli(['restore', runbook, '--target', target]);
    expect(restore.code, restore.stderr).toBe(0);
    expectSameManifest(await manifestOf(join(target, 'data')), await manifestOf(src));
    const check = await cli(['check', runbook, '--read-data']);
    expect(check.code, check.stdout + check.stderr).toBe(0);

    const wrong = await cli(['snapshots', runbook], { LIFEBOAT_PASSWORD: 'not the password' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/password/i);
  });
});
