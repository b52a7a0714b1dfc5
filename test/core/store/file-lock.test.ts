import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLifeboatError } from '../../../src/core/errors.js';
import { lockPathFor, withFileLock } from '../../../src/core/store/file-lock.js';
import { useTempHomes } from './helpers/temp-home.js';

const newHome = useTempHomes();

async function target(): Promise<string> {
  const home = await newHome();
  await mkdir(home, { recursive: true });
  const file = join(home, 'state.json');
  await writeFile(file, '{}');
  return file;
}

describe('withFileLock', () => {
  it('holds the lock folder only while the function runs, also when it throws', async () => {
    const file = await target();
    await withFileLock(file, { timeoutMs: 500, staleMs: 5_000 }, async () => {
      expect((await stat(lockPathFor(file))).isDirectory()).toBe(true);
    });
    await expect(stat(lockPathFor(file))).rejects.toThrow(/ENOENT/);
    await expect(
      withFileLock(file, { timeoutMs: 500, staleMs: 5_000 }, async () => {
        throw new Error('write failed');
      }),
    ).rejects.toThrow('write failed');
    await expect(stat(lockPathFor(file))).rejects.toThrow(/ENOENT/);
  });

  it('runs holders one at a time', async () => {
    const file = await target();
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 10 }, () =>
        withFileLock(file, { timeoutMs: 5_000, staleMs: 5_000 }, async () => {
          most = Math.max(most, ++inside);
          await new Promise((r) => setTimeout(r, 5));
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
  });

  it('reports a lock lost while held (taken over as stale) as a retryable STORE_LOCKED, not a crash', async () => {
    const file = await target();
    const outcome = withFileLock(file, { timeoutMs: 500, staleMs: 2_000 }, async () => {
      // What a takeover looks like from the holder's side: its lock folder is gone.
      await rm(lockPathFor(file), { recursive: true });
      await new Promise((r) => setTimeout(r, 1_300));
      return 'written';
    });
    await expect(outcome).rejects.toSatisfy(
      (e) => isLifeboatError(e, 'STORE_LOCKED') && e.retryable && /Lost the lock on state file .*state\.json/.test(e.message),
    );
  });
});
