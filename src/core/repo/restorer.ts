/**
 * Restore of a snapshot (or a path inside it) into a target folder: the plan
 * (snapshot-plan.ts: walk the trees, check every name, locate every blob),
 * then the writer (restore-writer.ts: make folders, fetch packs in spans,
 * let the workers decrypt, verify and write, set metadata). A caller that
 * planned already (a cold restore plans to know what to thaw) passes its plan,
 * so the trees are walked once.
 */
import { mkdir } from 'node:fs/promises';
import { LifeboatError } from '../errors.js';
import type { Repository } from './repository.js';
import { writeRestore, type RestoreOutcome, type WriteOptions } from './restore-writer.js';
import type { Snapshot } from './snapshot.js';
import { planSnapshot, type SnapshotPlan } from './snapshot-plan.js';

export type { RestoreOutcome, RestoreProgress } from './restore-writer.js';

export interface RestoreInput extends WriteOptions {
  repo: Repository;
  snapshot: Snapshot;
  /** A path inside the snapshot (`source/dir/file`); restored at the same relative path under the target. */
  subPath?: string;
  /** planSnapshot's answer for this snapshot and sub-path, when the caller made it already. */
  plan?: SnapshotPlan;
}

export async function restoreSnapshot(input: RestoreInput): Promise<RestoreOutcome> {
  const { repo, snapshot, subPath, plan } = input;
  if (plan !== undefined && (plan.snapshot.id !== snapshot.id || plan.subPath !== subPath)) {
    throw new LifeboatError('INTERNAL', `restore of ${snapshot.id.slice(0, 8)}${subPath === undefined ? '' : `:${subPath}`} was given the plan of ${plan.snapshot.id.slice(0, 8)}${plan.subPath === undefined ? '' : `:${plan.subPath}`}`);
  }
  // The target is made before the trees are read, as it always was: a snapshot
  // refused while planning leaves it there, empty (test/integrity/tamper.test.ts).
  await mkdir(input.target, { recursive: true });
  return writeRestore(repo, plan ?? (await planSnapshot(repo, snapshot, { subPath, signal: input.signal })), input);
}
