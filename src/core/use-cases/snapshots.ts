/** `snapshots`: list a runbook's repository. No lock: a listing reads only snapshot files, which nothing rewrites in place. */
import { openRunbookRepository } from '../repo/open-repository.js';
import type { Snapshot } from '../repo/snapshot.js';
import type { RunContext } from '../run-context.js';
import { policies } from './policies.js';
import { recordedRun } from './recorded-run.js';

export async function snapshots(input: RunContext): Promise<{ location: string; snapshots: Snapshot[] }> {
  const { value } = await recordedRun(policies.snapshots, input, async ({ input: ctx }) => {
    const repo = await openRunbookRepository(ctx.runbook, { env: ctx.env, home: ctx.home, emit: ctx.emit });
    return { value: { location: repo.backend.location, snapshots: await repo.listSnapshots() } };
  });
  return value;
}
