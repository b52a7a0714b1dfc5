/**
 * Browsing a runbook's snapshots without restoring them: `ls`, `find`,
 * `diff` and `dump`. Each reads under a shared repository lock (policies.ts)
 * and sees only the runbook's own snapshots (src/core/repo/runbook-snapshots.ts),
 * so two runbooks sharing one repository never see each other's files.
 */
import { diffSnapshots, type SnapshotDiff } from '../browse/diff.js';
import { dumpSnapshotPath, type ByteSink, type DumpOutcome } from '../browse/dump.js';
import { findInSnapshots, pathMatcher, type FindFilters, type FindOutcome } from '../browse/find.js';
import { listSnapshotPath, type Listing } from '../browse/list.js';
import { applyWindow, type SnapshotWindow } from '../browse/snapshot-window.js';
import { findRunbookSnapshot, runbookSnapshots } from '../repo/runbook-snapshots.js';
import type { Snapshot } from '../repo/snapshot.js';
import type { RunContext } from '../run-context.js';
import { policies } from './policies.js';
import { recordedRun } from './recorded-run.js';

export interface LsInput extends RunContext {
  /** `latest` or an id prefix, among the runbook's own snapshots. */
  snapshot: string;
  path?: string;
  recursive?: boolean;
}

export async function ls(input: LsInput): Promise<{ snapshot: Snapshot } & Listing> {
  const { value } = await recordedRun(policies.ls, input, async (session) => {
    const { repo } = await session.openRepository();
    const snapshot = await findRunbookSnapshot(repo, input.snapshot, { runbook: input.runbook.name });
    return { value: { snapshot, ...(await listSnapshotPath(repo, snapshot, input.path, { recursive: input.recursive, signal: input.signal })) } };
  });
  return value;
}

export interface FindInput extends RunContext {
  pattern: string;
  ignoreCase?: boolean;
  window: SnapshotWindow;
  filters: FindFilters;
}

export async function find(input: FindInput): Promise<{ snapshots: Snapshot[] } & FindOutcome> {
  const matches = pathMatcher(input.pattern, { ignoreCase: input.ignoreCase });
  const { value } = await recordedRun(policies.find, input, async (session) => {
    const { repo } = await session.openRepository();
    const snapshots = applyWindow(await runbookSnapshots(repo, { runbook: input.runbook.name }), input.window);
    return { value: { snapshots, ...(await findInSnapshots(repo, snapshots, matches, input.filters, input.signal)) } };
  });
  return value;
}

export interface DiffInput extends RunContext {
  from: string;
  to: string;
  path?: string;
}

export async function diff(input: DiffInput): Promise<{ from: Snapshot; to: Snapshot } & SnapshotDiff> {
  const { value } = await recordedRun(policies.diff, input, async (session) => {
    const { repo } = await session.openRepository();
    const scope = { runbook: input.runbook.name };
    const from = await findRunbookSnapshot(repo, input.from, scope);
    const to = await findRunbookSnapshot(repo, input.to, scope);
    return { value: { from, to, ...(await diffSnapshots(repo, from, to, input.path, input.signal)) } };
  });
  return value;
}

export interface DumpInput extends RunContext {
  snapshot: string;
  path: string;
  sink: ByteSink;
  /** Write binary data to a terminal all the same. */
  force?: boolean;
}

export async function dump(input: DumpInput): Promise<{ snapshot: Snapshot } & DumpOutcome> {
  const { value } = await recordedRun(policies.dump, input, async (session) => {
    const { repo } = await session.openRepository();
    const snapshot = await findRunbookSnapshot(repo, input.snapshot, { runbook: input.runbook.name });
    return { value: { snapshot, ...(await dumpSnapshotPath(repo, snapshot, input.path, input.sink, { force: input.force, signal: input.signal })) } };
  });
  return value;
}
