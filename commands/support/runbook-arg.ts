/**
 * A runbook argument is a name from the runbooks folder or a path to a YAML
 * file. Under serve, names resolve to the pinned (last good) version first.
 */
import { loadRunbook, type Runbook } from '../../src/core/index.js';
import type { CommandContext } from '../command.js';

export function loadRunbookArg(ref: string, ctx: Pick<CommandContext, 'runbooksDir' | 'home' | 'cwd' | 'pinnedRunbook'>): Promise<Runbook> {
  const pinned = ctx.pinnedRunbook?.(ref);
  if (pinned) return Promise.resolve(pinned);
  return loadRunbook(ref, { runbooksDir: ctx.runbooksDir, home: ctx.home, cwd: ctx.cwd });
}
