/**
 * The secrets a command must keep in: those of Lifeboat's environment and of
 * every runbook it knows (src/core/redaction/). Never fails: a folder that
 * cannot be read still leaves the environment's secrets known.
 */
import { knownSecrets, redactingSink, redactingStore, type Redactor, type Runbook } from '../../src/core/index.js';
import type { CommandContext } from '../command.js';
import { allRunbooks } from './all-runbooks.js';

export async function knownSecretsFor(ctx: Pick<CommandContext, 'env' | 'runbooksDir' | 'home' | 'cwd' | 'pinnedRunbook' | 'config'>): Promise<Redactor> {
  const runbooks = await allRunbooks(ctx).catch(() => []);
  return knownSecrets(ctx.env, runbooks, ctx.config);
}

/**
 * The context with its secrets known and kept in (from `runbooks` when given,
 * else from the runbooks folder): its events and store writes go through the
 * redactor. invokeCommand (../invoke.ts) runs every command in
 * one; serve (src/serve/serve-host.ts) runs in one too.
 */
export async function keepingSecretsIn(given: CommandContext, runbooks?: readonly Runbook[]): Promise<CommandContext & { secrets: Redactor }> {
  // A caller that already read the runbooks passes them, so the folder is not read and parsed again.
  const secrets = runbooks ? await knownSecrets(given.env, runbooks, given.config) : await knownSecretsFor(given);
  return {
    ...given,
    secrets,
    emit: redactingSink(given.emit, secrets),
    store: async () => redactingStore(await given.store(), secrets),
  };
}
