/**
 * Damage and the wrong password: a flipped byte in a pack is found by
 * `check --read-data`, traced to the files that use it, and costs a restore
 * only those files; a wrong password is refused without touching the repository.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, open, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalBackend } from '../../../src/core/backends/local-backend.js';
import { checkRepository } from '../../../src/core/repo/checker.js';
import { Repository } from '../../../src/core/repo/repository.js';
import { restoreSnapshot } from '../../../src/core/repo/restorer.js';
import { shortId, type Snapshot } from '../../../src/core/repo/snapshot.js';
import { ensureCliBuilt, runCli, writeRunbook } from '../../helpers/cli.js';
import { expectSameManifest, manifestOf, withoutPaths, type Manifest } from '../../helpers/fs-manifest.js';
import { TEST_PASSWORD, backupDir, createRepo, openRepo, smallRepo } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';
import { flipPackByte } from '../../helpers/flip-pack-byte.js';

const KiB = 1024;
const tempDir = useTempDirs('damage');

/** Every path under `root` with its type, size, mode and mtime: proof that nothing changed. */
async function listing(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const rel of (await readdir(root, { recursive: true })).sort()) {
    const st = await lstat(join(root, rel));
    out.push(`${rel} ${st.isDirectory() ? 'd' : 'f'} ${st.size} ${(st.mode & 0o7777).toString(8)} ${st.mtimeMs}`);
  }
  return out;
}

describe('a flipped byte in a data pack', () => {
  let base: string;
  let repoDir: string;
  let src: string;
  let runbook: string;
  let env: Record<string, string>;
  let snapshots: Snapshot[];
  let damagedPack: string;
  let manifest: Manifest;

  beforeAll(async () => {
    await ensureCliBuilt();
    base = await tempDir();
    repoDir = join(base, 'repo');
    src = join(base, 'src');
    await mkdir(join(src, 'docs'), { recursive: true });
    await writeFile(join(src, 'docs/victim.bin'), randomBytes(300 * KiB));
    for (let i = 0; i < 6; i++) await writeFile(join(src, `bystander-${i}.bin`), randomBytes(150 * KiB + i));
    await writeFile(join(src, 'docs/small.txt'), 'small and fine\n');
    const repo = await createRepo(repoDir, smallRepo);
    // Made as the runbook the CLI restores below: a runbook restores only its own snapshots (issue 20).
    const first = await backupDir(repo, src, { runbook: 'damaged' });
    await writeFile(join(src, 'later.txt'), 'added later\n');
    const second = await backupDir(repo, src, { parent: first.snapshot, runbook: 'damaged' });
    snapshots = [first.snapshot, second.snapshot];
    manifest = await manifestOf(src);

    // Flip one byte inside the first chunk of victim.bin, in the middle of its ciphertext.
    const victimTree = await repo.loadTree((await repo.loadTree(second.snapshot.tree)).nodes.find((n) => n.name === 'data')!.subtree!);
    const docs = await repo.loadTree(victimTree.nodes.find((n) => n.name === 'docs')!.subtree!);
    const chunk = repo.index.lookup(docs.nodes.find((n) => n.name === 'victim.bin')!.content![0]!)!;
    damagedPack = chunk.pack;
    // The pack also holds other blobs, which must stay readable.
    expect(repo.index.byType('data').filter((b) => b.pack === damagedPack).length).toBeGreaterThan(1);
    await flipPackByte(repoDir, chunk);

    runbook = writeRunbook(base, 'damaged', { source: src, repo: repoDir });
    env = { LIFEBOAT_PASSWORD: TEST_PASSWORD, LIFEBOAT_HOME: join(base, 'home') };
  });

  it('check without read-data sees a sound structure; with read-data it names the pack and every affected file in every snapshot', async () => {
    const repo = await openRepo(repoDir);
    const structure = await checkRepository({ repo, workers: 2 });
    expect(structure.errors).toEqual([]);
    expect(structure.damaged).toEqual([]);

    const full = await checkRepository({ repo, readData: 1, workers: 2 });
    expect(full.errors).toEqual([]);
    expect(full.damaged).toHaveLength(1);
    const [d] = full.damaged;
    expect(d!.pack).toBe(damagedPack);
    expect(d!.problems.join('\n')).toMatch(/SHA-256 differs/);
    expect(d!.problems.join('\n')).toMatch(/blob [0-9a-f]{12} failed authentication/);
    expect(d!.affectedFiles).toEqual(snapshots.map((s) => `${shortId(s.id)}:data/docs/victim.bin`).sort());
  });

  it('restore names the damaged file and restores every other file identically', async () => {
    const repo = await openRepo(repoDir);
    const target = join(base, 'restore');
    const out = await restoreSnapshot({ repo, snapshot: snapshots[1]!, target, workers: 2 });
    expect([...new Set(out.failed.map((f) => f.path))]).toEqual([join(target, 'data/docs/victim.bin')]);
    expect(out.failed[0]!.error).toMatch(/failed authentication/);
    const victim = (rel: string) => rel === 'docs/victim.bin';
    expectSameManifest(withoutPaths(await manifestOf(join(target, 'data')), victim), withoutPaths(manifest, victim));
  });

  it('through the CLI: restore exits 3 naming the file, check --read-data exits 1 naming pack and file, plain check exits 0', async () => {
    const target = join(base, 'cli-restore');
    const [restore, check, json, plain] = await Promise.all([
      runCli(['restore', runbook, '--target', target], { env }),
      runCli(['check', runbook, '--read-data'], { env }),
      runCli(['check', runbook, '--read-data', '--json'], { env }),
      runCli(['check', runbook], { env }),
    ]);
    expect(restore.code, restore.stderr).toBe(3);
    expect(restore.stdout + restore.stderr).toContain(join(target, 'data/docs/victim.bin'));
    expect(existsSync(join(target, 'data/bystander-3.bin'))).toBe(true);

    expect(check.code, check.stdout + check.stderr).toBe(1);
    const text = check.stdout + check.stderr;
    expect(text).toContain(damagedPack.slice(0, 8));
    expect(text).toContain('data/docs/victim.bin');

    expect(json.code).toBe(1);
    expect((JSON.parse(json.stdout) as { data: { damaged: { pack: string }[] } }).data.damaged.map((x) => x.pack)).toEqual([damagedPack]);

    expect(plain.code, plain.stdout + plain.stderr).toBe(0);
  });
});

