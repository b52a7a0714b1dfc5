/**
 * `lifeboat find` through the real CLI over three real backups: a file
 * edited, one deleted, one deleted and re-created, names with a newline and
 * unicode; the snapshot windows and filters; golden --json; and a second
 * runbook in the same repository whose snapshots it never searches.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBrowseRepo, type BrowseRepo } from '../helpers/browse-repo.js';
import { ensureCliBuilt } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('find-command');
let r: BrowseRepo;

beforeAll(async () => {
  await ensureCliBuilt();
  r = await buildBrowseRepo(await tempDir());
}, 120_000);

interface Found {
  summary: string;
  lines: string[];
  data: { snapshots: { id: string }[]; matches: { path: string; sightings: { snapshot: string; change: string; entry?: { size?: number; mtime: string } }[] }[] };
}
const find = async (args: string[]): Promise<Found> => JSON.parse((await r.cli(['find', r.files, ...args, '--json'])).stdout) as Found;
/** `path: change@snapshot-number …` for each match. */
const history = (f: Found) => Object.fromEntries(f.data.matches.map((m) => [m.path, m.sightings.map((s) => `${s.change}@${r.snaps.indexOf(s.snapshot) + 1}`).join(' ')]));

describe('find', () => {
  it('follows the deleted and the re-created file through every snapshot: golden --json', async () => {
    const res = await r.cli(['find', r.files, '*.conf', '--json']);
    await expect(r.normalize(res.stdout)).toMatchFileSnapshot('../fixtures/browse/find-conf.json');
    const found = JSON.parse(res.stdout) as Found;
    expect(history(found)).toEqual({
      'data/etc/deleted.conf': 'present@1 deleted@2',
      'data/etc/recreated.conf': 'present@1 deleted@2 re-created@3',
    });
    // The deleted file: where to get it back from.
    expect(found.lines).toEqual([
      `data/etc/deleted.conf is not in the newest snapshot searched; last held by ${r.snaps[0]!.slice(0, 8)} (${r.taken(0)}): lifeboat dump files ${r.snaps[0]!.slice(0, 8)} data/etc/deleted.conf > FILE`,
    ]);
  });

  it('shows the edited file\'s size and mtime in each snapshot, in a table', async () => {
    const res = await r.cli(['find', r.files, 'app.yaml']);
    const rows = res.stdout.split('\n').filter((l) => l.startsWith('data/'));
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatch(/^data\/etc\/app\.yaml\s+\w{8}\s+2026-12-01 02:00:\d\dZ\s+present\s+file\s+11 B\s+2026-11-20 10:00:00Z$/);
    expect(rows[1]).toMatch(/changed\s+file\s+22 B\s+2026-12-01 15:00:00Z$/);
    expect(rows[2]).toMatch(/unchanged\s+file\s+22 B\s+2026-12-01 15:00:00Z$/);
    expect(res.stdout).toContain('1 path matching app.yaml, held by 3 of 3 snapshots searched (all snapshots of files)');
  });

  it('tells a metadata-only change and a symlink retargeted apart from an edit', async () => {
    const f = await find(['data/ spaced name .txt']);
    expect(history(f)).toEqual({ 'data/ spaced name .txt': 'present@1 metadata@2 unchanged@3' });
    expect(history(await find(['to-app']))).toEqual({ 'data/links/to-app': 'present@1 unchanged@2 changed@3' });
  });

  it('matches names with a newline, unicode, a glob on the path, and without case', async () => {
    expect(Object.keys(history(await find(['line*'])))).toEqual(['data/line\nbreak.txt']);
    expect(Object.keys(history(await find(['caf\u00e9.txt'])))).toEqual(['data/unicode/caf\u00e9.txt']);
    expect(Object.keys(history(await find(['data/unicode/*'])))).toEqual(['data/unicode/caf\u00e9.txt', 'data/unicode/emoji-🚀.txt', 'data/unicode/日本語.txt']);
    expect(Object.keys(history(await find(['APP.YAML', '-i'])))).toEqual(['data/etc/app.yaml']);
    expect(history(await find(['empty dir']))).toEqual({ 'data/empty dir': 'present@1 unchanged@2 unchanged@3' });
    const table = await r.cli(['find', r.files, 'line*']);
    expect(table.stdout).toContain('"data/line\\nbreak.txt"');
  });

  it('searches the newest N or since a date; filters by size and mtime', async () => {
    const newest2 = await find(['*.conf', '--snapshots', '2']);
    expect(newest2.data.snapshots.map((s) => s.id)).toEqual(r.snaps.slice(1));
    expect(history(newest2)).toEqual({ 'data/etc/recreated.conf': 'added@3' });
    const since = await find(['*.conf', '--snapshots', 'since 2026-12-02']);
    expect(since.data.snapshots.map((s) => s.id)).toEqual(r.snaps.slice(1));
    expect(Object.keys(history(await find(['*', '--size', '+20B'])))).toEqual(['data/bin/blob.bin', 'data/etc/app.yaml', 'data/etc/recreated.conf', 'data/line\nbreak.txt']);
    expect(Object.keys(history(await find(['*.conf', '--size=-12B'])))).toEqual(['data/etc/recreated.conf']);
    const newer = Object.keys(history(await find(['*.*', '--newer', '2026-12-02'])));
    expect(newer).toEqual(['data/etc/recreated.conf']);
    const bad = await r.cli(['find', r.files, '*', '--snapshots', 'yesterday'], 2);
    expect(bad.stderr).toContain('--snapshots yesterday: expected all, a number');
    const badSize = await r.cli(['find', r.files, '*', '--size', '10MiB'], 2);
    expect(badSize.stderr).toContain('expected +SIZE or >SIZE');
  });

  it('searches only its own runbook\'s snapshots in a shared repository', async () => {
    const all = await find(['*']);
    expect(all.data.snapshots.map((s) => s.id)).toEqual(r.snaps);
    expect(Object.keys(history(all))).not.toContain('data/etc/only-other.conf');
    expect((await find(['only-other.conf'])).summary).toBe('no path matches only-other.conf in all snapshots of files (3 snapshots searched)');
    const theirs = JSON.parse((await r.cli(['find', r.other, 'app.yaml', '--json'])).stdout) as Found;
    expect(theirs.data.snapshots.map((s) => s.id)).toEqual([r.otherSnap]);
    expect(theirs.data.matches[0]!.sightings.map((s) => s.entry?.size)).toEqual([10]);
  });
});
