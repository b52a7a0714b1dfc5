/**
 * The repository every tamper case starts from, and the checks every case
 * ends with. Four snapshots S1..S4 of runbook `test`; each holds the shared
 * files plus one file of its own (`only-<i>.bin`), so each snapshot has packs
 * nobody else uses: losing one of them would show as a failed restore.
 * Retention keeps the last 2, so a forget forgets S1 and S2 and prunes their
 * packs while S3 and S4 (and anything tampered in) are kept.
 *
 * Tamper cases copy the template folder and change the copy the way someone
 * with write access to the bucket (and no key) would.
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Snapshot } from '../../src/core/repo/snapshot.js';
import { ensureCliBuilt, runCli, type CliResult } from '../helpers/cli.js';
import { expectSameManifest, manifestOf, type Manifest } from '../helpers/fs-manifest.js';
import { TEST_PASSWORD, backupDir, createRepo } from '../helpers/repo.js';

const KiB = 1024;

export interface Template {
  base: string;
  repo: string;
  snapshots: Snapshot[];
  manifests: Map<string, Manifest>;
}

/** Build the template repository (once per test file). */
export async function buildTemplate(base: string, options: { version?: number } = {}): Promise<Template> {
  await ensureCliBuilt();
  const src = join(base, 'src');
  const repo = join(base, 'template-repo');
  await mkdir(join(src, 'common/deep'), { recursive: true });
  for (let i = 0; i < 6; i++) await writeFile(join(src, 'common', `shared-${i}.bin`), randomBytes(20 * KiB + i));
  await writeFile(join(src, 'common/deep/readme.txt'), 'shared by every snapshot\n'.repeat(200));
  const r = await createRepo(repo, { chunker: { minSize: 2 * KiB, avgSize: 8 * KiB, maxSize: 32 * KiB }, packSize: 64 * KiB, version: options.version });
  const snapshots: Snapshot[] = [];
  const manifests = new Map<string, Manifest>();
  for (let i = 1; i <= 4; i++) {
    await rm(join(src, `only-${i - 1}.bin`), { force: true });
    await writeFile(join(src, `only-${i}.bin`), randomBytes(120 * KiB + i));
    await writeFile(join(src, 'notes.txt'), `snapshot ${i}\n`);
    const out = await backupDir(r, src, { parent: snapshots.at(-1), time: new Date(Date.UTC(2026, 10, i, 3)) });
    snapshots.push(out.snapshot);
    manifests.set(out.snapshot.id, await manifestOf(src));
  }
  return { base, repo, snapshots, manifests };
}

/** One tamper case: its own copy of the repository, a runbook for it, and the CLI on it. */
export class Case {
  readonly repo: string;
  readonly runbook: string;
  private readonly home: string;
  private restores = 0;

  private constructor(
    readonly template: Template,
    readonly dir: string,
  ) {
    this.repo = join(dir, 'repo');
    this.runbook = join(dir, 'test.yaml');
    this.home = join(dir, 'home');
  }

  static async create(template: Template, dir: string): Promise<Case> {
    const c = new Case(template, dir);
    await cp(template.repo, c.repo, { recursive: true, preserveTimestamps: true });
    await writeFile(
      c.runbook,
      [
        'name: test',
        'owner: "@lifeboat-tests"',
        'sources:',
        `  - { name: data, path: ${JSON.stringify(join(dir, 'unused-source'))} }`,
        'repository:',
        `  hot: { url: ${JSON.stringify(`file://${c.repo}`)} }`,
        '  password: { env: LIFEBOAT_PASSWORD }',
        'objectives: { rpo: 26h, rto: 5m }',
        'retention: { last: 2 }',
        '',
      ].join('\n'),
    );
    return c;
  }

  cli(...args: string[]): Promise<CliResult> {
    return runCli(args, { env: { LIFEBOAT_PASSWORD: TEST_PASSWORD, LIFEBOAT_HOME: this.home } });
  }

  /** Path of a file in the case's repository. */
  path(kind: 'keys' | 'index' | 'snapshots' | 'config', name = ''): string {
    return kind === 'config' ? join(this.repo, 'config') : join(this.repo, kind, name);
  }

  packPath(pack: string): string {
    return join(this.repo, 'data', pack.slice(0, 2), pack);
  }

  async names(kind: 'keys' | 'index' | 'snapshots'): Promise<string[]> {
    return (await readdir(join(this.repo, kind))).filter((n) => /^[0-9a-f]{64}$/.test(n)).sort();
  }

  /** Every pack file in data/, by name. */
  async packs(): Promise<string[]> {
    const out: string[] = [];
    for (const fan of await readdir(join(this.repo, 'data'))) {
      for (const name of await readdir(join(this.repo, 'data', fan))) if (/^[0-9a-f]{64}$/.test(name)) out.push(name);
    }
    return out.sort();
  }

  /** `check` exits 1 and its output contains every one of `needles`. */
  async expectCheckFails(needles: string[], readData = false): Promise<string> {
    const res = await this.cli('check', this.runbook, ...(readData ? ['--read-data'] : []));
    const text = res.stdout + res.stderr;
    expect(res.code, text).toBe(1);
    for (const n of needles) expect(text, `check output should name ${n}`).toContain(n);
    return text;
  }

  /** `forget` (retention: last 2) exits 1 because prune refused, and not one pack file went. */
  async expectPruneRefused(): Promise<string> {
    const packsBefore = await this.packs();
    const forget = await this.cli('forget', this.runbook);
    expect(forget.code, forget.stdout + forget.stderr).toBe(1);
    expect(forget.stderr).toMatch(/prune stopped and deleted nothing/);
    expect(await this.packs()).toEqual(packsBefore);
    return forget.stderr;
  }

  async expectCheckClean(): Promise<void> {
    const res = await this.cli('check', this.runbook, '--read-data');
    expect(res.code, res.stdout + res.stderr).toBe(0);
  }

  /** Restore a snapshot through the CLI and compare it with the source as it was backed up. */
  async expectRestores(snapshot: Snapshot): Promise<void> {
    const target = join(this.dir, `restore-${this.restores++}`);
    const res = await this.cli('restore', this.runbook, snapshot.id, '--target', target);
    expect(res.code, `restore of ${snapshot.id.slice(0, 8)}: ${res.stdout}${res.stderr}`).toBe(0);
    expectSameManifest(await manifestOf(join(target, 'data')), this.template.manifests.get(snapshot.id)!);
    await rm(target, { recursive: true, force: true });
  }

  /** Every snapshot in `snapshots` restores byte- and metadata-identically. */
  async expectAllRestore(snapshots: readonly Snapshot[]): Promise<void> {
    for (const s of snapshots) await this.expectRestores(s);
  }
}