describe('a flipped byte in a one-chunk file', () => {
  it('the file is reported and not counted as restored', async () => {
    const base = await tempDir();
    const repoDir = join(base, 'repo');
    const src = join(base, 'src');
    await mkdir(src);
    for (const name of ['a.txt', 'b.txt', 'c.txt']) await writeFile(join(src, name), `${name} is one small chunk\n`);
    const repo = await createRepo(repoDir, smallRepo);
    const { snapshot } = await backupDir(repo, src);
    const dataTree = await repo.loadTree((await repo.loadTree(snapshot.tree)).nodes.find((n) => n.name === 'data')!.subtree!);
    const loc = repo.index.lookup(dataTree.nodes.find((n) => n.name === 'b.txt')!.content![0]!)!;
    const fh = await open(join(repoDir, 'data', loc.pack.slice(0, 2), loc.pack), 'r+');
    await fh.write(Buffer.from([0x00, 0x00]), 0, 2, loc.offset + 13);
    await fh.close();

    const target = join(base, 'target');
    const out = await restoreSnapshot({ repo: await openRepo(repoDir), snapshot, target, workers: 1 });
    expect(out.failed.map((f) => f.path)).toEqual([join(target, 'data/b.txt')]);
    expect(out.totalFiles).toBe(3);
    expect(out.files).toBe(2);
    expect((await readdir(join(target, 'data'))).sort()).toEqual(['a.txt', 'c.txt']);
  });
});

describe('a data pack deleted from the repository', () => {
  it('the structure check names it and the files it held; restore reports those files and restores the rest', async () => {
    const base = await tempDir();
    const repoDir = join(base, 'repo');
    const src = join(base, 'src');
    await mkdir(src);
    for (let i = 0; i < 8; i++) await writeFile(join(src, `f${i}.bin`), randomBytes(100 * KiB));
    const repo = await createRepo(repoDir, smallRepo);
    const { snapshot } = await backupDir(repo, src);
    const manifest = await manifestOf(src);
    const dataTree = await repo.loadTree((await repo.loadTree(snapshot.tree)).nodes.find((n) => n.name === 'data')!.subtree!);
    const pack = repo.index.lookup(dataTree.nodes.find((n) => n.name === 'f3.bin')!.content![0]!)!.pack;
    const users = dataTree.nodes.filter((n) => n.content!.some((id) => repo.index.lookup(id)!.pack === pack)).map((n) => n.name);
    expect(users.length).toBeLessThan(8);
    await rm(join(repoDir, 'data', pack.slice(0, 2), pack));

    const fresh = await openRepo(repoDir);
    const check = await checkRepository({ repo: fresh, workers: 2 });
    expect(check.damaged.map((d) => d.pack)).toEqual([pack]);
    expect(check.damaged[0]!.problems.join()).toMatch(/missing from data/);
    expect(check.damaged[0]!.affectedFiles).toEqual(users.map((u) => `${shortId(snapshot.id)}:data/${u}`).sort());

    const target = join(base, 'target');
    const out = await restoreSnapshot({ repo: fresh, snapshot, target, workers: 2 });
    expect([...new Set(out.failed.map((f) => f.path))].sort()).toEqual(users.map((u) => join(target, 'data', u)).sort());
    const lost = (rel: string) => users.includes(rel);
    expectSameManifest(withoutPaths(await manifestOf(join(target, 'data')), lost), withoutPaths(manifest, lost));
  });
});

