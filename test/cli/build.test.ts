/**
 * scripts/build.mjs removes from dist/ what it did not write (chunks of
 * earlier builds, once ten minutes old) — and only when the build succeeded, so a failed build
 * leaves the last good one runnable. Run in a temp folder whose sources and
 * node_modules link to the checkout's, so the checkout's dist/ is not touched.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('build');
const build = (cwd: string) => spawnSync(process.execPath, [join(repoRoot, 'scripts/build.mjs')], { cwd, encoding: 'utf8' });

/** A chunk of a build an hour ago, and one of a build a minute ago (a process started from it may still load it). */
async function withOldChunks(dir: string): Promise<{ stale: string; recent: string }> {
  await mkdir(join(dir, 'dist'));
  const stale = join(dir, 'dist', 'serve-host-OLDHASH1.js');
  const recent = join(dir, 'dist', 'serve-host-NEWHASH2.js');
  await writeFile(stale, '// a chunk of an earlier build\n');
  await writeFile(recent, '// a chunk of the build before this one\n');
  const hourAgo = new Date(Date.now() - 3600_000);
  const minuteAgo = new Date(Date.now() - 60_000);
  await utimes(stale, hourAgo, hourAgo);
  await utimes(recent, minuteAgo, minuteAgo);
  return { stale, recent };
}

describe('scripts/build.mjs', () => {
  it('after a good build, dist/ holds what it wrote (the bundle, its chunks, help.json, help-request.js) and the last ten minutes\' chunks only', async () => {
    const dir = await tempDir();
    for (const folder of ['src', 'commands', 'node_modules', 'package.json']) await symlink(join(repoRoot, folder), join(dir, folder));
    const { stale, recent } = await withOldChunks(dir);
    const res = build(dir);
    expect(res.status, res.stderr).toBe(0);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(recent)).toBe(true);
    const files = await readdir(join(dir, 'dist'));
    expect(files).toEqual(expect.arrayContaining(['lifeboat.js', 'repo-worker.js', 'help.json', 'help-request.js']));
    expect(files.filter((f) => f.includes('HASH'))).toEqual(['serve-host-NEWHASH2.js']);
  });

  it('a failed build removes nothing', async () => {
    const dir = await tempDir();
    const { stale } = await withOldChunks(dir); // no src/: esbuild cannot resolve the entry points
    const res = build(dir);
    expect(res.status).not.toBe(0);
    expect(existsSync(stale)).toBe(true);
  });
});
