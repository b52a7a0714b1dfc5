/** `init`: create the repository a runbook backs up into. No lock: nothing is there yet for another action to read. */
import { initRunbookRepository } from '../repo/open-repository.js';
import type { RunContext } from '../run-context.js';
import { policies } from './policies.js';
import { recordedRun } from './recorded-run.js';

export interface InitResult {
  id: string;
  location: string;
}

/** Throws REPO_EXISTS when a repository is already there. */
export async function init(input: RunContext): Promise<InitResult> {
  const { value } = await recordedRun(policies.init, input, async ({ input: ctx }) => {
    const repo = await initRunbookRepository(ctx.runbook, { env: ctx.env, home: ctx.home, emit: ctx.emit });
    return { value: { id: repo.config.id, location: repo.backend.location } };
  });
  return value;
}
