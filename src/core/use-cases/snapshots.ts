/** `snapshots`: list a runbook's own snapshots (every runbook's with `all`). No lock: a listing reads only snapshot files, which nothing rewrites in place. */
import { openRunbookRepository } from '../repo/open-repository.js';
import { inSnapshotScope } from '../repo/runbook-snapshots.js';
import type { Snapshot } from '../repo/snapshot.js';
import type { RunContext } from '../run-context.js';
import { policies } from './policies.js';
import { recordedRun } from './recorded-run.js';

export interface SnapshotsInput extends RunContext {
  /** Every runbook's snapshots in the repository, not only this runbook's (src/core/repo/runbook-snapshots.ts). */
  all?: boolean;
}

export interface SnapshotsResult {
  location: string;
  /** Oldest first. */
  snapshots: Snapshot[];
  /** Snapshots in the repository that other runbooks made and the listing left out (0 with `all`). */
  otherRunbooks: number;
}

export async function snapshots(input: SnapshotsInput): Promise<SnapshotsResult> {
  const { value } = await recordedRun(policies.snapshots, input, async ({ input: ctx }) => {
    const repo = await openRunbookRepository(ctx.runbook, { env: ctx.env, home: ctx.home, emit: ctx.emit });
    const all = await repo.listSnapshots();
    const own = all.filter((s) => inSnapshotScope(s, { runbook: ctx.runbook.name, all: input.all }));
    return { value: { location: repo.backend.location, snapshots: own, otherRunbooks: all.length - own.length } };
  });
  return value;
}
