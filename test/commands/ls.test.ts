/**
 * `lifeboat ls` through the real CLI on a repository made by real backups
 * (test/helpers/browse-repo.ts): tricky names, symlinks, empty folders, an
 * older snapshot by id, a path given without a snapshot, golden --json, and
 * a second runbook in the same repository that ls never shows.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBrowseRepo, type BrowseRepo } from '../helpers/browse-repo.js';
import { ensureCliBuilt } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('ls-command');
let r: BrowseRepo;

beforeAll(async () => {
  await ensureCliBuilt();
  r = await buildBrowseRepo(await tempDir());
}, 120_000);

const json = (stdout: string) => JSON.parse(stdout) as { exitCode: number; summary: string; data: { path: string; snapshot: { id: string }; entries: { path: string; name: string; type: string; size?: number; mode: string; target?: string }[] } };

describe('ls', () => {
  it('lists the latest snapshot recursively: golden --json with every kind of entry', async () => {
    const res = await r.cli(['ls', r.files, 'latest', 'data', '--recursive', '--json']);
    await expect(r.normalize(res.stdout)).toMatchFileSnapshot('../fixtures/browse/ls-recursive.json');
    const paths = json(res.stdout).data.entries.map((e) => e.path);
    expect(paths).toContain('data/line\nbreak.txt');
    expect(paths).toContain('data/ spaced name .txt');
    expect(paths).toContain('data/unicode/caf\u00e9.txt');
    expect(paths).toContain('data/empty dir');
    expect(paths).toContain('data/new dir/added.txt');
  });

  it('shows an older snapshot by id prefix, in the long form, with names a terminal cannot show quoted', async () => {
    const res = await r.cli(['ls', r.files, r.snaps[0]!.slice(0, 8), 'data', '-l']);
    const out = res.stdout;
    expect(out).toMatch(/^MODE\s+SIZE\s+MTIME\s+NAME$/m);
    expect(out).toContain('"line\\nbreak.txt"');
    expect(out).toContain('" spaced name .txt"');
    expect(out).toMatch(/^-rw-r--r--\s+14 B\s+2026-11-24 10:00:00Z\s+" spaced name .txt"$/m);
    expect(out).toContain('empty dir/');
    expect(out).not.toContain('new dir/'); // made after the first backup
    expect(out).toContain(`data in snapshot ${r.snaps[0]!.slice(0, 8)} (${r.taken(0)})`);
    const links = await r.cli(['ls', r.files, r.snaps[0]!.slice(0, 8), 'data/links', '-l']);
    expect(links.stdout).toMatch(/^lrwxrwxrwx\s+2026-11-26 10:00:01Z\s+dangling -> does\/not\/exist$/m);
    expect(links.stdout).toMatch(/to-app -> \.\.\/etc\/app\.yaml$/m);
  });

  it('takes a path in place of the snapshot (latest), an empty folder, and a single file', async () => {
    const etc = json((await r.cli(['ls', r.files, 'data/etc', '--json'])).stdout);
    expect(etc.data.snapshot.id).toBe(r.snaps[2]);
    expect(etc.data.entries.map((e) => e.name)).toEqual(['app.yaml', 'recreated.conf']);
    const empty = await r.cli(['ls', r.files, 'latest', 'data/empty dir', '--json']);
    expect(json(empty.stdout).data.entries).toEqual([]);
    expect(json(empty.stdout).summary).toContain('0 entries');
    const one = json((await r.cli(['ls', r.files, 'latest', 'data/bin/blob.bin', '--json'])).stdout);
    expect(one.data.entries).toEqual([{ path: 'data/bin/blob.bin', name: 'blob.bin', type: 'file', size: 1024, mode: '0600', mtime: '2026-11-25T10:00:00.000Z' }]);
  });

  it('refuses a path the snapshot does not hold, naming the snapshot', async () => {
    const res = await r.cli(['ls', r.files, r.snaps[0]!.slice(0, 8), 'data/new dir'], 2);
    expect(res.stderr).toContain(`data/new dir is not in snapshot ${r.snaps[0]!.slice(0, 8)}`);
  });

  it('fits its table to COLUMNS', async () => {
    const res = await runWide(40);
    const table = res.split('\n').slice(0, -2);
    expect(table.length).toBeGreaterThanOrEqual(3);
    for (const line of table) expect(line.length, line).toBeLessThanOrEqual(40);
  });

  it('sees only its own runbook\'s snapshots in a shared repository', async () => {
    // `other` backed up after every snapshot of `files`: latest is still files' own.
    const mine = json((await r.cli(['ls', r.files, 'latest', 'data/etc', '--json'])).stdout);
    expect(mine.data.snapshot.id).toBe(r.snaps[2]);
    expect(mine.data.entries.map((e) => e.path)).not.toContain('data/etc/only-other.conf');
    const theirs = json((await r.cli(['ls', r.other, 'latest', 'data/etc', '--json'])).stdout);
    expect(theirs.data.snapshot.id).toBe(r.otherSnap);
    expect(theirs.data.entries.map((e) => e.path)).toEqual(['data/etc/app.yaml', 'data/etc/only-other.conf']);
    const refused = await r.cli(['ls', r.files, r.otherSnap.slice(0, 8)], 2);
    expect(refused.stderr).toContain(`belongs to runbook other, not to files`);
  });
});

async function runWide(columns: number): Promise<string> {
  const { runCli } = await import('../helpers/cli.js');
  const res = await runCli(['ls', r.files, 'latest', 'data/etc', '-l'], { env: { ...r.env, COLUMNS: String(columns) } });
  expect(res.code, res.stderr).toBe(0);
  return res.stdout;
}
