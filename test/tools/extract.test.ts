/**
 * tools/extract.py: the independent Python reader written from
 * docs/repository-format.md alone (issue 14, "disaster readability").
 * Repositories are made with Lifeboat's own code; what extract.py restores is
 * compared with the source tree (or, for the format-1 fixture, with the
 * committed source and with Lifeboat's own restore), and tampered repositories
 * must be refused with the damaged object named.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, cp, lutimes, mkdir, readdir, readFile, rename, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/core/backends/backend.js';
import { LocalBackend } from '../../src/core/backends/local-backend.js';
import { migrateRepository } from '../../src/core/repo/migrate.js';
import type { Repository } from '../../src/core/repo/repository.js';
import { restoreSnapshot } from '../../src/core/repo/restorer.js';
import type { Snapshot } from '../../src/core/repo/snapshot.js';
import type { TreeNode } from '../../src/core/repo/tree.js';
import { expectSameManifest, manifestOf, type Manifest } from '../helpers/fs-manifest.js';
import { backupDir, createRepo, openRepo, smallRepo, TEST_PASSWORD } from '../helpers/repo.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EXTRACT = join(ROOT, 'tools/extract.py');
const FIXTURE_V1 = join(ROOT, 'test/fixtures/repo-v1');
/** Debian's interpreter: python3-cryptography and python3-zstandard are installed for it. */
const PYTHON = '/usr/bin/python3';

