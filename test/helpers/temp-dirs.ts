/** Temp folders made by a test file, removed after it (or after each test with `useTempDirs('each')`). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach } from 'vitest';

export function useTempDirs(prefix: string, when: 'each' | 'all' = 'all'): () => Promise<string> {
  const made: string[] = [];
  const cleanup = async () => {
    await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  };
  if (when === 'each') afterEach(cleanup);
  else afterAll(cleanup);
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), `lifeboat-${prefix}-`));
    made.push(dir);
    return dir;
  };
}
