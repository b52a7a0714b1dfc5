/**
 * Every runbook a command context knows: the valid ones of the runbooks folder,
 * each in its pinned (last good) version under serve. For decisions that
 * span runbooks: which secrets exist, whether a Slack user is on any list.
 */
import { listRunbooks, type Runbook } from '../../src/core/index.js';
import type { CommandContext } from '../command.js';

export async function allRunbooks(ctx: Pick<CommandContext, 'runbooksDir' | 'home' | 'cwd' | 'pinnedRunbook'>): Promise<Runbook[]> {
  const entries = await listRunbooks({ runbooksDir: ctx.runbooksDir, home: ctx.home, cwd: ctx.cwd });
  return entries.flatMap((e) => {
    const runbook = ctx.pinnedRunbook?.(e.name) ?? e.runbook;
    return runbook ? [runbook] : [];
  });
}
