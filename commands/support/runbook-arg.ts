/**
 * A runbook argument is a name from the runbooks folder, a path to a YAML
 * file, or a shipped example (`examples/NAME`). Under serve, names resolve to
 * the pinned (last good) version first. A shipped example whose password is
 * not available here is refused before anything runs.
 */
import { assertExampleCanRun, loadRunbook, type Runbook } from '../../src/core/index.js';
import type { CommandContext } from '../command.js';

export async function loadRunbookArg(ref: string, ctx: Pick<CommandContext, 'runbooksDir' | 'home' | 'cwd' | 'pinnedRunbook' | 'env'>): Promise<Runbook> {
  const pinned = ctx.pinnedRunbook?.(ref);
  if (pinned) return pinned;
  const runbook = await loadRunbook(ref, { runbooksDir: ctx.runbooksDir, home: ctx.home, cwd: ctx.cwd });
  await assertExampleCanRun(runbook, ctx.env);
  return runbook;
}
