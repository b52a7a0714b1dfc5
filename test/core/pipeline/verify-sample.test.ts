/**
 * The verify stage's sample (issue 22): the pack a backup wrote last is read
 * back and verified on the main thread, with the checks a worker makes — its
 * name is its SHA-256, and every blob authenticates and hashes to its id — so
 * a pack damaged after it was written is a problem of the run.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyRun } from '../../../src/core/pipeline/verify-stage.js';
import { backupDir, createRepo, smallRepo } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';
import { flipPackByte } from '../../helpers/flip-pack-byte.js';

const tempDir = useTempDirs('verify-sample');

async function backedUp(): Promise<{ repoDir: string; repo: Awaited<ReturnType<typeof createRepo>> }> {
  const base = await tempDir();
  const src = join(base, 'src');
  await mkdir(src);
  for (let i = 0; i < 4; i++) await writeFile(join(src, `f${i}.bin`), randomBytes(100 * 1024 + i));
  await writeFile(join(src, 'text.txt'), 'compressible '.repeat(4000));
  const repoDir = join(base, 'repo');
  const repo = await createRepo(repoDir, smallRepo);
  await backupDir(repo, src, { runbook: 'sampled' });
  return { repoDir, repo };
}

describe('the verify stage reads back the last pack written', () => {
  it('finds nothing wrong with an intact pack, and counts its bytes as the sample', async () => {
    const { repo } = await backedUp();
    const last = repo.written.at(-1)!;
    const result = await verifyRun(repo, { readDataFraction: 0, runNumber: 0 });
    expect(result.problems).toEqual([]);
    expect(result).toMatchObject({ samplePacksRead: 1, sampleBytesRead: last.size, packsRead: 0, bytesRead: 0 });
  });

  it('reports a byte flipped in that pack after it was written', async () => {
    const { repo, repoDir } = await backedUp();
    const last = repo.written.at(-1)!;
    const blob = repo.index.byType('tree').concat(repo.index.byType('data')).find((b) => b.pack === last.id)!;
    await flipPackByte(repoDir, blob, 0x01);
    const result = await verifyRun(repo, { readDataFraction: 0, runNumber: 0 });
    expect(result.samplePacksRead).toBe(1);
    expect(result.problems).toContain(`pack ${last.id.slice(0, 12)}: content does not match its name`);
    expect(result.problems).toContain(`pack ${last.id.slice(0, 12)}: blob ${blob.id.slice(0, 12)} failed authentication (damaged or altered)`);
  });
});
