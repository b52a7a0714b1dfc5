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
  const secrets = runbooks ? await learnedOnce(given, runbooks) : await knownSecretsFor(given);
  return {
    ...given,
    secrets,
    emit: redactingSink(given.emit, secrets),
    store: async () => redactingStore(await given.store(), secrets),
  };
}

/**
 * The redactor being learned from this very list of runbooks, environment and
 * configuration, shared by the commands that start while it is learned:
 * serve's fires due at one instant all start in the same moment, and each
 * learned the secrets of every runbook in the catalog again (~1.5-1.9 ms of
 * CPU each with 500 runbooks: ~1 s of serve's one thread per burst,
 * docs/fleet-scale.md). A command that starts after it was learned learns
 * afresh, so a secret that appeared since (a key file created, a reload) is
 * known to it as before; the commands sharing one only ever started together,
 * as the learning itself reads the references one after another. Nothing adds
 * to a redactor once learned, so sharing it hides nothing less.
 */
const learning = new WeakMap<readonly Runbook[], { env: CommandContext['env']; config: CommandContext['config']; redactor: Promise<Redactor> }>();

function learnedOnce(given: CommandContext, runbooks: readonly Runbook[]): Promise<Redactor> {
  const inFlight = learning.get(runbooks);
  if (inFlight && inFlight.env === given.env && inFlight.config === given.config) return inFlight.redactor;
  const redactor = knownSecrets(given.env, runbooks, given.config);
  const entry = { env: given.env, config: given.config, redactor };
  learning.set(runbooks, entry);
  const done = () => {
    if (learning.get(runbooks) === entry) learning.delete(runbooks);
  };
  redactor.then(done, done);
  return redactor;
}
