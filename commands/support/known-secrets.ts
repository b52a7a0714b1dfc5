/**
 * The secrets a command must keep in: those of Lifeboat's environment and of
 * every runbook it knows (src/core/redaction/). Never fails: a folder that
 * cannot be read still leaves the environment's secrets known.
 */
import { knownSecrets, redactingSink, redactingStore, type Redactor } from '../../src/core/index.js';
import type { CommandContext } from '../command.js';
import { allRunbooks } from './all-runbooks.js';

export async function knownSecretsFor(ctx: Pick<CommandContext, 'env' | 'runbooksDir' | 'home' | 'cwd' | 'pinnedRunbook' | 'config'>): Promise<Redactor> {
  const runbooks = await allRunbooks(ctx).catch(() => []);
  return knownSecrets(ctx.env, runbooks, ctx.config);
}

/**
 * The context with its secrets known and kept in: its events and store writes
 * go through the redactor. invokeCommand (../invoke.ts) runs every command in
 * one; serve (src/serve/serve-host.ts) runs in one too.
 */
export async function keepingSecretsIn(given: CommandContext): Promise<CommandContext & { secrets: Redactor }> {
  const secrets = await knownSecretsFor(given);
  return {
    ...given,
    secrets,
    emit: redactingSink(given.emit, secrets),
    store: async () => redactingStore(await given.store(), secrets),
  };
}
