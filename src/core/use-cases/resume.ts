/**
 * `resume`: upload what a transfer-pending run left in staging, in order
 * (packs, index, snapshots), and complete the runs that were waiting for it.
 * It holds the run lock (the staging folder is the runbook's runs'), so it
 * also closes a run killed mid-backup: one that had staged its snapshot is
 * recorded transfer-pending, then completed here (src/core/runs/abandoned-runs.ts).
 */
import { completePendingRunsIfStoreAnswers } from '../runs/complete-pending.js';
import type { RunContext } from '../run-context.js';
import { policies } from './policies.js';
import { recordedRun } from './recorded-run.js';

export interface ResumeResult {
  /** False for a local repository: it is written directly, nothing is ever staged. */
  staged: boolean;
  location: string;
  objects: number;
  bytes: number;
  runsCompleted: string[];
}

export async function resume(input: RunContext): Promise<ResumeResult> {
  const { value } = await recordedRun(policies.resume, input, async (session) => {
    const { store, runbook, clock } = session.input;
    const stack = await session.lockedStack('hot', { stagingIfUnreachable: true });
    if (!stack.staging) return { value: { staged: false, location: stack.backend.location, objects: 0, bytes: 0, runsCompleted: [] } };
    const left = await stack.staging.adoptLeftovers();
    await stack.staging.flush();
    const runsCompleted = (await completePendingRunsIfStoreAnswers(store, runbook.name, clock, { emit: session.input.emit })) ?? [];
    return { value: { staged: true, location: stack.backend.location, objects: left.objects, bytes: left.bytes, runsCompleted } };
  });
  return value;
}
