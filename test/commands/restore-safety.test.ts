/**
 * Restore that never surprises (issue 20), through the real CLI on real
 * folders: two runbooks sharing one repository each restore, list and drill
 * only their own snapshots; a target that already holds what a restore would
 * write is refused without an --overwrite policy (naming the files), and each
 * policy has exactly its effect on an edited folder; --dry-run changes
 * nothing; --include/--exclude; --delete.
 */
import { cp, mkdir, readFile, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureCliBuilt, runCli } from '../helpers/cli.js';
import { expectSameManifest, manifestOf, withoutPaths } from '../helpers/fs-manifest.js';
import { pipelineEnv, writePipelineRunbook } from '../helpers/pipeline-runbook.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('restore-safety-cli');

let base: string;
let env: Record<string, string>;
let docs: string;
let photos: string;
let srcDocs: string;
let srcPhotos: string;
let docsId: string;
let photosId: string;
/** A clean restore of docs' snapshot: the folder each edited copy starts from. */
let clean: string;
/** The snapshot's mtime of every file (all the same). */
const snapTime = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));

async function cli(args: string[], code = 0) {
  const res = await runCli(args, { env });
  expect(res.code, `${args.join(' ')}\n${res.stdout}${res.stderr}`).toBe(code);
  return res;
}

const json = <T>(res: { stdout: string }) => JSON.parse(res.stdout) as { summary: string; data: T; lines?: string[] };

beforeAll(async () => {
  await ensureCliBuilt();
  base = await tempDir();
  env = pipelineEnv(join(base, 'home'));
  const repo = join(base, 'repo');
  srcDocs = join(base, 'src-docs');
  srcPhotos = join(base, 'src-photos');
  await mkdir(join(srcDocs, 'sub'), { recursive: true });
  await mkdir(srcPhotos);
  const files: [string, string][] = [
    ['a.txt', 'alpha\n'],
    ['keep.txt', 'kept as it is\n'],
    ['notes.log', 'log line\n'],
    ['sub/b.txt', 'bravo\n'],
    ['sub/c.log', 'charlie log\n'],
  ];
  for (const [rel, text] of files) {
    await writeFile(join(srcDocs, rel), text);
    await utimes(join(srcDocs, rel), snapTime, snapTime);
  }
  await writeFile(join(srcPhotos, 'p.jpg'), 'not really a photo\n');
  // Two runbooks, one repository; photos backs up last, so the repository's newest snapshot is photos'.
  docs = writePipelineRunbook(base, 'docs', { repo, sources: [{ name: 'docs', path: srcDocs }] });
  photos = writePipelineRunbook(base, 'photos', { repo, sources: [{ name: 'photos', path: srcPhotos }] });
  await cli(['init', docs]);
  await cli(['backup', docs]);
  await cli(['backup', photos]);
  docsId = json<{ id: string }[]>(await cli(['snapshots', docs, '--json'])).data[0]!.id;
  photosId = json<{ id: string }[]>(await cli(['snapshots', photos, '--json'])).data[0]!.id;
  clean = join(base, 'clean');
  await cli(['restore', docs, '--target', clean]);
});

/**
 * A copy of the clean restore, edited since:
 * - a.txt: its content changed, same size, its mtime put back (the edit only a content hash finds);
 * - keep.txt: untouched;
 * - notes.log: changed, mtime older than the snapshot's;
 * - sub/b.txt: changed, mtime newer than the snapshot's;
 * - sub/c.log: deleted (the restore creates it);
 * - extra.txt: added (the snapshot lacks it).
 */
async function editedCopy(name: string): Promise<string> {
  const t = join(base, name);
  await cp(clean, t, { recursive: true, preserveTimestamps: true });
  const d = join(t, 'docs');
  const set = async (rel: string, text: string, when: Date) => {
    await writeFile(join(d, rel), text);
    await utimes(join(d, rel), when, when);
  };
  await set('a.txt', 'ALPHA\n', snapTime);
  await set('notes.log', 'older local log\n', new Date(snapTime.getTime() - 3_600_000));
  await set('sub/b.txt', 'bravo, edited after the backup\n', new Date(snapTime.getTime() + 3_600_000));
  await rm(join(d, 'sub/c.log'));
  await writeFile(join(d, 'extra.txt'), 'made after the backup\n');
  return t;
}

const read = (t: string, rel: string) => readFile(join(t, 'docs', rel), 'utf8');

/** Every file under `t`, for "nothing else was written" (no temporary file left beside a replaced one). */
async function namesUnder(t: string): Promise<string[]> {
  return (await readdir(t, { recursive: true })).sort();
}

