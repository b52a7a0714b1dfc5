/**
 * `copy`: fill the runbook's copies now (src/core/copies/copies-stage.ts),
 * outside a backup: to catch a copy up after an outage without waiting for
 * the next backup. A recorded run of kind `copy`; copy-failed and status
 * read it like a backup's copy stage.
 */
import { findCopy } from '../copies/copy-runbook.js';
import { recordCopyRun } from '../copies/copies-stage.js';
import { LifeboatError } from '../errors.js';
import type { RunContext } from '../run-context.js';
import type { AlertRecord, RunRecord } from '../store/records.js';
import { policies } from './policies.js';
import { recordedRun, runOf } from './recorded-run.js';

export interface CopyInput extends RunContext {
  /** Only this copy (default: every copy of the runbook). */
  copy?: string;
}

export async function fillCopiesNow(input: CopyInput): Promise<{ run: RunRecord; alerts: AlertRecord[] }> {
  // Refused before anything is locked or recorded.
  if (input.copy !== undefined) findCopy(input.runbook, input.copy);
  else if ((input.runbook.repository.copies ?? []).length === 0) {
    throw new LifeboatError('USAGE', `runbook ${input.runbook.name} (${input.runbook.file}) has no repository.copies to fill`);
  }
  const done = await recordedRun(policies.copy, input, async (session) => ({ value: undefined, status: await recordCopyRun(session.input, session.recorder, input.copy) }));
  return { run: runOf(done), alerts: done.alerts };
}
