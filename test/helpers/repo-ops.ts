/**
 * Repository operations as the crash tests run them, by name: in a child
 * process that a kill switch stops (test/helpers/repo-op-child.ts), and
 * in-process to count a run's backend calls or to run the operation again
 * after the crash. Both go through `runRepoOp`, so they do the same thing.
 *
 * An operation is an entry in `repoOps`: its arguments, the repository lock
 * the real command holds for it, and what it does. Add one by adding an entry.
 */
import type { Backend } from '../../src/core/backends/backend.js';
import { migrateRepository, type MigrateOutcome } from '../../src/core/repo/migrate.js';
import { prune } from '../../src/core/repo/prune.js';
import { repairIndex, type RepairIndexOutcome } from '../../src/core/repo/repair-index.js';
import { withRepositoryLock } from '../../src/core/repo/repo-lock.js';
import { Repository } from '../../src/core/repo/repository.js';
import { backupDir, TEST_PASSWORD } from './repo.js';

export interface RepoOpContext {
  /** The repository's backend (in the child, behind the kill switch). */
  backend: Backend;
  /** Open the repository on that backend with the test password and load its index. */
  open(): Promise<Repository>;
}

export interface RepoOp {
  /** The arguments after `<repo dir>`, for the usage line. */
  args: string;
  /** The lock the real command holds while it runs (taken on the same backend). */
  lock: 'shared' | 'exclusive' | 'none';
  /** Returns what the test may want to know (JSON-serialisable: the child prints it). */
  run(ctx: RepoOpContext, args: readonly string[]): Promise<unknown>;
}

/** Wrong arguments: the child prints the message and its usage and exits 2. */
export class RepoOpUsageError extends Error {}

/** A whole number ≥ `min`, or a usage error naming the input. */
function intArg(name: string, text: string | undefined, min: number): number {
  if (text === undefined || !/^\d+$/.test(text) || Number(text) < min) {
    throw new RepoOpUsageError(`${name} must be a whole number ≥ ${min}, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

export interface BackupOpResult {
  snapshot: string;
  orphansRecovered: { packs: number; blobs: number; bytes: number };
  fileErrors: { path: string; message: string }[];
}

export interface PruneOpResult {
  forgotten: string[];
  kept: string[];
  prune: Awaited<ReturnType<typeof prune>>;
}

export const repoOps: Record<string, RepoOp> = {
  /** Back up `<source dir>` as source `data`, the newest snapshot as parent (what `lifeboat backup` does). */
  backup: {
    args: '<source dir>',
    lock: 'shared',
    async run(ctx, [source]): Promise<BackupOpResult> {
      if (!source) throw new RepoOpUsageError('backup needs <source dir>');
      const repo = await ctx.open();
      const parent = (await repo.listSnapshots()).at(-1);
      // One worker: with two, which worker fills which pack depends on timing, and then so
      // would the number of data-pack saves — every `save:data:n` must name the same moment.
      const out = await backupDir(repo, source, { parent, workers: 1 });
      return { snapshot: out.snapshot.id, orphansRecovered: out.orphansRecovered, fileErrors: out.fileErrors };
    },
  },
  /** Forget all but the newest `<keep-last N>` snapshots, then prune (`lifeboat forget` with `last: N`). */
  prune: {
    args: '<keep-last N>',
    lock: 'exclusive',
    async run(ctx, [keepArg]): Promise<PruneOpResult> {
      const keep = intArg('keep-last', keepArg, 1);
      const repo = await ctx.open();
      const snapshots = await repo.listSnapshots();
      const forget = snapshots.slice(0, Math.max(0, snapshots.length - keep));
      for (const s of forget) await repo.removeSnapshot(s.id);
      return { forgotten: forget.map((s) => s.id), kept: snapshots.slice(forget.length).map((s) => s.id), prune: await prune(repo) };
    },
  },
  /** Upgrade a format-1 repository to format 2 (`lifeboat migrate`; it opens the repository itself). */
  migrate: {
    args: '',
    lock: 'exclusive',
    async run(ctx): Promise<MigrateOutcome> {
      return migrateRepository(ctx.backend, TEST_PASSWORD);
    },
  },
  /** Rebuild the index from the packs' headers (`lifeboat repair-index`). */
  'repair-index': {
    args: '',
    lock: 'exclusive',
    async run(ctx): Promise<RepairIndexOutcome> {
      return repairIndex(await ctx.open());
    },
  },
};

/** Run the op `name` on the repository behind `backend`, holding the lock its command holds. */
export async function runRepoOp(backend: Backend, name: string, args: readonly string[]): Promise<unknown> {
  const op = repoOps[name];
  if (!op) throw new RepoOpUsageError(`Unknown op: "${name}" (known: ${Object.keys(repoOps).join(', ')})`);
  const ctx: RepoOpContext = {
    backend,
    async open() {
      const repo = await Repository.open(backend, TEST_PASSWORD);
      await repo.loadIndex();
      return repo;
    },
  };
  const run = () => op.run(ctx, args);
  if (op.lock === 'none') return run();
  return withRepositoryLock(backend, { exclusive: op.lock === 'exclusive', purpose: `test ${name}` }, run);
}