describe('two runbooks sharing one repository', () => {
  it('restore without a snapshot restores the runbook\'s own newest, not the repository\'s newest', async () => {
    const t = join(base, 'own-docs');
    const res = await cli(['restore', docs, '--target', t]);
    expect(res.stdout).toContain(`restored snapshot ${docsId.slice(0, 8)}`);
    expect(await readdir(t)).toEqual(['docs']);
    expectSameManifest(await manifestOf(join(t, 'docs')), await manifestOf(srcDocs));

    const p = join(base, 'own-photos');
    await cli(['restore', photos, '--target', p]);
    expect(await readdir(p)).toEqual(['photos']);
  });

  it('snapshots lists the runbook\'s own and says how many it left out; --all lists every runbook\'s', async () => {
    const own = json<{ id: string; runbook: string }[]>(await cli(['snapshots', docs, '--json']));
    expect(own.data.map((s) => [s.id, s.runbook])).toEqual([[docsId, 'docs']]);
    const text = await cli(['snapshots', docs]);
    expect(text.stdout).toContain('1 snapshot of docs in');
    expect(text.stdout).toContain('(1 of other runbooks not shown; --all lists them)');
    const all = json<{ id: string; runbook: string }[]>(await cli(['snapshots', docs, '--all', '--json']));
    expect(all.data.map((s) => s.runbook)).toEqual(['docs', 'photos']);
  });

  it('an id of another runbook\'s snapshot is refused naming its owner (exit 2); --all restores it', async () => {
    const t = join(base, 'foreign');
    const refused = await cli(['restore', docs, photosId.slice(0, 8), '--target', t], 2);
    expect(refused.stderr).toContain(`snapshot ${photosId.slice(0, 8)} belongs to runbook photos, not to docs; pass --all to restore another runbook's snapshot`);
    expect(await readdir(t).catch(() => [])).toEqual([]);
    await cli(['restore', docs, photosId.slice(0, 8), '--all', '--target', t]);
    expect(await readdir(t)).toEqual(['photos']);
  });

  it('restore-drill drills each runbook\'s own snapshot, and refuses another runbook\'s', async () => {
    const d = json<{ snapshotId: string; verdict: string }>(await cli(['restore-drill', docs, '--json']));
    expect([d.data.snapshotId, d.data.verdict]).toEqual([docsId, 'met']);
    const p = json<{ snapshotId: string; verdict: string }>(await cli(['restore-drill', photos, '--json']));
    expect([p.data.snapshotId, p.data.verdict]).toEqual([photosId, 'met']);
    const foreign = await runCli(['restore-drill', docs, photosId.slice(0, 8)], { env });
    expect(foreign.code).not.toBe(0);
    expect(foreign.stdout + foreign.stderr).toContain(`snapshot ${photosId.slice(0, 8)} belongs to runbook photos, not to docs; a drill measures only its own runbook's snapshots`);
  });
});

