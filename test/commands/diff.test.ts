/**
 * `lifeboat diff` through the real CLI over three real backups: the edited,
 * deleted and re-created files, a metadata-only change, a retargeted
 * symlink, a folder added; a path inside; golden --json; and a snapshot of
 * another runbook in the same repository refused.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBrowseRepo, type BrowseRepo } from '../helpers/browse-repo.js';
import { ensureCliBuilt } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('diff-command');
let r: BrowseRepo;

beforeAll(async () => {
  await ensureCliBuilt();
  r = await buildBrowseRepo(await tempDir());
}, 120_000);

interface Diffed {
  summary: string;
  data: { changes: { change: string; path: string; before?: { size?: number }; after?: { size?: number } }[]; totals: Record<string, { count: number; bytes: number }> };
}
const id = (i: number) => r.snaps[i]!.slice(0, 8);
const diff = async (...args: string[]): Promise<Diffed> => JSON.parse((await r.cli(['diff', r.files, ...args, '--json'])).stdout) as Diffed;
const changes = (d: Diffed) => d.data.changes.map((c) => `${c.change} ${c.path}`);

describe('diff', () => {
  it('first to last: golden --json', async () => {
    const res = await r.cli(['diff', r.files, id(0), 'latest', '--json']);
    await expect(r.normalize(res.stdout)).toMatchFileSnapshot('../fixtures/browse/diff-1-3.json');
  });

  it('an edit, two deletions, a mode change and an added folder with what is in it, with sizes and a summary line', async () => {
    const d = await diff(id(0), id(1));
    expect(changes(d)).toEqual([
      'metadata data/ spaced name .txt',
      'changed data/etc/app.yaml',
      'removed data/etc/deleted.conf',
      'removed data/etc/recreated.conf',
      'added data/new dir',
      'added data/new dir/added.txt',
    ]);
    const edit = d.data.changes.find((c) => c.path === 'data/etc/app.yaml')!;
    expect([edit.before?.size, edit.after?.size]).toEqual([11, 22]);
    expect(d.data.totals).toEqual({ added: { count: 2, bytes: 17 }, removed: { count: 2, bytes: 25 }, changed: { count: 1, bytes: 11 }, metadata: { count: 1, bytes: 0 } });
    const text = await r.cli(['diff', r.files, id(0), id(1)]);
    expect(text.stdout).toMatch(/^changed\s+data\/etc\/app\.yaml\s+11 B → 22 B\s+content, mtime 2026-11-20 10:00:00Z → 2026-12-01 15:00:00Z$/m);
    expect(text.stdout).toMatch(/^metadata\s+"data\/ spaced name \.txt"\s+14 B\s+mode 0644 → 0600$/m);
    expect(text.stdout).toMatch(/^added\s+data\/new dir\/\s+folder$/m);
    expect(text.stdout.trim().split('\n').at(-1)).toBe(
      `${id(0)} (${r.taken(0)}) → ${id(1)} (${r.taken(1)}): 2 added (17 B), 2 removed (25 B), 1 changed (+11 B), 1 metadata only`,
    );
  });

  it('the re-created file comes back as added; the symlink shows its old and new target', async () => {
    const d = await diff(id(1), id(2));
    expect(changes(d)).toEqual(['added data/etc/recreated.conf', 'changed data/links/to-app']);
    const text = await r.cli(['diff', r.files, id(1), id(2)]);
    expect(text.stdout).toContain('-> ../etc/app.yaml → ../etc/recreated.conf');
  });

  it('inside one path only; backwards; and nothing between a snapshot and itself', async () => {
    const etc = await diff(id(0), id(2), 'data/etc');
    expect(changes(etc)).toEqual(['changed data/etc/app.yaml', 'removed data/etc/deleted.conf', 'changed data/etc/recreated.conf']);
    expect(etc.summary).toContain(' in data/etc: ');
    const back = await diff(id(1), id(0));
    expect(changes(back)).toEqual([
      'metadata data/ spaced name .txt',
      'changed data/etc/app.yaml',
      'added data/etc/deleted.conf',
      'added data/etc/recreated.conf',
      'removed data/new dir',
      'removed data/new dir/added.txt',
    ]);
    const same = await diff(id(2), 'latest');
    expect(same.data.changes).toEqual([]);
    expect(same.summary).toBe(`no changes between ${id(2)} (${r.taken(2)}) and ${id(2)} (${r.taken(2)})`);
    const gone = await r.cli(['diff', r.files, id(0), id(1), 'data/nowhere'], 2);
    expect(gone.stderr).toContain('data/nowhere is in neither snapshot');
  });

  it('refuses a snapshot of another runbook in the same repository', async () => {
    const res = await r.cli(['diff', r.files, id(2), r.otherSnap.slice(0, 8)], 2);
    expect(res.stderr).toContain(`snapshot ${r.otherSnap.slice(0, 8)} belongs to runbook other, not to files`);
  });
});
