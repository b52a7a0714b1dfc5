/**
 * scripts/build.mjs removes from dist/ what it did not write (chunks of
 * earlier builds) — and only when the build succeeded, so a failed build
 * leaves the last good one runnable. Run in a temp folder whose sources and
 * node_modules link to the checkout's, so the checkout's dist/ is not touched.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('build');
const build = (cwd: string) => spawnSync(process.execPath, [join(repoRoot, 'scripts/build.mjs')], { cwd, encoding: 'utf8' });

async function withStaleChunk(dir: string): Promise<string> {
  await mkdir(join(dir, 'dist'));
  const stale = join(dir, 'dist', 'serve-host-OLDHASH1.js');
  await writeFile(stale, '// a chunk of an earlier build\n');
  return stale;
}

describe('scripts/build.mjs', () => {
  it('after a good build, dist/ holds exactly what it wrote: the bundle, its chunks, help.json and help-request.js', async () => {
    const dir = await tempDir();
    for (const folder of ['src', 'commands', 'node_modules', 'package.json']) await symlink(join(repoRoot, folder), join(dir, folder));
    const stale = await withStaleChunk(dir);
    const res = build(dir);
    expect(res.status, res.stderr).toBe(0);
    expect(existsSync(stale)).toBe(false);
    const files = await readdir(join(dir, 'dist'));
    expect(files).toEqual(expect.arrayContaining(['lifeboat.js', 'repo-worker.js', 'help.json', 'help-request.js']));
    expect(files.every((f) => !f.includes('OLDHASH'))).toBe(true);
  });

  it('a failed build removes nothing', async () => {
    const dir = await tempDir();
    const stale = await withStaleChunk(dir); // no src/: esbuild cannot resolve the entry points
    const res = build(dir);
    expect(res.status).not.toBe(0);
    expect(existsSync(stale)).toBe(true);
  });
});
