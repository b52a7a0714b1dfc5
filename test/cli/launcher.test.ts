/**
 * bin/lifeboat.js run as a program (the `lifeboat` on PATH, the systemd units,
 * npm start, the bench) goes through /bin/sh for one line, which starts node
 * with glibc's malloc asked to back its large allocations with transparent
 * huge pages (GLIBC_TUNABLES=glibc.malloc.hugetlb=1: the key's 64 MiB scrypt
 * then faults ~2,400 pages instead of ~18,700; docs/performance.md, twelfth
 * stop). These tests run the real file: with a stand-in `node` first on PATH
 * that prints what it was given, and with the real one.
 */
import { spawnSync } from 'node:child_process';
import { chmod, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('launcher');
const launcher = join(repoRoot, 'bin', 'lifeboat.js');

/** A folder holding a `node` that prints GLIBC_TUNABLES, then each argument in brackets. */
async function nodeStandIn(): Promise<string> {
  const dir = await tempDir();
  const node = join(dir, 'node');
  await writeFile(node, '#!/bin/sh\nprintf "%s\\n" "${GLIBC_TUNABLES-unset}"\nfor a in "$@"; do printf "[%s]\\n" "$a"; done\n');
  await chmod(node, 0o755);
  return dir;
}

const onPath = (dir: string): NodeJS.ProcessEnv => ({ ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` });

describe('bin/lifeboat.js as a program', () => {
  it('starts node on itself with huge pages asked of malloc, passing every argument through untouched', async () => {
    const env = onPath(await nodeStandIn());
    delete env.GLIBC_TUNABLES;
    const res = spawnSync(launcher, ['restore', 'a runbook', '$HOME', '--target', "it's here", ''], { encoding: 'utf8', env });
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout.split('\n')).toEqual(['glibc.malloc.hugetlb=1', `[${launcher}]`, '[restore]', '[a runbook]', '[$HOME]', '[--target]', "[it's here]", '[]', '']);
  });

  it("keeps the caller's own glibc tunables, after its own so the caller's win (glibc.malloc.hugetlb=0 turns it off)", async () => {
    const env = { ...onPath(await nodeStandIn()), GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=0' };
    const res = spawnSync(launcher, ['--version'], { encoding: 'utf8', env });
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout.split('\n')[0]).toBe('glibc.malloc.hugetlb=1:glibc.malloc.arena_max=2:glibc.malloc.hugetlb=0');
  });

  it('runs the real CLI directly and through a symlink on PATH (as installed), and still as `node bin/lifeboat.js`', async () => {
    const dir = await tempDir();
    await symlink(launcher, join(dir, 'lifeboat'));
    const runs = [
      spawnSync(launcher, ['--version'], { encoding: 'utf8' }),
      spawnSync('lifeboat', ['--version'], { encoding: 'utf8', env: onPath(dir) }),
      spawnSync(process.execPath, [launcher, '--version'], { encoding: 'utf8' }),
    ];
    for (const res of runs) {
      expect(res.status, res.stderr).toBe(0);
      expect(res.stdout).toMatch(/^lifeboat \S+\n$/);
      expect(res.stderr).toBe('');
    }
  });
});
