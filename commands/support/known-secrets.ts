/**
 * The secrets a command must keep in: those of Lifeboat's environment and of
 * every runbook it knows (src/core/redaction/). Never fails: a folder that
 * cannot be read still leaves the environment's secrets known.
 */
import { knownSecrets, type Redactor } from '../../src/core/index.js';
import type { CommandContext } from '../command.js';
import { allRunbooks } from './all-runbooks.js';

export async function knownSecretsFor(ctx: Pick<CommandContext, 'env' | 'runbooksDir' | 'home' | 'cwd' | 'pinnedRunbook'>): Promise<Redactor> {
  const runbooks = await allRunbooks(ctx).catch(() => []);
  return knownSecrets(ctx.env, runbooks);
}
