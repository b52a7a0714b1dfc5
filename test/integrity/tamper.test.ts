/**
 * Someone who can write objects in the bucket but has no key, and bad luck
 * (a lost index file), against a format-2 repository. Each case says the
 * exact tamper, what is expected, and ends with: no kept snapshot lost a
 * byte (every untouched snapshot restores identically through the CLI, and
 * forget + prune deleted nothing a kept snapshot uses).
 *
 * The template (harness.ts): snapshots S1..S4, each with a file of its own;
 * retention keeps the last 2, so `forget` forgets S1 and S2 and prunes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, open, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/core/backends/local-backend.js';
import { Repository } from '../../src/core/repo/repository.js';
import type { Snapshot } from '../../src/core/repo/snapshot.js';
import { TEST_PASSWORD, openRepo } from '../helpers/repo.js';
import { useTempDirs } from '../helpers/temp-dirs.js';
import { Case, buildTemplate, type Template } from './harness.js';

const tempDir = useTempDirs('integrity');
let t: Template;
let S1: Snapshot, S2: Snapshot, S3: Snapshot, S4: Snapshot;

beforeAll(async () => {
  t = await buildTemplate(await tempDir());
  [S1, S2, S3, S4] = t.snapshots as [Snapshot, Snapshot, Snapshot, Snapshot];
}, 120_000);

const newCase = async () => Case.create(t, await tempDir());
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** The index file that lists the packs of a snapshot's own file (only-<i>.bin). */
async function indexFileOf(c: Case, snapshot: Snapshot): Promise<{ index: string; packs: string[] }> {
  const repo = await openRepo(c.repo);
  const i = t.snapshots.indexOf(snapshot) + 1;
  const data = await repo.loadTree((await repo.loadTree(snapshot.tree)).nodes.find((n) => n.name === 'data')!.subtree!);
  const own = data.nodes.find((n) => n.name === `only-${i}.bin`)!;
  const packs = [...new Set(own.content!.map((id) => repo.index.lookup(id)!.pack))];
  const index = repo.index.packs.get(packs[0]!)!.indexFile!;
  return { index, packs };
}

describe('tampering with index files', () => {
  it('an index file deleted: check names the snapshot whose blobs are unindexed; forget re-indexes from pack headers and loses nothing', async () => {
    const c = await newCase();
    const { index } = await indexFileOf(c, S4);
    await rm(c.path('index', index)); // the tamper
    await c.expectCheckFails([`${S4.id.slice(0, 8)}`, 'not in the index', 'repair-index']);

    const forget = await c.cli('forget', c.runbook);
    expect(forget.code, forget.stdout + forget.stderr).toBe(0);
    expect(forget.stdout).toMatch(/re-index \d+ unindexed pack\(s\) still in use/);
    await c.expectCheckClean();
    await c.expectAllRestore([S3, S4]);
  });

  it('an index file overwritten with another valid index file: refused for its name, its packs found by their headers, nothing lost', async () => {
    const c = await newCase();
    const newest = await indexFileOf(c, S4);
    const oldest = await indexFileOf(c, S1);
    await copyFile(c.path('index', oldest.index), c.path('index', newest.index)); // the tamper
    await c.expectCheckFails([`index file ${newest.index.slice(0, 12)}`, 'does not match its name', S4.id.slice(0, 8)]);

    const forget = await c.cli('forget', c.runbook);
    expect(forget.code, forget.stdout + forget.stderr).toBe(0);
    await c.expectCheckClean();
    await c.expectAllRestore([S3, S4]);
    // The damaged file was replaced by prune's new index.
    expect(existsSync(c.path('index', newest.index))).toBe(false);
  });

  it('repair-index rebuilds the index from the packs after an index file is lost and another overwritten', async () => {
    const c = await newCase();
    const [a, b, d] = [await indexFileOf(c, S2), await indexFileOf(c, S3), await indexFileOf(c, S4)];
    await rm(c.path('index', d.index));
    await copyFile(c.path('index', a.index), c.path('index', b.index));
    await c.expectCheckFails(['not in the index']);
    const repair = await c.cli('repair-index', c.runbook);
    expect(repair.code, repair.stdout + repair.stderr).toBe(0);
    expect(repair.stdout).toMatch(/rebuilt the index/);
    await c.expectCheckClean();
    await c.expectAllRestore([S1, S2, S3, S4]);
  });
});

