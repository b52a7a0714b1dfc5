/** LIFEBOAT_TEST_SCRYPT_N makes new repository keys cheap to guess: it is refused outside tests. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLifeboatError } from '../../src/core/errors.js';
import { initRunbookRepository } from '../../src/core/repo/open-repository.js';
import { loadRunbook } from '../../src/core/runbook/index.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('test-scrypt');

async function runbookIn(dir: string) {
  await mkdir(join(dir, 'runbooks'));
  await writeFile(
    join(dir, 'runbooks', 'weak.yaml'),
    ['name: weak', 'sources: [{ name: d, path: /tmp }]', `repository: { hot: { url: "file://${join(dir, 'repo')}" }, password: { env: PW } }`, 'objectives: { rpo: 1h, rto: 1h }', ''].join('\n'),
  );
  return loadRunbook('weak', { runbooksDir: join(dir, 'runbooks'), home: join(dir, 'home'), cwd: dir });
}

describe('LIFEBOAT_TEST_SCRYPT_N', () => {
  it('is refused unless NODE_ENV=test: no repository is created with a weak key', async () => {
    const dir = await tempDir();
    const runbook = await runbookIn(dir);
    for (const NODE_ENV of [undefined, 'production', 'development']) {
      const env = { PW: 'a password', LIFEBOAT_TEST_SCRYPT_N: '1024', ...(NODE_ENV ? { NODE_ENV } : {}) };
      const e = await initRunbookRepository(runbook, { env }).catch((err: unknown) => err);
      expect(isLifeboatError(e, 'USAGE'), String(NODE_ENV)).toBe(true);
      expect((e as Error).message).toContain('LIFEBOAT_TEST_SCRYPT_N is set, which weakens the new repository key');
    }
    const repo = await initRunbookRepository(runbook, { env: { PW: 'a password', LIFEBOAT_TEST_SCRYPT_N: '1024', NODE_ENV: 'test' } });
    expect(repo.config.id).toMatch(/^[0-9a-f]+$/);
  });
});