describe('a flipped byte in a folder listing (tree blob)', () => {
  it('check names the folder; restore reports it and restores everything else', async () => {
    const base = await tempDir();
    const repoDir = join(base, 'repo');
    const src = join(base, 'src');
    await mkdir(join(src, 'lost/deeper'), { recursive: true });
    await mkdir(join(src, 'kept'), { recursive: true });
    await writeFile(join(src, 'lost/a.txt'), 'in the damaged folder\n');
    await writeFile(join(src, 'lost/deeper/b.txt'), 'below it\n');
    await writeFile(join(src, 'kept/c.txt'), 'fine\n');
    await writeFile(join(src, 'top.bin'), randomBytes(100 * KiB));
    const repo = await createRepo(repoDir, smallRepo);
    const { snapshot } = await backupDir(repo, src);
    const manifest = await manifestOf(src);
    const dataTree = await repo.loadTree((await repo.loadTree(snapshot.tree)).nodes.find((n) => n.name === 'data')!.subtree!);
    const lost = repo.index.lookup(dataTree.nodes.find((n) => n.name === 'lost')!.subtree!)!;
    expect(lost.type).toBe('tree');
    // Flipped, not overwritten: writing 0xff left the blob intact whenever its byte there was 0xff already (1 run in 256).
    await flipPackByte(repoDir, lost);

    const fresh = await openRepo(repoDir);
    const check = await checkRepository({ repo: fresh, readData: 1, workers: 2 });
    expect(check.damaged.map((d) => d.pack)).toEqual([lost.pack]);
    expect(check.damaged[0]!.affectedFiles).toEqual([`${shortId(snapshot.id)}:data/lost (directory listing)`]);

    const target = join(base, 'target');
    const out = await restoreSnapshot({ repo: fresh, snapshot, target, workers: 2 });
    expect(out.failed.map((f) => f.path)).toEqual([join(target, 'data/lost')]);
    expect(out.failed[0]!.error).toMatch(/failed authentication/);
    const inLost = (rel: string) => rel === 'lost' || rel.startsWith('lost/');
    expectSameManifest(withoutPaths(await manifestOf(join(target, 'data')), inLost), withoutPaths(manifest, inLost));
  });
});

describe('the wrong password', () => {
  it('is refused with REPO_WRONG_PASSWORD by Repository.open and with exit 1 by every command, and nothing is written', async () => {
    await ensureCliBuilt();
    const base = await tempDir();
    const repoDir = join(base, 'repo');
    const src = join(base, 'src');
    await mkdir(src);
    await writeFile(join(src, 'file.txt'), 'secret\n');
    const repo = await createRepo(repoDir, smallRepo);
    await backupDir(repo, src);
    const before = await listing(repoDir);
    expect(before.length).toBeGreaterThan(5);

    await expect(Repository.open(new LocalBackend(repoDir), 'not the password')).rejects.toMatchObject({
      code: 'REPO_WRONG_PASSWORD',
      message: expect.stringContaining('wrong password'),
    });

    const runbook = writeRunbook(base, 'locked', { source: src, repo: repoDir });
    const env = { LIFEBOAT_PASSWORD: 'not the password', LIFEBOAT_HOME: join(base, 'home') };
    const target = join(base, 'target');
    const commands = [['backup', runbook], ['snapshots', runbook], ['restore', runbook, '--target', target], ['check', runbook, '--read-data']];
    const results = await Promise.all(commands.map((args) => runCli(args, { env })));
    for (const [i, res] of results.entries()) {
      expect(res.code, `${commands[i]![0]}: ${res.stderr}`).toBe(1);
      expect(res.stderr).toMatch(/wrong password for the repository at /);
      expect(res.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    }
    expect(existsSync(target)).toBe(false);
    expect(await listing(repoDir)).toEqual(before);
  });
});
