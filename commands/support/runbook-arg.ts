/** A runbook argument is a name from the runbooks folder or a path to a YAML file. */
import { loadRunbook } from '../../src/core/runbook/index.js';
import type { Runbook } from '../../src/core/runbook/types.js';
import type { CommandContext } from '../command.js';

export function loadRunbookArg(ref: string, ctx: Pick<CommandContext, 'runbooksDir' | 'home' | 'cwd'>): Promise<Runbook> {
  return loadRunbook(ref, { runbooksDir: ctx.runbooksDir, home: ctx.home, cwd: ctx.cwd });
}