describe('a target that already holds what the restore writes', () => {
  it('is refused without --overwrite (exit 2), naming the files, and nothing changes: the edited file is not overwritten', async () => {
    const t = await editedCopy('no-policy');
    const before = await manifestOf(t);
    const res = await cli(['restore', docs, '--target', t], 2);
    expect(res.stderr).toContain(`refusing to restore into ${t}: it already holds 4 path(s) this restore would write, and no --overwrite policy says what to do with them: docs/a.txt, docs/keep.txt, docs/notes.log, docs/sub/b.txt.`);
    expect(res.stderr).toContain('Choose --overwrite never (keep them), if-newer, if-changed or always');
    expectSameManifest(await manifestOf(t), before);
    expect(await read(t, 'a.txt')).toBe('ALPHA\n');
  });

  it('an empty or missing target needs no policy', async () => {
    const t = join(base, 'empty-target');
    await mkdir(t);
    await cli(['restore', docs, '--target', t]);
    expectSameManifest(await manifestOf(join(t, 'docs')), await manifestOf(srcDocs));
  });

  it('--overwrite never keeps every file that is there and creates what is missing', async () => {
    const t = await editedCopy('never');
    const res = await cli(['restore', docs, '--target', t, '--overwrite', 'never']);
    expect(res.stdout).toContain('4 kept (--overwrite never)');
    expect(await read(t, 'a.txt')).toBe('ALPHA\n');
    expect(await read(t, 'keep.txt')).toBe('kept as it is\n');
    expect(await read(t, 'notes.log')).toBe('older local log\n');
    expect(await read(t, 'sub/b.txt')).toBe('bravo, edited after the backup\n');
    expect(await read(t, 'sub/c.log')).toBe('charlie log\n');
    expect(await read(t, 'extra.txt')).toBe('made after the backup\n');
  });

  it('--overwrite if-newer replaces only what is older than the snapshot: an edit with its mtime kept stays', async () => {
    const t = await editedCopy('if-newer');
    const res = await cli(['restore', docs, '--target', t, '--overwrite', 'if-newer']);
    expect(res.stdout).toContain('1 replaced, 3 kept (--overwrite if-newer)');
    expect(res.stdout).toContain('replace  docs/notes.log (newer in the snapshot)');
    expect(res.stdout).toContain('skip     docs/sub/b.txt (newer in the target)');
    expect(await read(t, 'notes.log')).toBe('log line\n');
    expect(await read(t, 'a.txt')).toBe('ALPHA\n');
    expect(await read(t, 'sub/b.txt')).toBe('bravo, edited after the backup\n');
    expect(await read(t, 'sub/c.log')).toBe('charlie log\n');
  });

  it('--overwrite if-changed replaces what differs in size or content, the same-size edit with its mtime kept included, and keeps what is unchanged', async () => {
    const t = await editedCopy('if-changed');
    const keepBefore = (await manifestOf(join(t, 'docs'))).get('keep.txt');
    const res = await cli(['restore', docs, '--target', t, '--overwrite', 'if-changed']);
    expect(res.stdout).toContain('3 replaced, 1 kept (--overwrite if-changed)');
    expect(res.stdout).toContain('replace  docs/a.txt (content differs)');
    expect(res.stdout).toContain('skip     docs/keep.txt (unchanged)');
    expect(await read(t, 'a.txt')).toBe('alpha\n');
    expect(await read(t, 'notes.log')).toBe('log line\n');
    expect(await read(t, 'sub/b.txt')).toBe('bravo\n');
    expect((await manifestOf(join(t, 'docs'))).get('keep.txt')).toEqual(keepBefore);
    expect(await read(t, 'extra.txt')).toBe('made after the backup\n');
  });

  it('--overwrite always replaces everything it writes (and only that), leaving no temporary file', async () => {
    const t = await editedCopy('always');
    const res = await cli(['restore', docs, '--target', t, '--overwrite', 'always']);
    expect(res.stdout).toContain('4 replaced');
    const restored = withoutPaths(await manifestOf(join(t, 'docs')), (rel) => rel === 'extra.txt');
    expectSameManifest(withoutPaths(restored, (rel) => rel === '.'), withoutPaths(await manifestOf(srcDocs), (rel) => rel === '.'));
    expect(await namesUnder(t)).toEqual(['docs', 'docs/a.txt', 'docs/extra.txt', 'docs/keep.txt', 'docs/notes.log', 'docs/sub', 'docs/sub/b.txt', 'docs/sub/c.log']);
  });
});

describe('--dry-run', () => {
  it('lists what would be created, replaced, skipped and deleted, and changes nothing', async () => {
    const t = await editedCopy('dry-run');
    const before = await manifestOf(t);
    const res = json<{ counts: Record<string, number> }>(await cli(['restore', docs, '--target', t, '--overwrite', 'if-changed', '--delete', '--dry-run', '--json']));
    expect(res.lines).toEqual([
      'replace  docs/a.txt (content differs)',
      'skip     docs/keep.txt (unchanged)',
      'replace  docs/notes.log (size differs: 16 bytes, 9 in the snapshot)',
      'replace  docs/sub/b.txt (size differs: 31 bytes, 6 in the snapshot)',
      'create   docs/sub/c.log',
      'delete   docs/extra.txt',
    ]);
    expect(res.data.counts).toEqual({ create: 1, replace: 3, skip: 1, conflict: 0, refuse: 0, delete: 1 });
    expect(res.summary).toContain('nothing was changed');
    expectSameManifest(await manifestOf(t), before);
  });

  it('without a policy it shows what a restore would be refused over; into a missing target it does not even create it', async () => {
    const t = await editedCopy('dry-run-no-policy');
    const before = await manifestOf(t);
    const res = await cli(['restore', docs, '--target', t, '--dry-run']);
    expect(res.stdout).toContain('conflict docs/a.txt (a file is there)');
    expect(res.stdout).toContain('without --overwrite it would be refused: 4 path(s) already there');
    expectSameManifest(await manifestOf(t), before);

    const missing = join(base, 'dry-run-missing');
    const fresh = await cli(['restore', docs, '--target', missing, '--dry-run']);
    expect(fresh.stdout).toContain('would create 5, replace 0, skip 0, delete 0');
    expect(existsSync(missing)).toBe(false);
  });
});