describe('tampering with snapshot files', () => {
  it('a snapshot file copied under two new names: check names both; retention counts real snapshots only; prune refuses and deletes nothing', async () => {
    const c = await newCase();
    const bytes = await readFile(c.path('snapshots', S1.id));
    const copies = [randomBytes(32).toString('hex'), randomBytes(32).toString('hex')];
    for (const name of copies) await writeFile(c.path('snapshots', name), bytes); // the tamper
    await c.expectCheckFails(copies.map((n) => `snapshot file ${n.slice(0, 8)}`).concat(['does not match its name']));

    const list = await c.cli('snapshots', c.runbook, '--json');
    expect((JSON.parse(list.stdout) as { data: { id: string }[] }).data.map((s) => s.id).sort()).toEqual(t.snapshots.map((s) => s.id).sort());

    // Retention forgot exactly the two oldest real snapshots (the copies took no slot), then prune stopped.
    await c.expectPruneRefused();
    expect(await c.names('snapshots')).toEqual([...copies, S3.id, S4.id].sort());
    await c.expectAllRestore([S3, S4]);
  });

  it('an old snapshot copied over a newer one\'s name: refused for its name; the newer id never restores the old data', async () => {
    const c = await newCase();
    await copyFile(c.path('snapshots', S1.id), c.path('snapshots', S4.id)); // the tamper
    await c.expectCheckFails([`snapshot file ${S4.id.slice(0, 8)}`, 'does not match its name']);

    const restore = await c.cli('restore', c.runbook, S4.id, '--target', join(c.dir, 'never'));
    expect(restore.code).not.toBe(0);
    expect(restore.stderr).toMatch(/no snapshot/);
    expect(existsSync(join(c.dir, 'never', 'data'))).toBe(false);
    // `latest` is the newest snapshot that verifies.
    const latest = await c.cli('restore', c.runbook, '--target', join(c.dir, 'latest'));
    expect(latest.code, latest.stderr).toBe(0);
    expect(latest.stdout).toContain(S3.id.slice(0, 8));

    await c.expectPruneRefused();
    await c.expectAllRestore([S3]);
  });

  it('a blob cut out of a pack (content the attacker chose) and planted as a snapshot: it does not open as one', async () => {
    const c = await newCase();
    // notes.txt's content is the attacker's (a file in the backed-up folder); its sealed blob is in a pack.
    const repo = await openRepo(c.repo);
    const data = await repo.loadTree((await repo.loadTree(S4.tree)).nodes.find((n) => n.name === 'data')!.subtree!);
    const loc = repo.index.lookup(data.nodes.find((n) => n.name === 'notes.txt')!.content![0]!)!;
    const fh = await open(c.packPath(loc.pack), 'r');
    const sealed = Buffer.alloc(loc.length);
    await fh.read(sealed, 0, loc.length, loc.offset);
    await fh.close();
    const planted = sha256(sealed); // named by its own hash, as a snapshot must be
    await writeFile(c.path('snapshots', planted), sealed); // the tamper
    await c.expectCheckFails([`snapshot file ${planted.slice(0, 8)}`, 'failed authentication']);

    const list = await c.cli('snapshots', c.runbook, '--json');
    expect((JSON.parse(list.stdout) as { data: { id: string }[] }).data.map((s) => s.id)).not.toContain(planted);
    await c.expectPruneRefused(); // prune will not run beside a snapshot file it cannot read
    await c.expectAllRestore([S3, S4]);
  });
});