const tempDir = useTempDirs('extract');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Fails (never skips) when the Python packages are missing: CI installs them in .ci/run. */
function requirePythonPackages(): void {
  const probe = spawnSync(PYTHON, ['-c', 'import cryptography, zstandard'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    throw new Error(
      `${PYTHON} cannot import cryptography and zstandard (${probe.error?.message ?? probe.stderr.trim()}): ` +
        'run .ci/run, or apt-get install python3-cryptography python3-zstandard',
    );
  }
}

function extract(args: string[], password: string | null = TEST_PASSWORD): Promise<Run> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' };
  if (password !== null) env.LIFEBOAT_PASSWORD = password;
  return new Promise((resolve) => {
    execFile(PYTHON, [EXTRACT, ...args], { env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function extractOk(args: string[]): Promise<Run> {
  const run = await extract(args);
  expect(run, `extract.py ${args.join(' ')}\n${run.stderr}`).toMatchObject({ code: 0, stderr: '' });
  return run;
}

/** Set a file's or folder's mtime with a sub-millisecond tail (the manifest compares to the ms). */
async function setTime(path: string, ms: number, link = false): Promise<void> {
  const seconds = ms / 1000;
  await (link ? lutimes(path, seconds, seconds) : utimes(path, seconds, seconds));
}

/** Zipf-ish text: compresses well. */
function text(bytes: number, seed: number): Buffer {
  const words = ['lifeboat', 'backup', 'restore', 'snapshot', 'pack', 'index', 'tree', 'blob', 'key', 'zstd'];
  const out: string[] = [];
  let length = 0;
  for (let i = 0; length < bytes; i++) {
    const word = words[(i * 7 + seed) % words.length]!;
    out.push(word);
    length += word.length + 1;
  }
  return Buffer.from(out.join(' ')).subarray(0, bytes);
}

const T0 = Date.UTC(2024, 4, 17, 8, 30, 0) + 0.25;

/**
 * The source tree: nested folders, empty files and folders, symlinks (relative,
 * absolute, dangling, to a folder), a multi-chunk random file spanning several
 * packs, compressible text, unusual modes, fractional mtimes, non-ASCII names.
 */
async function buildSource(src: string): Promise<void> {
  await mkdir(join(src, 'docs/deep/deeper'), { recursive: true });
  await mkdir(join(src, 'empty-dir'));
  await mkdir(join(src, 'private'));
  await writeFile(join(src, 'hello.txt'), 'hello from format version 2\n');
  await writeFile(join(src, 'empty'), '');
  await writeFile(join(src, 'docs/empty-too'), '');
  await writeFile(join(src, 'docs/notes.md'), text(40_000, 1));
  await writeFile(join(src, 'docs/deep/deeper/text-big.log'), text(300_000, 2));
  await writeFile(join(src, 'random-big.bin'), randomBytes(700 * 1024)); // ~20 chunks, several 256 KiB packs
  await writeFile(join(src, 'docs/deep/random-small.bin'), randomBytes(3000));
  await writeFile(join(src, 'private/secret.txt'), 'only the owner reads this\n');
  await writeFile(join(src, 'script.sh'), '#!/bin/sh\necho hi\n');
  await writeFile(join(src, 'naïve café ✓.txt'), 'unicode name\n');
  await symlink('hello.txt', join(src, 'link-rel'));
  await symlink('/etc/passwd', join(src, 'link-abs'));
  await symlink('does/not/exist', join(src, 'link-dangling'));
  await symlink('docs/deep', join(src, 'link-dir'));
  await chmod(join(src, 'private/secret.txt'), 0o600);
  await chmod(join(src, 'script.sh'), 0o751);
  await chmod(join(src, 'private'), 0o700);
  await chmod(join(src, 'docs/deep'), 0o751);
  await chmod(join(src, 'empty-dir'), 0o555);
  let n = 0;
  for (const rel of [
    'hello.txt', 'empty', 'docs/empty-too', 'docs/notes.md', 'docs/deep/deeper/text-big.log', 'random-big.bin',
    'docs/deep/random-small.bin', 'private/secret.txt', 'script.sh', 'naïve café ✓.txt',
  ]) {
    await setTime(join(src, rel), T0 + 1_000 * n++ + 0.5);
  }
  for (const rel of ['link-rel', 'link-abs', 'link-dangling', 'link-dir']) await setTime(join(src, rel), T0 - 1_000 * n++, true);
  for (const rel of ['docs/deep/deeper', 'docs/deep', 'docs', 'empty-dir', 'private', '.']) await setTime(join(src, rel), T0 - 86_400_000 - n++);
}

/** The second snapshot: a changed file, a new file, a removed file, one more folder. */
async function changeSource(src: string): Promise<void> {
  await writeFile(join(src, 'hello.txt'), 'hello again, second snapshot\n');
  await writeFile(join(src, 'docs/new.txt'), text(5000, 3));
  await rename(join(src, 'docs/deep/random-small.bin'), join(src, 'random-small-moved.bin'));
  await mkdir(join(src, 'later/empty'), { recursive: true });
  await setTime(join(src, 'hello.txt'), T0 + 99_000.75);
  await setTime(join(src, 'later'), T0 + 12_345.5);
  await setTime(join(src, 'docs/deep'), T0 + 5);
}

interface Made {
  repoDir: string;
  snapshots: { snapshot: Snapshot; manifest: Manifest }[];
}

/** A version 2 repository with two snapshots of one changing folder, each with the manifest of the source at its time. */
async function makeV2Repo(): Promise<Made> {
  const base = await tempDir();
  const src = join(base, 'src');
  const repoDir = join(base, 'repo');
  await buildSource(src);
  const repo = await createRepo(repoDir, smallRepo);
  const first = await backupDir(repo, src);
  const manifest1 = await manifestOf(src);
  await changeSource(src);
  const second = await backupDir(repo, src, { parent: first.snapshot });
  const manifest2 = await manifestOf(src);
  return { repoDir, snapshots: [{ snapshot: first.snapshot, manifest: manifest1 }, { snapshot: second.snapshot, manifest: manifest2 }] };
}

/** One version 2 repository for the whole file: tests that tamper with it work on a copy. */
let shared: Promise<Made> | undefined;
const sharedV2Repo = (): Promise<Made> => (shared ??= makeV2Repo());

async function copyRepo(from: string): Promise<string> {
  const to = join(await tempDir(), 'repo');
  await cp(from, to, { recursive: true, verbatimSymlinks: true });
  return to;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(join(entry.parentPath, entry.name));
  }
  return out.sort();
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

beforeAll(() => {
  requirePythonPackages();
});

describe.concurrent('tools/extract.py restores a version 2 repository made by Lifeboat', () => {
  let made: Made;
  beforeAll(async () => {
    made = await sharedV2Repo();
  });

  it('the config says version 2 (the reader is exercised on the current format)', async () => {
    const config = JSON.parse(await readFile(join(made.repoDir, 'config'), 'utf8'));
    expect(config).toMatchObject({ format: 'lifeboat-repository', version: 2 });
    expect(config.mac).toMatch(/^[0-9a-f]{64}$/);
  });

  it('--list prints every snapshot: id, time, runbook (password from --password-file, one trailing newline dropped)', async () => {
    const pw = join(await tempDir(), 'pw');
    await writeFile(pw, `${TEST_PASSWORD}\n`);
    const run = await extract(['--repo', made.repoDir, '--password-file', pw, '--list'], null);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout.trim().split('\n')).toEqual(made.snapshots.map(({ snapshot }) => `${snapshot.id}  ${snapshot.time}  test`));
  });

  it('each snapshot restores identical to its source: content, modes, mtimes, symlinks, empty files and folders', async () => {
    await Promise.all(
      made.snapshots.map(async ({ snapshot, manifest }) => {
        const target = join(await tempDir(), 'out');
        const run = await extractOk(['--repo', made.repoDir, '--snapshot', snapshot.id, '--target', target]);
        expect(run.stdout).toContain(`restored snapshot ${snapshot.id}`);
        expect(await readdir(target)).toEqual(['data']);
        expectSameManifest(await manifestOf(join(target, 'data')), manifest);
      }),
    );
  });

  it('latest (the default) and a unique prefix pick the right snapshots; the target may be an empty folder', async () => {
    const target = await tempDir(); // exists, empty
    await extractOk(['--repo', made.repoDir, '--target', target]);
    expectSameManifest(await manifestOf(join(target, 'data')), made.snapshots[1]!.manifest);
    const byPrefix = join(await tempDir(), 'out');
    await extractOk(['--repo', made.repoDir, '--snapshot', made.snapshots[0]!.snapshot.id.slice(0, 8), '--target', byPrefix]);
    expectSameManifest(await manifestOf(join(byPrefix, 'data')), made.snapshots[0]!.manifest);
  });

  it('refuses a non-empty target and a target that is a symlink, writing nothing', async () => {
    const base = await tempDir();
    await mkdir(join(base, 'full'));
    await writeFile(join(base, 'full/mine.txt'), 'mine');
    const full = await extract(['--repo', made.repoDir, '--target', join(base, 'full')]);
    expect(full.code).toBe(1);
    expect(full.stderr).toMatch(/not empty/);
    await mkdir(join(base, 'elsewhere'));
    await symlink(join(base, 'elsewhere'), join(base, 'link'));
    const viaLink = await extract(['--repo', made.repoDir, '--target', join(base, 'link')]);
    expect(viaLink.code).toBe(1);
    expect(await readdir(join(base, 'elsewhere'))).toEqual([]);
    expect(await readdir(join(base, 'full'))).toEqual(['mine.txt']);
  });
});

describe('tools/extract.py restores the committed format-1 fixture', () => {
  let repoDir: string;
  beforeAll(async () => {
    const base = await tempDir();
    await cp(FIXTURE_V1, base, { recursive: true, verbatimSymlinks: true });
    repoDir = join(base, 'repository');
  });

  it('both snapshots: the latest equals source/, the first has the old hello.txt and no added.txt; both equal Lifeboat\'s own restore', async () => {
    const config = JSON.parse(await readFile(join(repoDir, 'config'), 'utf8'));
    expect(config.version).toBe(1);
    const { stdout } = await extractOk(['--repo', repoDir, '--list']);
    const ids = stdout.trim().split('\n').map((line) => line.split('  ')[0]!);
    expect(ids.map((id) => id.slice(0, 8))).toEqual(['b20e963b', '4afd31d2']);

    const repo = await openRepo(repoDir);
    const snapshots = await repo.listSnapshots();
    for (const id of ids) {
      const base = await tempDir();
      await extractOk(['--repo', repoDir, '--snapshot', id.slice(0, 8), '--target', join(base, 'py')]);
      // Lifeboat's restore is the reference for modes and mtimes (git does not keep them in source/).
      const snapshot = snapshots.find((s) => s.id === id)!;
      expect((await restoreSnapshot({ repo, snapshot, target: join(base, 'ts') })).failed).toEqual([]);
      expectSameManifest(await manifestOf(join(base, 'py/data')), await manifestOf(join(base, 'ts/data')));

      // Content against the committed source, independently of Lifeboat.
      const got = await manifestOf(join(base, 'py/data'));
      const source = await manifestOf(join(FIXTURE_V1, 'source'));
      const contentOf = (m: Manifest) => new Map([...m].map(([rel, e]) => [rel, { type: e.type, sha256: e.sha256, target: e.target }]));
      const want = contentOf(source);
      if (id.startsWith('b20e963b')) {
        want.delete('added.txt');
        want.set('hello.txt', { type: 'file', sha256: sha256(Buffer.from('hello from format version 1\n')), target: undefined });
      }
      expect(contentOf(got)).toEqual(want);
    }
  });
});

describe.concurrent('tools/extract.py refuses a tampered repository, naming the object', () => {
  let made: Made;
  beforeAll(async () => {
    made = await sharedV2Repo();
  });
  const latest = () => made.snapshots[1]!;

  it('a flipped byte in a pack: exit 1 naming the pack', async () => {
    const repoDir = await copyRepo(made.repoDir);
    // The biggest pack holds data of random-big.bin, which both snapshots use.
    const packs = await filesUnder(join(repoDir, 'data'));
    const sizes = await Promise.all(packs.map(async (p) => (await stat(p)).size));
    const victim = packs[sizes.indexOf(Math.max(...sizes))]!;
    const bytes = await readFile(victim);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    await writeFile(victim, bytes);
    const packId = victim.split('/').at(-1)!;

    const run = await extract(['--repo', repoDir, '--snapshot', latest().snapshot.id, '--target', join(await tempDir(), 'out')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(packId);
    expect(run.stderr).toMatch(/do not hash to its name/);
  });

  it('a snapshot file copied under another name: refused for the name mismatch (by id, as latest, and in --list)', async () => {
    const repoDir = await copyRepo(made.repoDir);
    const fake = sha256(Buffer.from('not the content of this file'));
    await cp(join(repoDir, 'snapshots', made.snapshots[0]!.snapshot.id), join(repoDir, 'snapshots', fake));

    const byId = await extract(['--repo', repoDir, '--snapshot', fake, '--target', join(await tempDir(), 'out')]);
    expect(byId.code).toBe(1);
    expect(byId.stderr).toContain(`snapshots/${fake}: its bytes do not hash to its name`);
    const asLatest = await extract(['--repo', repoDir, '--target', join(await tempDir(), 'out')]);
    expect(asLatest.code).toBe(1);
    expect(asLatest.stderr).toContain(`snapshots/${fake}`);
    const list = await extract(['--repo', repoDir, '--list']);
    expect(list.code).toBe(1);
    expect(list.stderr).toContain(`snapshots/${fake}`);
    expect(list.stdout.trim().split('\n')).toHaveLength(2);
    // The untouched snapshots still restore.
    const target = join(await tempDir(), 'out');
    await extractOk(['--repo', repoDir, '--snapshot', latest().snapshot.id, '--target', target]);
    expectSameManifest(await manifestOf(join(target, 'data')), latest().manifest);
  });

  it('a wrong password: exit 1, nothing written', async () => {
    const target = join(await tempDir(), 'out');
    const run = await extract(['--repo', made.repoDir, '--target', target], 'not the password');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/wrong password/);
    await expect(stat(target)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a config altered by hand (mac) or with sizes out of bounds: refused', async () => {
    const repoDir = await copyRepo(made.repoDir);
    const config = JSON.parse(await readFile(join(repoDir, 'config'), 'utf8'));
    await writeFile(join(repoDir, 'config'), JSON.stringify({ ...config, packSize: config.packSize * 2 }));
    const mac = await extract(['--repo', repoDir, '--list']);
    expect(mac.code).toBe(1);
    expect(mac.stderr).toMatch(/config: mac does not verify/);
    await writeFile(join(repoDir, 'config'), JSON.stringify({ ...config, chunker: { ...config.chunker, maxSize: 2 ** 40 } }));
    const bounds = await extract(['--repo', repoDir, '--list']);
    expect(bounds.code).toBe(1);
    expect(bounds.stderr).toMatch(/config: chunker sizes out of bounds/);
    // A version 1 config put in place of the version 2 one (it has no mac): the key file says version 2.
    const { mac: _mac, ...withoutMac } = config;
    await writeFile(join(repoDir, 'config'), JSON.stringify({ ...withoutMac, version: 1 }));
    const downgraded = await extract(['--repo', repoDir, '--list']);
    expect(downgraded.code).toBe(1);
    expect(downgraded.stderr).toMatch(/key version 2 is higher than the config's version 1/);
  });

  it('a planted key file with N=2^30 is skipped with a warning; the restore completes and exits 3 (damage reported)', async () => {
    const repoDir = await copyRepo(made.repoDir);
    const [keyName] = await readdir(join(repoDir, 'keys'));
    const key = JSON.parse(await readFile(join(repoDir, 'keys', keyName!), 'utf8'));
    const planted = Buffer.from(JSON.stringify({ ...key, N: 2 ** 30 }));
    const plantedName = sha256(planted);
    await writeFile(join(repoDir, 'keys', plantedName), planted);
    const target = join(await tempDir(), 'out');
    const run = await extract(['--repo', repoDir, '--target', target]);
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr).toContain(`keys/${plantedName} skipped: scrypt parameters out of bounds`);
    expectSameManifest(await manifestOf(join(target, 'data')), latest().manifest);
  });

  it('an index file copied under another name is ignored and reported; the restore still completes from the real one', async () => {
    const repoDir = await copyRepo(made.repoDir);
    const [indexName] = await readdir(join(repoDir, 'index'));
    const fake = sha256(Buffer.from('another index name'));
    await cp(join(repoDir, 'index', indexName!), join(repoDir, 'index', fake));
    const target = join(await tempDir(), 'out');
    const run = await extract(['--repo', repoDir, '--target', target]);
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr).toContain(`index file index/${fake} ignored: index/${fake}: its bytes do not hash to its name`);
    expectSameManifest(await manifestOf(join(target, 'data')), latest().manifest);
  });

  it('every index file deleted: the blobs are found from the pack headers and the restore is identical', async () => {
    const repoDir = await copyRepo(made.repoDir);
    for (const name of await readdir(join(repoDir, 'index'))) await rename(join(repoDir, 'index', name), join(repoDir, `gone-${name}`));
    const target = join(await tempDir(), 'out');
    const run = await extract(['--repo', repoDir, '--target', target]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/is not in any index; using its header/);
    expectSameManifest(await manifestOf(join(target, 'data')), latest().manifest);
  });
});

describe('tools/extract.py decompresses only bounded zstd frames', () => {
  it('refuses a frame without a declared size, a declared size other than the expected one, a size over the limit, trailing bytes', async () => {
    // bounded_zstd() called directly: Lifeboat never writes such frames, so they are made here.
    const script = [
      'import sys, zstandard',
      `sys.path.insert(0, ${JSON.stringify(join(ROOT, 'tools'))})`,
      'import extract',
      'data = b"lifeboat " * 1000',
      'good = zstandard.ZstdCompressor().compress(data)',
      'cases = {',
      '  "no size": (zstandard.ZstdCompressor(write_content_size=False).compress(data), len(data), 10**6),',
      '  "wrong size": (good, len(data) - 1, 10**6),',
      '  "over limit": (good, None, len(data) - 1),',
      '  "trailing bytes": (good + b"x", len(data), 10**6),',
      '  "two frames": (good + good, len(data), 10**6),',
      '  "not zstd": (b"plain text, no frame", len(data), 10**6),',
      '}',
      'assert extract.bounded_zstd(good, len(data), len(data), "ok") == data',
      'for name, (body, size, limit) in cases.items():',
      '    try:',
      '        extract.bounded_zstd(body, size, limit, name)',
      '        print(name, "ACCEPTED")',
      '    except extract.Refused as err:',
      '        print(err)',
    ].join('\n');
    const run = await new Promise<Run>((resolve) =>
      execFile(PYTHON, ['-c', script], (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr })),
    );
    expect(run.stderr).toBe('');
    expect(run.stdout.trim().split('\n')).toEqual([
      'no size: the zstd frame does not declare its content size',
      'wrong size: the zstd frame declares 9000 bytes, expected 8999',
      'over limit: the zstd frame declares 9000 bytes, more than the 8999 allowed',
      expect.stringMatching(/^trailing bytes: zstd frame does not decompress \(.*unused data/),
      expect.stringMatching(/^two frames: zstd frame does not decompress \(.*unused data/),
      expect.stringMatching(/^not zstd: not a zstd frame/),
    ]);
  });
});

describe.concurrent('tools/extract.py refuses trees that would escape the target', () => {
  const mtimeMs = Date.UTC(2022, 0, 1);

  /** Write a snapshot whose root tree is `nodes`, through the repository code (as test/core/repo/restore-safety.test.ts does). */
  async function craftSnapshot(repo: Repository, nodes: TreeNode[]): Promise<Snapshot> {
    const { id: tree } = await repo.saveTree({ nodes }, () => true);
    await repo.flushTrees();
    await repo.flushIndex();
    return repo.saveSnapshot({
      time: new Date().toISOString(),
      runbook: 'evil',
      host: 'attacker',
      user: 'mallory',
      tree,
      sources: [{ name: 'data', kind: 'path', origin: '/data' }],
      stats: { files: 1, dirs: 1, bytes: 0, bytesNew: 0, bytesStored: 0, blobsNew: 0 },
    });
  }

  async function dirNode(repo: Repository, name: string, nodes: TreeNode[]): Promise<TreeNode> {
    const { id } = await repo.saveTree({ nodes }, () => true);
    return { name, type: 'dir', mode: 0o755, mtimeMs, subtree: id };
  }

  const payload: TreeNode[] = [{ name: 'escaped', type: 'file', mode: 0o644, mtimeMs, size: 0, content: [] }];
  const renamed = (name: string) => payload.map((n) => ({ ...n, name }));

  const cases = [
    ['a root folder named ..', (repo: Repository) => dirNode(repo, '..', payload), /unsafe or invalid name '\.\.'/],
    ['a nested ../../x name', (repo: Repository) => dirNode(repo, 'data', renamed('../../escaped')), /unsafe or invalid name '\.\.\/\.\.\/escaped'/],
    ['an absolute name', (repo: Repository) => dirNode(repo, 'data', renamed('/tmp/escaped')), /unsafe or invalid name '\/tmp\/escaped'/],
    ['a name with NUL', (repo: Repository) => dirNode(repo, 'data', renamed('a\0b')), /unsafe or invalid name 'a\\x00b'/],
    ['an empty name', (repo: Repository) => dirNode(repo, 'data', renamed('')), /unsafe or invalid name ''/],
    ['a name that is .', async (repo: Repository) => dirNode(repo, 'data', [await dirNode(repo, '.', payload)]), /unsafe or invalid name '\.'/],
    [
      'a symlink and a folder with the same name (write through the link)',
      async (repo: Repository, outside: string) =>
        dirNode(repo, 'data', [{ name: 'link', type: 'symlink', mode: 0o777, mtimeMs, target: outside }, await dirNode(repo, 'link', payload)]),
      /duplicate name 'link'/,
    ],
  ] as const;

  let base: string;
  let repoDir: string;
  const crafted = new Map<string, Snapshot>();
  beforeAll(async () => {
    base = await tempDir();
    repoDir = join(base, 'repo');
    const repo = await createRepo(repoDir, smallRepo);
    for (const [label, build] of cases) {
      const outside = join(base, `outside-${cases.findIndex((c) => c[0] === label)}`);
      await mkdir(outside);
      crafted.set(label, await craftSnapshot(repo, [await build(repo, outside)]));
    }
  });

  it.each(cases)('%s: exit 1, nothing written anywhere', async (label, _build, message) => {
    const i = cases.findIndex((c) => c[0] === label);
    const target = join(base, `target-${i}`, 'deeper');
    await mkdir(target, { recursive: true });
    const run = await extract(['--repo', repoDir, '--snapshot', crafted.get(label)!.id, '--target', target]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toMatch(/^extract\.py: refused: tree [0-9a-f]{64}/m);
    expect(await readdir(join(base, `outside-${i}`))).toEqual([]);
    expect(await readdir(target)).toEqual([]);
    expect(await readdir(join(base, `target-${i}`))).toEqual(['deeper']);
  });
});

describe('tools/extract.py restores a migrated repository (version 2 with legacy packs)', () => {
  it('the fixture migrated in place, then one more backup: every snapshot equals Lifeboat\'s own restore', async () => {
    const base = await tempDir();
    await cp(FIXTURE_V1, base, { recursive: true, verbatimSymlinks: true });
    const repoDir = join(base, 'repository');
    await migrateRepository(new LocalBackend(repoDir), TEST_PASSWORD);
    const config = JSON.parse(await readFile(join(repoDir, 'config'), 'utf8'));
    expect(config).toMatchObject({ version: 2, legacyPacks: true });

    // A backup after the migration writes new (bound) packs beside the legacy ones.
    const src = join(base, 'source');
    await writeFile(join(src, 'after-migration.bin'), randomBytes(100_000));
    let repo = await openRepo(repoDir);
    const parent = (await repo.listSnapshots()).at(-1);
    await backupDir(repo, src, { parent });
    repo = await openRepo(repoDir);
    const snapshots = await repo.listSnapshots();
    expect(snapshots).toHaveLength(3);

    const { stdout } = await extractOk(['--repo', repoDir, '--list']);
    expect(stdout.trim().split('\n').map((line) => line.split('  ')[0])).toEqual(snapshots.map((s) => s.id));
    for (const snapshot of snapshots) {
      const out = await tempDir();
      await extractOk(['--repo', repoDir, '--snapshot', snapshot.id, '--target', join(out, 'py')]);
      expect((await restoreSnapshot({ repo, snapshot, target: join(out, 'ts') })).failed).toEqual([]);
      expectSameManifest(await manifestOf(join(out, 'py/data')), await manifestOf(join(out, 'ts/data')));
    }
  });

  /** The backend as is until the n-th save or remove (1 = the first); that call and every later one throw, as if the process died there. */
  function stoppingAt(backend: Backend, n: number): { backend: Backend; calls: () => number } {
    let calls = 0;
    const proxy = new Proxy(backend, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== 'function') return value;
        const method = (value as (...a: unknown[]) => unknown).bind(target);
        if (prop !== 'save' && prop !== 'remove') return method;
        return (...args: unknown[]) => {
          calls++;
          if (calls >= n) return Promise.reject(new Error(`stopped at write ${n}`));
          return method(...args);
        };
      },
    });
    return { backend: proxy, calls: () => calls };
  }

  it('a migration stopped before any of its writes leaves a repository extract.py restores identically (Migration: "interrupted anywhere")', async () => {
    const base = await tempDir();
    const reference = join(base, 'reference');
    await extractOk(['--repo', join(FIXTURE_V1, 'repository'), '--target', reference]);
    const want = await manifestOf(join(reference, 'data'));

    // How many writes a whole migration makes.
    const whole = join(base, 'whole');
    await cp(join(FIXTURE_V1, 'repository'), whole, { recursive: true });
    const counting = stoppingAt(new LocalBackend(whole), Number.POSITIVE_INFINITY);
    await migrateRepository(counting.backend, TEST_PASSWORD);
    const writes = counting.calls();
    expect(writes).toBeGreaterThanOrEqual(8); // index, snapshots, config, key: saves and removes

    const points = Array.from({ length: writes }, (_, i) => i + 1);
    const results = await Promise.all(
      points.map(async (n) => {
        const repoDir = join(base, `stop-${n}`);
        await cp(join(FIXTURE_V1, 'repository'), repoDir, { recursive: true });
        await expect(migrateRepository(stoppingAt(new LocalBackend(repoDir), n).backend, TEST_PASSWORD)).rejects.toThrow(`stopped at write ${n}`);
        const target = join(base, `out-${n}`);
        const run = await extract(['--repo', repoDir, '--target', target]);
        return { n, run, got: run.code === 0 ? await manifestOf(join(target, 'data')) : undefined };
      }),
    );
    for (const { n, run, got } of results) {
      expect({ n, code: run.code, stderr: run.stderr }).toEqual({ n, code: 0, stderr: '' });
      expectSameManifest(got!, want);
    }
  });
});