describe('--include and --exclude', () => {
  it('restore only the paths they select: a folder pattern takes what is in it, a name pattern matches at any depth', async () => {
    const only = async (name: string, ...args: string[]) => {
      const t = join(base, name);
      await cli(['restore', docs, '--target', t, ...args]);
      return (await readdir(t, { recursive: true })).sort();
    };
    expect(await only('inc-sub', '--include', 'docs/sub')).toEqual(['docs', 'docs/sub', 'docs/sub/b.txt', 'docs/sub/c.log']);
    expect(await only('exc-log', '--exclude', '*.log')).toEqual(['docs', 'docs/a.txt', 'docs/keep.txt', 'docs/sub', 'docs/sub/b.txt']);
    expect(await only('inc-exc', '--include', 'docs/sub/**', '--exclude', 'c.log')).toEqual(['docs', 'docs/sub', 'docs/sub/b.txt']);
    expect(await only('inc-two', '--include', 'a.txt', '--include', 'b.txt')).toEqual(['docs', 'docs/a.txt', 'docs/sub', 'docs/sub/b.txt']);
  });

  it('an include that matches nothing says so, and how paths in a snapshot start', async () => {
    const res = await cli(['restore', docs, '--target', join(base, 'inc-nothing'), '--include', 'sub/b.txt']);
    expect(res.stdout).toContain(`--include sub/b.txt matched no file of snapshot ${docsId.slice(0, 8)} (paths in a snapshot start with the source's name: docs/…)`);
  });
});

describe('--delete', () => {
  it('removes what the snapshot lacks, inside the target only: a symlink is removed, never followed; an excluded path stays', async () => {
    const t = await editedCopy('delete');
    const outside = join(base, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'precious.txt'), 'outside the target\n');
    const outsideBefore = await manifestOf(outside);
    await mkdir(join(t, 'docs/old/deeper'), { recursive: true });
    await writeFile(join(t, 'docs/old/deeper/x.txt'), 'stale\n');
    await symlink(outside, join(t, 'docs/link-out'));
    await writeFile(join(t, 'docs/sub/stale.tmp'), 'stale\n');
    await writeFile(join(t, 'docs/sub/keep.tmp'), 'excluded, so left alone\n');

    const res = await cli(['restore', docs, '--target', t, '--overwrite', 'never', '--delete', '--exclude', 'keep.tmp']);
    expect(res.stdout).toContain('4 deleted');
    expect(await namesUnder(t)).toEqual(['docs', 'docs/a.txt', 'docs/keep.txt', 'docs/notes.log', 'docs/sub', 'docs/sub/b.txt', 'docs/sub/c.log', 'docs/sub/keep.tmp']);
    expectSameManifest(await manifestOf(outside), outsideBefore);
    // --overwrite never: the edited files stay as they were.
    expect(await read(t, 'a.txt')).toBe('ALPHA\n');
  });

  it('with --path removes only inside the restored folder', async () => {
    const t = await editedCopy('delete-path');
    const res = await cli(['restore', docs, '--target', t, '--path', 'docs/sub', '--overwrite', 'always', '--delete']);
    expect(res.stdout).not.toContain('deleted');
    expect(await read(t, 'extra.txt')).toBe('made after the backup\n');
    expect(await read(t, 'sub/b.txt')).toBe('bravo\n');
  });
});

describe('--dry-run says what the real run then does', () => {
  it.each(['never', 'if-newer', 'if-changed', 'always'])('--overwrite %s --delete: the same changes, and the target ends as the plan said', async (policy) => {
    const t = await editedCopy(`plan-then-run-${policy}`);
    const args = ['restore', docs, '--target', t, '--overwrite', policy, '--delete', '--json'];
    const plan = json<{ changes: { rel: string; action: string }[] }>(await cli([...args, '--dry-run']));
    const before = new Map<string, string>();
    for (const c of plan.data.changes) before.set(c.rel, await readFile(join(t, c.rel), 'utf8').catch(() => '<none>'));
    const real = json<unknown>(await cli(args));
    // The real run reports every change it made to what the target held, exactly as the plan listed it (it does not list what it created).
    expect(real.lines ?? []).toEqual((plan.lines ?? []).filter((l) => !l.startsWith('create')));
    for (const c of plan.data.changes) {
      const now = await readFile(join(t, c.rel), 'utf8').catch(() => '<none>');
      if (c.action === 'create' || c.action === 'replace') expect(now, `${c.action} ${c.rel}`).toBe(await readFile(join(clean, c.rel), 'utf8'));
      else if (c.action === 'skip') expect(now, `skip ${c.rel}`).toBe(before.get(c.rel));
      else if (c.action === 'delete') expect(now, `delete ${c.rel}`).toBe('<none>');
      else throw new Error(`unexpected action ${c.action} for ${c.rel}`);
    }
  });
});