describe('tampering with packs', () => {
  it('a pack truncated: check names it; prune refuses (a kept snapshot needs it) and deletes nothing; other snapshots restore', async () => {
    const c = await newCase();
    const { packs } = await indexFileOf(c, S4);
    const victim = packs[0]!;
    const size = (await stat(c.packPath(victim))).size;
    await truncate(c.packPath(victim), Math.floor(size / 2)); // the tamper
    await c.expectCheckFails([`pack ${victim.slice(0, 8)}`, 'the index says']);

    expect(await c.expectPruneRefused()).toContain(S4.id.slice(0, 8));
    await c.expectAllRestore([S3]);
    const damaged = await c.cli('restore', c.runbook, S4.id, '--target', join(c.dir, 'partial'));
    expect(damaged.code).toBe(3);
    expect(damaged.stdout + damaged.stderr).toContain('only-4.bin');
  });

  it('a pack header rewritten (same size): harmless to restore (the authenticated index locates blobs); check --read-data names it; prune keeps it', async () => {
    const c = await newCase();
    const { packs } = await indexFileOf(c, S4);
    const victim = packs[0]!;
    const bytes = await readFile(c.packPath(victim));
    const headerLength = bytes.readUInt32LE(bytes.length - 4);
    randomBytes(headerLength).copy(bytes, bytes.length - 4 - headerLength);
    await writeFile(c.packPath(victim), bytes); // the tamper
    // Structure check passes: the pack exists with its indexed size. Reading it finds the damage.
    expect((await c.cli('check', c.runbook)).code).toBe(0);
    await c.expectCheckFails([`pack ${victim.slice(0, 8)}`, 'does not match its name'], true);

    const forget = await c.cli('forget', c.runbook);
    expect(forget.code, forget.stdout + forget.stderr).toBe(0);
    expect(await c.packs()).toContain(victim);
    await c.expectAllRestore([S3, S4]);
    // repair-index keeps what the authenticated index said of a pack whose header is unreadable.
    const repair = await c.cli('repair-index', c.runbook);
    expect(repair.code, repair.stdout + repair.stderr).toBe(0);
    expect(repair.stdout).toMatch(/1 pack\(s\) with an unreadable header kept/);
    await c.expectAllRestore([S4]);
  });

  it('a pack deleted: check names it and the files that used it; prune refuses and deletes nothing', async () => {
    const c = await newCase();
    const { packs } = await indexFileOf(c, S4);
    await rm(c.packPath(packs[0]!)); // the tamper
    await c.expectCheckFails([`pack ${packs[0]!.slice(0, 8)}`, 'missing from data/']);
    await c.expectPruneRefused();
    await c.expectAllRestore([S3]);
  });
});

describe('tampering with key files and config', () => {
  it('a key file with N = 2^30 planted where it is tried first: skipped with a warning, every command works, check names it', async () => {
    const c = await newCase();
    const [real] = await c.names('keys');
    let planted: string;
    let body: Buffer;
    for (let i = 0; ; i++) {
      body = Buffer.from(JSON.stringify({ kdf: 'scrypt', N: 2 ** 30, r: 8, p: 1, salt: randomBytes(32).toString('base64'), data: randomBytes(80).toString('base64'), created: `x${i}` }));
      planted = sha256(body);
      if (planted < real!) break;
    }
    await writeFile(c.path('keys', planted), body); // the tamper
    const started = Date.now();
    await c.expectCheckFails([`keys/${planted.slice(0, 12)}`, 'N=1073741824']);
    expect(Date.now() - started).toBeLessThan(60_000); // scrypt at N=2^30 would take hours; it is never run
    await c.expectAllRestore([S4]);
    const forget = await c.cli('forget', c.runbook);
    expect(forget.code, forget.stdout + forget.stderr).toBe(0);
    await c.expectAllRestore([S3]);
  });

  it('config sizes set to 2^40: refused naming the fields before anything is allocated; nothing runs, nothing is deleted', async () => {
    const c = await newCase();
    const config = JSON.parse(await readFile(c.path('config'), 'utf8')) as Record<string, unknown> & { chunker: Record<string, number> };
    const original = await readFile(c.path('config'));
    await writeFile(c.path('config'), JSON.stringify({ ...config, packSize: 2 ** 40, chunker: { ...config.chunker, maxSize: 2 ** 40 } })); // the tamper
    const text = await c.expectCheckFails(['packSize', 'chunker.maxSize']);
    expect(text).toMatch(/invalid \(altered or damaged\)/);
    const packsBefore = await c.packs();
    expect((await c.cli('forget', c.runbook)).code).toBe(1);
    expect((await c.cli('restore', c.runbook, '--target', join(c.dir, 'r'))).code).toBe(1);
    expect(await c.packs()).toEqual(packsBefore);
    await writeFile(c.path('config'), original);
    await c.expectAllRestore([S1, S2, S3, S4]);
  });

  it('config values changed within bounds, or the config downgraded to format 1: refused (mac; key file says format 2)', async () => {
    const c = await newCase();
    const original = await readFile(c.path('config'));
    const config = JSON.parse(original.toString('utf8')) as Record<string, unknown>;
    await writeFile(c.path('config'), JSON.stringify({ ...config, compression: { algorithm: 'zstd', level: 19 } }));
    await c.expectCheckFails(['mac does not match']);
    const { mac: _mac, ...unsigned } = config;
    await writeFile(c.path('config'), JSON.stringify({ ...unsigned, version: 1 }));
    await c.expectCheckFails(['says format 1', 'written for format 2']);
    await writeFile(c.path('config'), original);
    await c.expectCheckClean();
  });
});

