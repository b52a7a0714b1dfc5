/**
 * `init`: create the repositories a runbook backs up into: the hot one, and
 * the cold one when the runbook names it (its bucket too, when the
 * credentials may create it), so the first backup's tier stage finds it
 * instead of failing on a bucket that does not exist yet. No lock: nothing is
 * there yet for another action to read.
 */
import { initRunbookRepository, isRepositoryMissing, openRepositoryStack, unlockRepositoryKey, type RepositoryAccess } from '../repo/open-repository.js';
import type { Runbook } from '../runbook/types.js';
import type { RunContext } from '../run-context.js';
import { policies } from './policies.js';
import { recordedRun } from './recorded-run.js';

export interface InitResult {
  id: string;
  location: string;
  /** The cold repository, for runbooks with `repository.cold`: made now, or found there already (kept as it is). */
  cold?: { id: string; location: string; created: boolean };
}

/** Throws REPO_EXISTS when the hot repository is already there. */
export async function init(input: RunContext): Promise<InitResult> {
  const { value } = await recordedRun(policies.init, input, async ({ input: ctx }) => {
    const access = { env: ctx.env, home: ctx.home, emit: ctx.emit };
    const repo = await initRunbookRepository(ctx.runbook, access);
    const cold = ctx.runbook.repository.cold ? await initCold(ctx.runbook, { ...access, tier: 'cold' }) : undefined;
    return { value: { id: repo.config.id, location: repo.backend.location, ...(cold ? { cold } : {}) } };
  });
  return value;
}

/**
 * A cold repository already there is kept (it may hold years of archives: the
 * hot one was re-made, not the cold one) once the runbook's password opens it.
 */
async function initCold(runbook: Runbook, access: RepositoryAccess): Promise<NonNullable<InitResult['cold']>> {
  const stack = await openRepositoryStack(runbook, access);
  try {
    const existing = await unlockRepositoryKey(stack, runbook, access.env);
    return { id: existing.config.id, location: stack.backend.location, created: false };
  } catch (e) {
    if (!isRepositoryMissing(e)) throw e;
  }
  const created = await initRunbookRepository(runbook, access);
  return { id: created.config.id, location: created.backend.location, created: true };
}