describe('a tree a restore must refuse, written through the repository code (a writer with the key, or a bug)', () => {
  it.each([
    ['../x', 'a parent-folder escape'],
    ['/abs', 'an absolute name'],
    ['a\0b', 'a NUL byte'],
  ])('a file named %j (%s): check names it, restore refuses and writes nothing outside', async (name) => {
    const c = await newCase();
    const repo = await Repository.open(new LocalBackend(c.repo), TEST_PASSWORD);
    await repo.loadIndex();
    const content = (await repo.loadTree((await repo.loadTree(S4.tree)).nodes.find((n) => n.name === 'data')!.subtree!)).nodes.find((n) => n.name === 'notes.txt')!;
    const inner = await repo.saveTree({ nodes: [{ ...content, name }] }, () => true);
    const root = await repo.saveTree({ nodes: [{ name: 'data', type: 'dir', mode: 0o755, mtimeMs: 0, subtree: inner.id }] }, () => true);
    await repo.flushTrees();
    await repo.flushIndex();
    const evil = await repo.saveSnapshot({ ...S4, id: undefined, runbook: 'evil', tree: root.id, parent: undefined, time: '2026-11-10T00:00:00.000Z' } as never);

    await c.expectCheckFails([evil.id.slice(0, 8), 'restore would refuse', JSON.stringify(name)]);
    const target = join(c.dir, 'sandbox', 'target');
    // --all: the snapshot is runbook `evil`'s, and a runbook restores another's only when told to (issue 20).
    const restore = await c.cli('restore', c.runbook, evil.id, '--all', '--target', target);
    expect(restore.code).toBe(1);
    expect(restore.stderr).toMatch(/refusing to restore/);
    expect(await readdir(join(c.dir, 'sandbox'))).toEqual(['target']);
    expect(existsSync(join(c.dir, 'sandbox', 'x'))).toBe(false);
    // The other runbook's snapshot keeps its data through a forget of `test`.
    expect((await c.cli('forget', c.runbook)).code).toBe(0);
    await c.expectAllRestore([S3, S4]);
  });

  it('a folder listing naming one file twice: check names it, restore refuses', async () => {
    const c = await newCase();
    const repo = await openRepo(c.repo);
    const data = await repo.loadTree((await repo.loadTree(S4.tree)).nodes.find((n) => n.name === 'data')!.subtree!);
    const notes = data.nodes.find((n) => n.name === 'notes.txt')!;
    const inner = await repo.saveTree({ nodes: [notes, { ...notes, mode: 0o777 }] }, () => true);
    const root = await repo.saveTree({ nodes: [{ name: 'data', type: 'dir', mode: 0o755, mtimeMs: 0, subtree: inner.id }] }, () => true);
    await repo.flushTrees();
    await repo.flushIndex();
    const evil = await repo.saveSnapshot({ ...S4, id: undefined, runbook: 'evil', tree: root.id, parent: undefined } as never);
    await c.expectCheckFails([evil.id.slice(0, 8), 'appears twice']);
    const restore = await c.cli('restore', c.runbook, evil.id, '--all', '--target', join(c.dir, 'dup'));
    expect(restore.code).toBe(1);
  });
});
